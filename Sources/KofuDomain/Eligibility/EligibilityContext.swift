/// Per-municipality issuance policy (from `config/`).
public struct IssuancePolicy: Sendable, Hashable {
    /// Refuse tax payment / vehicle certificates when tax is unpaid past its due date.
    public var refuseUnpaidPastDue: Bool
    /// Refuse when a needed payment is only provisional (速報 / 仮消込).
    public var refuseProvisionalPayment: Bool
    /// Refuse (as a closed service) when any needed data set is older than this many hours.
    public var maxDataAgeHours: Int
    /// A 納税証明書 for a person with no levies at all in the year: a 「課税なし」 certificate, or NOT_ASSESSED.
    public var noLevies: NoLeviesPolicy

    public init(refuseUnpaidPastDue: Bool = true, refuseProvisionalPayment: Bool = true, maxDataAgeHours: Int = 48,
                noLevies: NoLeviesPolicy = .issue) {
        self.refuseUnpaidPastDue = refuseUnpaidPastDue
        self.refuseProvisionalPayment = refuseProvisionalPayment
        self.maxDataAgeHours = maxDataAgeHours
        self.noLevies = noLevies
    }
}

/// `issuance.no_levies`: what a 納税証明書 request gets when the person has no levies in the year.
public enum NoLeviesPolicy: String, Sendable, Hashable, CaseIterable {
    /// A certificate that says 「課税なし」 (the default: many municipalities issue one).
    case issue
    /// Refused with NOT_ASSESSED (`no_levies`).
    case refuse
}

/// What a kiosk request asks for, after schema validation.
public struct CertificateRequest: Sendable, Hashable {
    public var cardSerial: String
    public var kind: CertificateKind
    public var fiscalYear: FiscalYear
    public var copies: Int
    /// For tax payment only; empty means every item with data for that year.
    public var taxItems: [TaxItem]
    /// For vehicle inspection only.
    public var vehiclePlate: String?

    public init(cardSerial: String, kind: CertificateKind, fiscalYear: FiscalYear, copies: Int, taxItems: [TaxItem], vehiclePlate: String?) {
        self.cardSerial = cardSerial; self.kind = kind; self.fiscalYear = fiscalYear; self.copies = copies
        self.taxItems = taxItems; self.vehiclePlate = vehiclePlate
    }
}

/// Everything the refusal rules look at, gathered once from the tax data store.
public struct EligibilityContext: Sendable {
    public var request: CertificateRequest
    public var today: LocalDate
    public var policy: IssuancePolicy
    public var card: Card?
    public var person: Person?
    public var restrictions: [Restriction]
    /// The fiscal years held, newest first.
    public var heldFiscalYears: [FiscalYear]
    public var assessment: Assessment?
    public var levies: [Levy]
    public var vehicles: [Vehicle]
    /// Hours since each needed data set was extracted, by data set name.
    public var dataAgeHours: [String: Double]
    /// Characters the certificate font cannot draw in a given text (外字).
    public var unprintable: @Sendable (String) -> [Character]

    public init(request: CertificateRequest, today: LocalDate, policy: IssuancePolicy, card: Card?, person: Person?,
                restrictions: [Restriction], heldFiscalYears: [FiscalYear], assessment: Assessment?, levies: [Levy],
                vehicles: [Vehicle], dataAgeHours: [String: Double], unprintable: @escaping @Sendable (String) -> [Character]) {
        self.request = request; self.today = today; self.policy = policy; self.card = card; self.person = person
        self.restrictions = restrictions; self.heldFiscalYears = heldFiscalYears; self.assessment = assessment
        self.levies = levies; self.vehicles = vehicles; self.dataAgeHours = dataAgeHours; self.unprintable = unprintable
    }

    /// The levies the certificate would list: the requested items, or every item with data.
    public var selectedLevies: [Levy] {
        let wanted = Set(request.taxItems)
        return levies.filter { wanted.isEmpty || wanted.contains($0.taxItem) }
    }

    /// The vehicle named by the request's plate, compared without spaces and width differences.
    public var selectedVehicle: Vehicle? {
        guard let plate = request.vehiclePlate else { return nil }
        let key = EligibilityContext.normalizedPlate(plate)
        return vehicles.first { EligibilityContext.normalizedPlate($0.plate) == key }
    }

    /// Plates are typed at kiosks in either width and with or without spaces.
    public static func normalizedPlate(_ plate: String) -> String {
        var out = ""
        for scalar in plate.unicodeScalars {
            switch scalar.value {
            case 0x20, 0x3000: continue
            case 0xFF01...0xFF5E: out.unicodeScalars.append(Unicode.Scalar(scalar.value - 0xFEE0)!)
            case 0x2010, 0x2212, 0xFF0D, 0x30FC: out.append("-")
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
