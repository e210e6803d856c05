/// The public refusal codes of the kiosk contract (KIOSK_API.md). The kiosk only ever sees the code and
/// its fixed message; the precise internal reason stays in the ledger and the operators' counts.
public enum RefusalCode: String, Sendable, Codable, CaseIterable {
    case cardNotRegistered = "CARD_NOT_REGISTERED"
    case counterOnly = "COUNTER_ONLY"
    case outOfRetention = "OUT_OF_RETENTION"
    case notAssessed = "NOT_ASSESSED"
    case unpaidTax = "UNPAID_TAX"
    case paymentUnconfirmed = "PAYMENT_UNCONFIRMED"
    case noVehicle = "NO_VEHICLE"
    /// Data older than the configured age: the service is unavailable, not the person refused.
    case serviceClosed = "SERVICE_CLOSED"

    /// The Japanese text the kiosk shows. It never says why a person-status refusal happened.
    public var kioskMessage: String {
        switch self {
        case .cardNotRegistered: "このカードではご利用になれません。お手数ですが市区町村の窓口でお問い合わせください。"
        case .counterOnly: "この証明書はコンビニエンスストアでは交付できません。お手数ですが市区町村の窓口をご利用ください。"
        case .outOfRetention: "ご指定の年度の証明書はコンビニエンスストアでは交付できません。市区町村の窓口をご利用ください。"
        case .notAssessed: "ご指定の年度・種類の証明書は交付できません。市区町村の窓口でお問い合わせください。"
        case .unpaidTax: "未納の税額があるため交付できません。市区町村の窓口でお問い合わせください。"
        case .paymentUnconfirmed: "納付の確認ができていないため交付できません。しばらくたってから再度お試しいただくか、窓口をご利用ください。"
        case .noVehicle: "ご指定の車両の証明書は交付できません。市区町村の窓口でお問い合わせください。"
        case .serviceClosed: "ただいまサービスを停止しています。しばらくたってから再度お試しください。"
        }
    }
}

/// Why a request was refused: the public code and the precise internal reason (ledger only).
public struct Refusal: Sendable, Hashable, Error {
    public var code: RefusalCode
    /// A stable, machine-readable reason such as `moved_out` or `support_measure`. Never contains personal data.
    public var internalReason: String

    public init(_ code: RefusalCode, _ internalReason: String) {
        self.code = code
        self.internalReason = internalReason
    }
}
