/// The refusal rules for each certificate kind, checked in order; the first refusal wins.
public struct EligibilityPolicy: Sendable {
    public let rules: [CertificateKind: [any RefusalRule]]

    public init(rules: [CertificateKind: [any RefusalRule]]) { self.rules = rules }

    /// The kiosk rules of DOMAIN.md §2: person checks first (so a restricted person is never told more
    /// than "use the counter"), then data freshness and retention, then what each kind needs.
    public static var kiosk: EligibilityPolicy {
        withPersonRules([CardRegisteredRule(), ResidentStatusRule(), MovedInTodayRule(), RestrictionRule(), PrintableCharactersRule()])
    }

    /// `person` rules first, then for each kind: data freshness, retention, and what the kind itself needs.
    static func withPersonRules(_ person: [any RefusalRule]) -> EligibilityPolicy {
        func fresh(_ kind: CertificateKind) -> any RefusalRule { DataFreshnessRule(dataSets: dataSets(for: kind)) }
        return EligibilityPolicy(rules: [
            .taxPayment: person + [fresh(.taxPayment), RetentionRule(), LeviesPresentRule(), UnpaidPastDueRule(), ProvisionalPaymentRule()],
            .incomeTaxation: person + [fresh(.incomeTaxation), RetentionRule(), AssessedRule()],
            .nonTaxation: person + [fresh(.nonTaxation), RetentionRule(), NonTaxedRule()],
            .vehicleInspection: person + [fresh(.vehicleInspection), RetentionRule(), VehiclePaidRule()],
        ])
    }

    /// The counter (窓口) rules: the clerk has checked the applicant's identity, so the card rules go, and a
    /// person who moved out, died or moved in today may be served (the clerk judges from the registry). A
    /// restriction in force does not refuse here: it needs a second staff member's approval
    /// (`CounterApproval`). What cannot be printed right (外字) or certified from the data (stale data, years
    /// not held, the kind's own conditions) is refused as at the kiosk.
    public static var counter: EligibilityPolicy {
        withPersonRules([PersonKnownRule(), PrintableCharactersRule()])
    }

    /// The restrictions that need a second staff member's approval before a counter issuance renders:
    /// DV等支援措置 and 証明発行停止 (a plain 窓口限定 needs none — the counter is where it sends people).
    public static func restrictionsNeedingApproval(_ restrictions: [Restriction], on day: LocalDate) -> [Restriction] {
        restrictions.filter { $0.isActive(on: day) && $0.kind != .counterOnly }
    }

    /// The linkage data sets every kind is issued from (who the person is, their card, their restrictions).
    public static let personDataSets = ["residents", "cards", "restrictions"]

    /// The data sets a kind is issued from; when one is stale the kiosk is closed for that kind. The
    /// kiosk's availability check and `DataFreshnessRule` both read this list.
    public static func dataSets(for kind: CertificateKind) -> [String] {
        switch kind {
        case .taxPayment: personDataSets + ["levies"]
        case .incomeTaxation, .nonTaxation: personDataSets + ["assessments"]
        case .vehicleInspection: personDataSets + ["vehicles"]
        }
    }

    /// The first refusal for the request's kind, or nil when it may be issued.
    public func evaluate(_ context: EligibilityContext) -> Refusal? {
        for rule in rules[context.request.kind] ?? [] {
            if let refusal = rule.check(context) { return refusal }
        }
        return nil
    }
}
