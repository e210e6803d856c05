import Testing
@testable import KofuDomain

/// Each refusal rule in isolation, then the composed kiosk policy per kind.
@Suite struct EligibilityTests {
    static let today = LocalDate(iso: "2026-11-22")!
    static let id = AddresseeID("100000000000001")!

    static func person(status: ResidentStatus = .resident, statusDate: String = "2010-04-01", name: String = "山田 太郎") -> Person {
        Person(addresseeID: id, name: name, nameKana: "ヤマダ タロウ", birthDate: LocalDate(iso: "1980-05-05")!, sex: 1,
               postalCode: "160-0022", address: "東京都新宿区新宿六丁目1番1号", addressExtra: "", status: status,
               statusDate: LocalDate(iso: statusDate)!)
    }

    static func levy(_ item: TaxItem = .residentTaxOrdinary, assessed: Int = 10000, paid: Int = 10000, due: String = "2026-06-30",
                     status: PaymentStatus = .confirmed) -> Levy {
        Levy(fiscalYear: FiscalYear(2026), addresseeID: id, taxItem: item, noticeNo: "N1", installment: 1, assessed: assessed,
             paid: paid, dueDate: LocalDate(iso: due)!, paidDate: paid > 0 ? LocalDate(iso: "2026-06-01") : nil, paymentStatus: status)
    }

    static func assessment(_ status: Assessment.Status) -> Assessment {
        Assessment(fiscalYear: FiscalYear(2026), addresseeID: id, status: status, salaryIncome: 0, salaryNet: 0, pensionIncome: 0,
                   pensionNet: 0, businessNet: 0, otherNet: 0, totalIncome: 0, deductionsTotal: 0, dependents: 0, taxableBase: 0,
                   cityIncomeLevy: 0, cityPerCapita: 0, prefIncomeLevy: 0, prefPerCapita: 0)
    }

    static func vehicle(paid: Int = 10800, status: PaymentStatus = .confirmed, exempt: Bool = false) -> Vehicle {
        Vehicle(vehicleID: "V1", fiscalYear: FiscalYear(2026), addresseeID: id, vehicleClass: "軽四輪乗用(自家用)", plate: "新宿 580 あ 12-34",
                chassisNo: "ABC-123", assessed: 10800, paid: paid, paidDate: nil, paymentStatus: status, exempt: exempt)
    }

    static func context(kind: CertificateKind = .taxPayment, year: Int = 2026, card: Card? = Card(cardSerial: "0A1B", addresseeID: id, validUntil: LocalDate(iso: "2030-01-01")!, revoked: false),
                        person: Person? = person(), restrictions: [Restriction] = [], levies: [Levy] = [levy()],
                        assessment: Assessment? = nil, vehicles: [Vehicle] = [], taxItems: [TaxItem] = [], plate: String? = nil,
                        ageHours: Double = 3, policy: IssuancePolicy = IssuancePolicy(), unprintable: Set<Character> = ["𠮷"]) -> EligibilityContext {
        let sets = ["residents", "cards", "restrictions", "assessments", "levies", "vehicles"]
        return EligibilityContext(
            request: CertificateRequest(cardSerial: "0A1B", kind: kind, fiscalYear: FiscalYear(year), copies: 1, taxItems: taxItems, vehiclePlate: plate),
            today: today, policy: policy, card: card, person: person, restrictions: restrictions,
            heldFiscalYears: [2026, 2025, 2024, 2023].map(FiscalYear.init), assessment: assessment, levies: levies, vehicles: vehicles,
            dataAgeHours: Dictionary(uniqueKeysWithValues: sets.map { ($0, ageHours) }),
            unprintable: { text in text.filter { unprintable.contains($0) } })
    }

    @Test func issuableTaxPaymentPasses() {
        #expect(EligibilityPolicy.kiosk.evaluate(Self.context()) == nil)
    }

    @Test(arguments: [
        (context(card: nil), Refusal(.cardNotRegistered, "card_unknown")),
        (context(card: Card(cardSerial: "0A1B", addresseeID: id, validUntil: LocalDate(iso: "2030-01-01")!, revoked: true)), Refusal(.cardNotRegistered, "card_revoked")),
        (context(card: Card(cardSerial: "0A1B", addresseeID: id, validUntil: LocalDate(iso: "2026-11-21")!, revoked: false)), Refusal(.cardNotRegistered, "card_expired")),
        (context(person: person(status: .movedOut)), Refusal(.counterOnly, "moved_out")),
        (context(person: person(status: .deceased)), Refusal(.counterOnly, "deceased")),
        (context(person: person(statusDate: "2026-11-22")), Refusal(.counterOnly, "moved_in_today")),
        (context(restrictions: [Restriction(addresseeID: id, kind: .supportMeasure, validFrom: LocalDate(iso: "2020-01-01")!, validTo: nil)]), Refusal(.counterOnly, "support_measure")),
        (context(restrictions: [Restriction(addresseeID: id, kind: .issuanceStop, validFrom: LocalDate(iso: "2026-11-01")!, validTo: LocalDate(iso: "2026-12-31")!)]), Refusal(.counterOnly, "issuance_stop")),
        (context(person: person(name: "𠮷田 花子")), Refusal(.counterOnly, "unprintable_character_in_name")),
        (context(year: 2022), Refusal(.outOfRetention, "fiscal_year_not_held")),
        (context(levies: [], policy: IssuancePolicy(noLevies: .refuse)), Refusal(.notAssessed, "no_levies")),
        (context(taxItems: [.fixedAsset]), Refusal(.notAssessed, "no_levies")),
        (context(levies: [levy(), levy(.lightVehicle)], taxItems: [.lightVehicle, .fixedAsset]), Refusal(.notAssessed, "tax_item_without_levy")),
        (context(levies: [levy(paid: 5000, due: "2026-10-31")]), Refusal(.unpaidTax, "unpaid_past_due")),
        (context(levies: [levy(status: .provisional)]), Refusal(.paymentUnconfirmed, "provisional_payment")),
        (context(ageHours: 49), Refusal(.serviceClosed, "data_stale_residents")),
        (context(kind: .incomeTaxation), Refusal(.notAssessed, "no_assessment")),
        (context(kind: .nonTaxation, assessment: assessment(.taxed)), Refusal(.notAssessed, "taxed_not_non_taxed")),
        (context(kind: .vehicleInspection, vehicles: [vehicle()], plate: "品川 500 さ 00-01"), Refusal(.noVehicle, "no_such_vehicle")),
        (context(kind: .vehicleInspection, vehicles: [vehicle(paid: 0)], plate: "新宿 580 あ 12-34"), Refusal(.unpaidTax, "vehicle_tax_unpaid")),
        (context(kind: .vehicleInspection, vehicles: [vehicle(status: .provisional)], plate: "新宿580あ12-34"), Refusal(.paymentUnconfirmed, "vehicle_provisional_payment")),
    ] as [(EligibilityContext, Refusal)])
    func refusals(context: EligibilityContext, expected: Refusal) {
        #expect(EligibilityPolicy.kiosk.evaluate(context) == expected)
    }

    @Test func personRefusalsWinOverDataRefusals() {
        // A restricted person asking for a year not held is still only told "counter".
        let c = Self.context(year: 2019, person: Self.person(status: .deceased))
        #expect(EligibilityPolicy.kiosk.evaluate(c)?.code == .counterOnly)
    }

    @Test func policyCanAllowUnpaidAndProvisional() {
        let lenient = IssuancePolicy(refuseUnpaidPastDue: false, refuseProvisionalPayment: false, maxDataAgeHours: 48)
        #expect(EligibilityPolicy.kiosk.evaluate(Self.context(levies: [Self.levy(paid: 0, due: "2026-01-31")], policy: lenient)) == nil)
        #expect(EligibilityPolicy.kiosk.evaluate(Self.context(levies: [Self.levy(status: .provisional)], policy: lenient)) == nil)
        // Not yet due is never "unpaid past due".
        #expect(EligibilityPolicy.kiosk.evaluate(Self.context(levies: [Self.levy(paid: 0, due: "2026-12-25")])) == nil)
    }

    @Test func expiredRestrictionNoLongerApplies() {
        let r = Restriction(addresseeID: Self.id, kind: .supportMeasure, validFrom: LocalDate(iso: "2020-01-01")!, validTo: LocalDate(iso: "2026-11-21")!)
        #expect(EligibilityPolicy.kiosk.evaluate(Self.context(restrictions: [r])) == nil)
    }

    @Test func plateMatchingIgnoresWidthAndSpaces() {
        #expect(EligibilityContext.normalizedPlate("新宿　５８０　あ　１２－３４") == EligibilityContext.normalizedPlate("新宿 580 あ 12-34"))
    }

    @Test func exemptVehicleNeedsNoPayment() {
        let c = Self.context(kind: .vehicleInspection, vehicles: [Self.vehicle(paid: 0, exempt: true)], plate: "新宿 580 あ 12-34")
        #expect(EligibilityPolicy.kiosk.evaluate(c) == nil)
    }
}
