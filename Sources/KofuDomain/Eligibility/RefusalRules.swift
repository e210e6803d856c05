/// One refusal rule: looks at one thing and refuses, or lets the request through.
/// Adding a rule is adding a type and listing it in `EligibilityPolicy` — not editing a switch.
public protocol RefusalRule: Sendable {
    /// A refusal when the rule applies, nil when it lets the request pass.
    func check(_ context: EligibilityContext) -> Refusal?
}

/// The card serial must be known, not revoked, not expired, and lead to a person on file.
public struct CardRegisteredRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let card = c.card else { return Refusal(.cardNotRegistered, "card_unknown") }
        if card.revoked { return Refusal(.cardNotRegistered, "card_revoked") }
        if card.validUntil < c.today { return Refusal(.cardNotRegistered, "card_expired") }
        if c.person == nil { return Refusal(.cardNotRegistered, "card_without_person") }
        return nil
    }
}

/// At the counter there is no card: the person looked up must exist in the data.
public struct PersonKnownRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        c.person == nil ? Refusal(.cardNotRegistered, "person_unknown") : nil
    }
}

/// 住記消除: a person who moved out, died or is not registered here goes to the counter.
public struct ResidentStatusRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        switch c.person?.status {
        case .movedOut: Refusal(.counterOnly, "moved_out")
        case .deceased: Refusal(.counterOnly, "deceased")
        case .nonResident: Refusal(.counterOnly, "non_resident")
        case .resident, nil: nil
        }
    }
}

/// A person who moved in today: the registry change may not be reflected in tax data yet.
public struct MovedInTodayRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let p = c.person, p.status == .resident, p.statusDate >= c.today else { return nil }
        return Refusal(.counterOnly, "moved_in_today")
    }
}

/// DV等支援措置, 証明発行停止 and other counter-only restrictions in force today.
public struct RestrictionRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let r = c.restrictions.first(where: { $0.isActive(on: c.today) }) else { return nil }
        return Refusal(.counterOnly, r.kind.rawValue)
    }
}

/// 外字: a name or address the certificate font cannot print is never printed with a blank box.
public struct PrintableCharactersRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let p = c.person else { return nil }
        for (field, text) in [("name", p.name), ("address", p.address), ("address_extra", p.addressExtra)]
            where !c.unprintable(text).isEmpty {
            return Refusal(.counterOnly, "unprintable_character_in_\(field)")
        }
        return nil
    }
}

/// Only the fiscal years held (the latest four) can be certified.
public struct RetentionRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        c.heldFiscalYears.contains(c.request.fiscalYear) ? nil : Refusal(.outOfRetention, "fiscal_year_not_held")
    }
}

/// Stale linkage data is never issued from: the service is closed until the next batch arrives.
public struct DataFreshnessRule: RefusalRule {
    public let dataSets: [String]
    public init(dataSets: [String]) { self.dataSets = dataSets }
    public func check(_ c: EligibilityContext) -> Refusal? {
        for set in dataSets {
            guard let age = c.dataAgeHours[set] else { return Refusal(.serviceClosed, "data_missing_\(set)") }
            if age > Double(c.policy.maxDataAgeHours) { return Refusal(.serviceClosed, "data_stale_\(set)") }
        }
        return nil
    }
}

/// 所得・課税証明書 needs an assessment here for that year (resident on 1 January).
public struct AssessedRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        c.assessment == nil ? Refusal(.notAssessed, "no_assessment") : nil
    }
}

/// 非課税証明書 only for a person who was not taxed.
public struct NonTaxedRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let a = c.assessment else { return Refusal(.notAssessed, "no_assessment") }
        return a.status == .nonTaxed ? nil : Refusal(.notAssessed, "taxed_not_non_taxed")
    }
}

/// 納税証明書 needs levies for the requested tax items in that year. A person with no levies at all that year
/// gets a 「課税なし」 certificate when the policy says `issue`; one who has levies, but none of a requested
/// item, is refused either way (a certificate cannot say 課税なし of one item while other items are taxed).
public struct LeviesPresentRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        let selected = c.selectedLevies
        if c.levies.isEmpty { return c.policy.noLevies == .issue ? nil : Refusal(.notAssessed, "no_levies") }
        if selected.isEmpty { return Refusal(.notAssessed, "no_levies") }
        let present = Set(selected.map(\.taxItem))
        if c.request.taxItems.contains(where: { !present.contains($0) }) { return Refusal(.notAssessed, "tax_item_without_levy") }
        return nil
    }
}

/// Unpaid tax past its due date (when the municipality's policy refuses it).
public struct UnpaidPastDueRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard c.policy.refuseUnpaidPastDue else { return nil }
        let overdue = c.selectedLevies.contains { $0.unpaid > 0 && $0.dueDate < c.today }
        return overdue ? Refusal(.unpaidTax, "unpaid_past_due") : nil
    }
}

/// A payment that is only provisional (速報 / 仮消込) cannot be certified yet (when the policy says so).
public struct ProvisionalPaymentRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard c.policy.refuseProvisionalPayment else { return nil }
        return c.selectedLevies.contains { $0.paymentStatus == .provisional && $0.paid > 0 }
            ? Refusal(.paymentUnconfirmed, "provisional_payment") : nil
    }
}

/// 継続検査用: the named vehicle must be this person's in that year, of a class that has 車検, its tax paid
/// in full and confirmed.
public struct VehiclePaidRule: RefusalRule {
    public init() {}
    public func check(_ c: EligibilityContext) -> Refusal? {
        guard let v = c.selectedVehicle else { return Refusal(.noVehicle, "no_such_vehicle") }
        if !VehicleInspection.required(forClass: v.vehicleClass) { return Refusal(.noVehicle, "vehicle_without_inspection") }
        if !v.exempt && v.paid < v.assessed { return Refusal(.unpaidTax, "vehicle_tax_unpaid") }
        if c.policy.refuseProvisionalPayment && v.paymentStatus == .provisional && !v.exempt {
            return Refusal(.paymentUnconfirmed, "vehicle_provisional_payment")
        }
        return nil
    }
}
