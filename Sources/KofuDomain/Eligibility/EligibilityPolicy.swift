/// The refusal rules for each certificate kind, checked in order; the first refusal wins.
public struct EligibilityPolicy: Sendable {
    public let rules: [CertificateKind: [any RefusalRule]]

    public init(rules: [CertificateKind: [any RefusalRule]]) { self.rules = rules }

    /// The kiosk rules of DOMAIN.md §2: person checks first (so a restricted person is never told more
    /// than "use the counter"), then data freshness and retention, then what each kind needs.
    public static var kiosk: EligibilityPolicy {
        let person: [any RefusalRule] = [CardRegisteredRule(), ResidentStatusRule(), MovedInTodayRule(),
                                         RestrictionRule(), PrintableCharactersRule()]
        func fresh(_ sets: [String]) -> any RefusalRule { DataFreshnessRule(dataSets: ["residents", "cards", "restrictions"] + sets) }
        return EligibilityPolicy(rules: [
            .taxPayment: person + [fresh(["levies"]), RetentionRule(), LeviesPresentRule(), UnpaidPastDueRule(), ProvisionalPaymentRule()],
            .incomeTaxation: person + [fresh(["assessments"]), RetentionRule(), AssessedRule()],
            .nonTaxation: person + [fresh(["assessments"]), RetentionRule(), NonTaxedRule()],
            .vehicleInspection: person + [fresh(["vehicles"]), RetentionRule(), VehiclePaidRule()],
        ])
    }

    /// The first refusal for the request's kind, or nil when it may be issued.
    public func evaluate(_ context: EligibilityContext) -> Refusal? {
        for rule in rules[context.request.kind] ?? [] {
            if let refusal = rule.check(context) { return refusal }
        }
        return nil
    }
}
