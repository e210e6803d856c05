import Foundation
import KofuDomain
import SQLKit

/// Tables for counter (窓口) work: the second-person approvals a restricted person's certificate needs.
public enum CounterSchema {
    public static var migrations: [Migration] {
        [
            Migration(name: "0400_counter_approvals") { _ in
                [
                    """
                    CREATE TABLE counter_approvals (
                        id TEXT PRIMARY KEY,
                        addressee_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        fiscal_year INTEGER NOT NULL,
                        copies INTEGER NOT NULL,
                        options TEXT NOT NULL,
                        identity TEXT NOT NULL,
                        restrictions TEXT NOT NULL,
                        requested_by TEXT NOT NULL,
                        requested_at BIGINT NOT NULL,
                        expires_at BIGINT NOT NULL,
                        status TEXT NOT NULL,
                        decided_by TEXT,
                        decided_at BIGINT,
                        issuance_id TEXT
                    )
                    """,
                    "CREATE INDEX counter_approvals_status ON counter_approvals (status, expires_at)",
                ]
            },
        ]
    }
}

/// 本人確認: how the clerk checked who is asking (recorded with every counter issuance, never a document number).
public struct IdentityCheck: Sendable, Hashable, Codable {
    /// 本人確認書類: `my_number_card`, `driver_license`, `passport`, `residence_card`, `health_insurance`, `other`.
    public var document: String
    /// `self` (本人) or `proxy` (代理人).
    public var applicant: String
    /// 委任状 seen (required for a proxy).
    public var powerOfAttorney: Bool

    public static let documents = ["my_number_card", "driver_license", "passport", "residence_card", "health_insurance", "other"]

    public init(document: String, applicant: String, powerOfAttorney: Bool) {
        self.document = document; self.applicant = applicant; self.powerOfAttorney = powerOfAttorney
    }

    /// nil when complete, else what is wrong (field: message).
    public var problem: String? {
        if !Self.documents.contains(document) { return "identity.document: one of \(Self.documents.joined(separator: ", "))" }
        if applicant != "self" && applicant != "proxy" { return "identity.applicant: self or proxy" }
        if applicant == "proxy" && !powerOfAttorney { return "identity.power_of_attorney: a proxy needs a power of attorney (委任状)" }
        return nil
    }

    /// A short audit form (`self/driver_license`, `proxy/passport/poa`).
    public var auditText: String { "\(applicant)/\(document)" + (powerOfAttorney ? "/poa" : "") }
}

/// One pending or decided approval (二人目の確認).
public struct CounterApproval: Sendable, Hashable {
    public enum Status: String, Sendable, Codable { case pending, approved, rejected, expired }
    public var id: String
    public var addresseeID: String
    public var kind: CertificateKind
    public var fiscalYear: Int
    public var copies: Int
    /// The request's options as stored (tax items, vehicle plate), JSON.
    public var options: String
    public var identity: IdentityCheck
    /// The restriction kinds that made approval necessary.
    public var restrictions: [String]
    public var requestedBy: String
    public var requestedAt: Date
    public var expiresAt: Date
    public var status: Status
    public var decidedBy: String?
    public var decidedAt: Date?
    public var issuanceID: String?

    public init(id: String, addresseeID: String, kind: CertificateKind, fiscalYear: Int, copies: Int, options: String,
                identity: IdentityCheck, restrictions: [String], requestedBy: String, requestedAt: Date, expiresAt: Date,
                status: Status, decidedBy: String? = nil, decidedAt: Date? = nil, issuanceID: String? = nil) {
        self.id = id; self.addresseeID = addresseeID; self.kind = kind; self.fiscalYear = fiscalYear; self.copies = copies
        self.options = options; self.identity = identity; self.restrictions = restrictions; self.requestedBy = requestedBy
        self.requestedAt = requestedAt; self.expiresAt = expiresAt; self.status = status; self.decidedBy = decidedBy
        self.decidedAt = decidedAt; self.issuanceID = issuanceID
    }
}

/// Why an approval decision was refused.
public enum CounterApprovalError: Error, Equatable, CustomStringConvertible {
    case notFound(String)
    case notPending(CounterApproval.Status)
    case expired
    /// The requester cannot approve their own request.
    case selfApproval

    public var description: String {
        switch self {
        case .notFound: "no such approval request"
        case .notPending(let s): "the request is already \(s.rawValue)"
        case .expired: "the request expired before it was approved"
        case .selfApproval: "the requester cannot approve their own request"
        }
    }
}

/// Second-person approvals on SQLite or PostgreSQL.
public struct CounterApprovalStore: Sendable {
    public let database: KofuDatabase
    public init(database: KofuDatabase) { self.database = database }

    static func millis(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    public func create(_ a: CounterApproval) async throws {
        let identity = String(decoding: try JSONEncoder().encode(a.identity), as: UTF8.self)
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO counter_approvals (id, addressee_id, kind, fiscal_year, copies, options, identity, restrictions,
                    requested_by, requested_at, expires_at, status)
                VALUES (\(bind: a.id), \(bind: a.addresseeID), \(bind: a.kind.rawValue), \(bind: a.fiscalYear), \(bind: a.copies),
                    \(bind: a.options), \(bind: identity), \(bind: a.restrictions.joined(separator: ",")), \(bind: a.requestedBy),
                    \(bind: Self.millis(a.requestedAt)), \(bind: Self.millis(a.expiresAt)), \(bind: a.status.rawValue))
                """).run()
        }
    }

    public func get(_ id: String) async throws -> CounterApproval? {
        try await database.read { db in
            try await db.raw("SELECT * FROM counter_approvals WHERE id = \(bind: id)").first().map(Self.decode)
        }
    }

    /// Requests still waiting (not yet past their time limit), oldest first.
    public func pending(now: Date) async throws -> [CounterApproval] {
        try await database.read { db in
            try await db.raw("""
                SELECT * FROM counter_approvals WHERE status = 'pending' AND expires_at > \(bind: Self.millis(now)) ORDER BY requested_at
                """).all().map(Self.decode)
        }
    }

    /// Approves or rejects, in one transaction: only a pending request within its time limit, and never by the
    /// staff member who asked. A request past its limit becomes `expired`.
    public func decide(_ id: String, approve: Bool, by user: String, at now: Date) async throws -> CounterApproval {
        // An expired request is marked so and committed; the refusal is thrown after the commit.
        let decided: CounterApproval? = try await database.transaction { db in
            let lock = database.backend == .postgres ? " FOR UPDATE" : ""
            guard var a = try await db.raw("SELECT * FROM counter_approvals WHERE id = \(bind: id)\(unsafeRaw: lock)").first().map(Self.decode) else {
                throw CounterApprovalError.notFound(id)
            }
            guard a.status == .pending else { throw CounterApprovalError.notPending(a.status) }
            guard a.requestedBy != user else { throw CounterApprovalError.selfApproval }
            if a.expiresAt <= now {
                try await db.raw("UPDATE counter_approvals SET status = 'expired', decided_at = \(bind: Self.millis(now)) WHERE id = \(bind: id)").run()
                return nil
            }
            a.status = approve ? .approved : .rejected
            a.decidedBy = user
            a.decidedAt = now
            try await db.raw("""
                UPDATE counter_approvals SET status = \(bind: a.status.rawValue), decided_by = \(bind: user), decided_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id)
                """).run()
            return a
        }
        guard let decided else { throw CounterApprovalError.expired }
        return decided
    }

    /// Records the issuance an approved request produced.
    public func attach(_ id: String, issuanceID: String) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE counter_approvals SET issuance_id = \(bind: issuanceID) WHERE id = \(bind: id)").run()
        }
    }

    static func decode(_ row: any SQLRow) throws -> CounterApproval {
        let identityText = try row.decode(column: "identity", as: String.self)
        let restrictions = try row.decode(column: "restrictions", as: String.self)
        return CounterApproval(
            id: try row.decode(column: "id", as: String.self),
            addresseeID: try row.decode(column: "addressee_id", as: String.self),
            kind: CertificateKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .incomeTaxation,
            fiscalYear: try row.decode(column: "fiscal_year", as: Int.self),
            copies: try row.decode(column: "copies", as: Int.self),
            options: try row.decode(column: "options", as: String.self),
            identity: try JSONDecoder().decode(IdentityCheck.self, from: Data(identityText.utf8)),
            restrictions: restrictions.split(separator: ",").map(String.init),
            requestedBy: try row.decode(column: "requested_by", as: String.self),
            requestedAt: date(try row.decode(column: "requested_at", as: Int64.self)),
            expiresAt: date(try row.decode(column: "expires_at", as: Int64.self)),
            status: CounterApproval.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .expired,
            decidedBy: try row.decode(column: "decided_by", as: String?.self),
            decidedAt: try row.decode(column: "decided_at", as: Int64?.self).map(date),
            issuanceID: try row.decode(column: "issuance_id", as: String?.self))
    }
}
