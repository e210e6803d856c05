import KofuStorage

/// Something a staff member may do. Every staff endpoint names one; the role → permission table below is
/// the only place that decides who has it (least privilege: no role has everything).
public enum Permission: String, Sendable, Codable, CaseIterable {
    /// 窓口照会: look up a resident's certificate data at the counter.
    case counterLookup = "counter.lookup"
    /// 窓口交付・再印刷: issue or reprint a certificate at the counter.
    case counterIssue = "counter.issue"
    /// 制限付き交付の承認: approve a restricted issuance as the second staff member.
    case approveRestrictedIssuance = "counter.approve"
    /// 交付履歴照会: view the issuance history (ledger metadata).
    case viewIssuanceHistory = "issuance.history"
    /// The operator dashboard.
    case operatorDashboard = "operator.dashboard"
    /// Pause and resume kiosk intake.
    case operatorPauseResume = "operator.intake"
    /// Export the audit log.
    case auditExport = "audit.export"
    /// Verify the audit log's chain.
    case auditVerify = "audit.verify"
    /// Create, disable, enable users and reset their passwords.
    case userAdministration = "users.admin"
    /// Change the configuration.
    case configurationChange = "config.change"
    /// Seal key operations (generate, rotate, retire).
    case keyOperations = "keys.operate"
}

extension StaffRole {
    /// What this role may do. The single role → permission table.
    public var permissions: Set<Permission> {
        switch self {
        case .counterClerk:
            [.counterLookup, .counterIssue, .viewIssuanceHistory]
        case .counterSupervisor:
            [.counterLookup, .counterIssue, .viewIssuanceHistory, .approveRestrictedIssuance]
        case .operator:
            [.operatorDashboard, .operatorPauseResume]
        case .auditor:
            [.auditExport, .auditVerify, .viewIssuanceHistory]
        case .administrator:
            [.userAdministration, .configurationChange, .keyOperations, .auditExport, .auditVerify, .operatorDashboard]
        }
    }

    public func allows(_ permission: Permission) -> Bool { permissions.contains(permission) }
}

/// What an endpoint requires of the caller.
public enum StaffRequirement: Sendable, Equatable, CustomStringConvertible {
    /// No session needed (only the login endpoint).
    case anyone
    /// Any signed-in staff member (logout, me).
    case signedIn
    case permission(Permission)

    public var description: String {
        switch self {
        case .anyone: "anyone"
        case .signedIn: "signed-in"
        case .permission(let p): p.rawValue
        }
    }
}
