import Testing
@testable import KofuDomain

/// Issue 14's content rules in the domain: 未納 against 納期未到来 on the as-of date, the 「課税なし」 policy,
/// 継続検査用 only for vehicles with 車検, and the printed issuance point.
@Suite struct CertificateContentRulesTests {
    typealias E = EligibilityTests

    @Test("未納 is only what is past its due date on the as-of day; the due date itself is still in time")
    func overdueAgainstNotYetDue() {
        let levy = E.levy(assessed: 10000, paid: 4000, due: "2026-11-30")
        #expect(levy.overdue(asOf: LocalDate(iso: "2026-11-30")!) == 0)
        #expect(levy.notYetDue(asOf: LocalDate(iso: "2026-11-30")!) == 6000)
        #expect(levy.overdue(asOf: LocalDate(iso: "2026-12-01")!) == 6000)
        #expect(levy.notYetDue(asOf: LocalDate(iso: "2026-12-01")!) == 0)
        let item = TaxPaymentItem(taxItem: .residentTaxOrdinary, installments: [levy, E.levy(assessed: 5000, paid: 0, due: "2026-10-31")])
        #expect(item.overdue(asOf: LocalDate(iso: "2026-11-07")!) == 5000)
        #expect(item.notYetDue(asOf: LocalDate(iso: "2026-11-07")!) == 6000)
    }

    @Test("the as-of date is the data's, else the issue date")
    func asOfDate() {
        var c = Certificate(number: CertificateNumber("2026-0000001"), issueDate: E.today, fiscalYear: FiscalYear(2026),
                            person: E.person(), municipality: Municipality(code: "131041", name: "新宿区", mayorTitle: "新宿区長", mayorName: "吉住　健一"),
                            body: .taxPayment(items: []), feeYen: 300)
        #expect(c.asOfDate == E.today)
        c.dataAsOf = LocalDate(iso: "2026-11-20")
        #expect(c.asOfDate == LocalDate(iso: "2026-11-20"))
    }

    @Test("no levies at all in the year: a 課税なし certificate by default, NOT_ASSESSED when the policy refuses")
    func noLeviesPolicy() {
        #expect(IssuancePolicy().noLevies == .issue)
        #expect(EligibilityPolicy.kiosk.evaluate(E.context(levies: [])) == nil)
        #expect(EligibilityPolicy.counter.evaluate(E.context(card: nil, levies: [])) == nil)
        let refuse = IssuancePolicy(noLevies: .refuse)
        #expect(EligibilityPolicy.kiosk.evaluate(E.context(levies: [], policy: refuse)) == Refusal(.notAssessed, "no_levies"))
        #expect(EligibilityPolicy.counter.evaluate(E.context(card: nil, levies: [], policy: refuse)) == Refusal(.notAssessed, "no_levies"))
    }

    @Test("with levies of other items, a requested item without levies is refused under either policy")
    func requestedItemWithoutLevies() {
        for policy in [IssuancePolicy(noLevies: .issue), IssuancePolicy(noLevies: .refuse)] {
            #expect(EligibilityPolicy.kiosk.evaluate(E.context(taxItems: [.fixedAsset], policy: policy)) == Refusal(.notAssessed, "no_levies"))
        }
    }

    @Test("車検: 軽四輪 and 二輪 over 250cc have it; 原付, 125–250cc 二輪 and 小型特殊 do not", arguments: [
        ("軽四輪乗用(自家用)", true), ("軽四輪貨物（自家用）", true), ("軽三輪", true), ("二輪(250cc超)", true), ("二輪（２５０ｃｃ超）", true),
        ("原付(50cc以下)", false), ("原動機付自転車(125cc以下)", false), ("二輪(125cc超250cc以下)", false), ("二輪(125cc以下)", false),
        ("小型特殊", false), ("雪上車", false),
    ])
    func inspectionByClass(vehicleClass: String, required: Bool) {
        #expect(VehicleInspection.required(forClass: vehicleClass) == required)
    }

    @Test("a 継続検査用 request for a vehicle without 車検 is refused NO_VEHICLE, at the kiosk and the counter")
    func vehicleWithoutInspectionRefused() {
        var v = E.vehicle()
        v.vehicleClass = "二輪(125cc超250cc以下)"
        let kiosk = E.context(kind: .vehicleInspection, vehicles: [v], plate: v.plate)
        #expect(EligibilityPolicy.kiosk.evaluate(kiosk) == Refusal(.noVehicle, "vehicle_without_inspection"))
        #expect(EligibilityPolicy.counter.evaluate(E.context(kind: .vehicleInspection, card: nil, vehicles: [v], plate: v.plate))
                == Refusal(.noVehicle, "vehicle_without_inspection"))
        v.vehicleClass = "二輪(250cc超)"
        #expect(EligibilityPolicy.kiosk.evaluate(E.context(kind: .vehicleInspection, vehicles: [v], plate: v.plate)) == nil)
    }

    @Test("the issuance point line")
    func issuancePoint() {
        #expect(IssuancePoint.counter.printed == "窓口交付")
        #expect(IssuancePoint.kiosk(storeChain: "SEJ", storeID: "123456", terminalID: "03").printed == "コンビニ交付（SEJ　店舗 123456　端末 03）")
        #expect(IssuancePoint.kiosk(terminal: "SEJ/123456/03") == .kiosk(storeChain: "SEJ", storeID: "123456", terminalID: "03"))
        #expect(IssuancePoint.kiosk(terminal: nil).printed == "コンビニ交付")
    }

    @Test("titles use full-width brackets")
    func titles() {
        for kind in CertificateKind.allCases { #expect(!kind.title.contains("(") && !kind.title.contains(")")) }
        #expect(CertificateKind.vehicleInspection.title == "軽自動車税（種別割）納税証明書（継続検査用）")
    }

    @Test("非課税: which part and why, in Japanese")
    func nonTaxationWords() {
        #expect(NonTaxationDetail(perCapitaExempt: true, incomeLevyExempt: true, reason: .publicAssistance).exemptParts == "均等割及び所得割")
        #expect(NonTaxationDetail(perCapitaExempt: false, incomeLevyExempt: true, reason: .incomeBelowIncomeLevyThreshold).exemptParts == "所得割")
        #expect(NonTaxationDetail.Reason.publicAssistance.japaneseText == "生活保護法による生活扶助を受けているため")
        for reason in NonTaxationDetail.Reason.allCases { #expect(reason.japaneseText.hasSuffix("ため")) }
    }
}
