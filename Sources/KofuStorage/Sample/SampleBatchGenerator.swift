import Foundation
import KofuDomain

/// The sample generator could not write its batch.
public enum SampleBatchError: Error, CustomStringConvertible {
    case cannotWrite(String)
    case invalidMunicipality(String)
    case tooFewPeople(minimum: Int)

    public var description: String {
        switch self {
        case .cannotWrite(let file): "cannot write \(file)"
        case .invalidMunicipality(let code): "\(code) is not a municipality code with a valid check digit"
        case .tooFewPeople(let minimum): "a sample batch needs at least \(minimum) people (one per demo case)"
        }
    }
}

/// What Kofu must answer to one kiosk request: a certificate (201), or a refusal with its public code (422).
public enum SampleDemoOutcome: Sendable, Hashable, CustomStringConvertible {
    case issued
    case refused(RefusalCode)

    public var description: String {
        switch self {
        case .issued: "issued"
        case .refused(let code): "refused \(code.rawValue)"
        }
    }
}

/// One kiosk request for a demo card and the answer it must get.
public struct SampleDemoExpectation: Sendable, Codable, Hashable {
    public var kind: CertificateKind
    public var fiscalYear: Int
    /// For `vehicle_inspection`, the plate to send: the card's own vehicle, or one nobody on file has.
    public var vehiclePlate: String?
    public var outcome: SampleDemoOutcome

    public init(kind: CertificateKind, fiscalYear: Int, vehiclePlate: String?, outcome: SampleDemoOutcome) {
        self.kind = kind; self.fiscalYear = fiscalYear; self.vehiclePlate = vehiclePlate; self.outcome = outcome
    }

    enum CodingKeys: String, CodingKey {
        case kind, fiscalYear = "fiscal_year", vehiclePlate = "vehicle_plate", outcome, errorCode = "error_code"
    }

    /// `"outcome": "issued"`, or `"outcome": "refused"` with the kiosk's `error.code` as `error_code`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(CertificateKind.self, forKey: .kind)
        fiscalYear = try c.decode(Int.self, forKey: .fiscalYear)
        vehiclePlate = try c.decodeIfPresent(String.self, forKey: .vehiclePlate)
        switch try c.decode(String.self, forKey: .outcome) {
        case "issued": outcome = .issued
        case "refused": outcome = .refused(try c.decode(RefusalCode.self, forKey: .errorCode))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .outcome, in: c, debugDescription: "outcome \(other) is neither issued nor refused")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(fiscalYear, forKey: .fiscalYear)
        try c.encodeIfPresent(vehiclePlate, forKey: .vehiclePlate)
        switch outcome {
        case .issued: try c.encode("issued", forKey: .outcome)
        case .refused(let code):
            try c.encode("refused", forKey: .outcome)
            try c.encode(code, forKey: .errorCode)
        }
    }
}

/// One card serial that demonstrates one case (DOMAIN.md §2), for people and end-to-end tests.
public struct SampleDemoCard: Sendable, Codable, Hashable {
    /// Stable case name, e.g. `ordinary`, `moved_out`, `unpaid_past_due`.
    public var caseName: String
    /// The serial to present at the kiosk API.
    public var cardSerial: String
    /// The person behind it (宛名番号).
    public var addresseeID: String
    /// What the case shows.
    public var description: String
    /// Every certificate kind in the latest fiscal year (and, where the case lies in an earlier year, in that
    /// year too), each with the answer Kofu must give.
    public var expectations: [SampleDemoExpectation]

    enum CodingKeys: String, CodingKey {
        case caseName = "case", cardSerial = "card_serial", addresseeID = "addressee_id", description, expectations
    }
}

/// What `SampleBatchGenerator.write(to:)` produced.
public struct SampleBatchSummary: Sendable, Codable, Hashable {
    public var batchID: String
    public var municipalityCode: String
    /// The generator's "today" (`YYYY-MM-DD`).
    public var today: String
    public var fiscalYears: [Int]
    /// Data rows per file.
    public var rows: [String: Int]
    public var demoCards: [SampleDemoCard]

    enum CodingKeys: String, CodingKey {
        case batchID = "batch_id", municipalityCode = "municipality_code", today, fiscalYears = "fiscal_years", rows
        case demoCards = "cards"
    }

    public var totalRows: Int { rows.values.reduce(0, +) }
}

/// Writes a valid, realistic linkage batch (LINKAGE.md, format 2: docs/storage.md) for a fictional population:
/// Japanese names and readings, addresses in the municipality, incomes and assessments with their deductions,
/// dependants and credits, installments with due dates and payments (特別徴収 June–May; no 固定資産税 in a 特別区),
/// light vehicles, over `fiscalYears` years — and one person for each edge case of DOMAIN.md, listed with their
/// card serial in `demo-cards.json` and `demo-cards.md`.
///
/// The same parameters always give the same files. Rows are streamed to disk in key order, so a million
/// people take seconds and little memory.
public struct SampleBatchGenerator: Sendable {
    public let people: Int
    public let seed: UInt64
    public let today: LocalDate
    public let municipalityCode: String
    /// How many fiscal years of tax data, ending with today's (4 = what Kofu keeps).
    public var fiscalYears: Int = 4
    /// Defaults to `YYYYMMDD-01` of `today`.
    public var batchID: String?

    public init(people: Int, seed: UInt64 = 1, today: LocalDate, municipalityCode: String = "131041") {
        self.people = people
        self.seed = seed
        self.today = today
        self.municipalityCode = municipalityCode
    }

    /// The edge cases, one person each, at the start of the file.
    enum Persona: Int, CaseIterable {
        case ordinary, movedOut, deceased, movedInToday, supportMeasure, issuanceStop, counterOnly, endedSupportMeasure
        case unpaidPastDue, provisionalPayment, nonTaxed, rareKanjiName
        case born19890107, born19890108, born20190430, born20190501
        case revokedCard, expiredCard, unknownCard, manyInstallments, vehicleUnpaid, vehicleProvisional, nonResident
        case motorcycle

        var caseName: String {
            switch self {
            case .ordinary: "ordinary"
            case .movedOut: "moved_out"
            case .deceased: "deceased"
            case .movedInToday: "moved_in_today"
            case .supportMeasure: "support_measure"
            case .issuanceStop: "issuance_stop"
            case .counterOnly: "counter_only"
            case .endedSupportMeasure: "ended_support_measure"
            case .unpaidPastDue: "unpaid_past_due"
            case .provisionalPayment: "provisional_payment"
            case .nonTaxed: "non_taxed"
            case .rareKanjiName: "unprintable_name_character"
            case .born19890107: "birthday_1989_01_07"
            case .born19890108: "birthday_1989_01_08"
            case .born20190430: "birthday_2019_04_30"
            case .born20190501: "birthday_2019_05_01"
            case .revokedCard: "revoked_card"
            case .expiredCard: "expired_card"
            case .unknownCard: "unknown_card"
            case .manyInstallments: "five_items_twelve_installments"
            case .vehicleUnpaid: "vehicle_tax_unpaid"
            case .vehicleProvisional: "vehicle_tax_provisional"
            case .nonResident: "non_resident"
            case .motorcycle: "motorcycle_125_250cc"
            }
        }

        var description: String {
            switch self {
            case .ordinary: "resident, taxed (spouse, a 特定扶養 child and a 年少 child), everything due so far paid and the later installments not yet due, one 軽四輪 (車検) paid: every certificate issues but 非課税証明書 (taxed)"
            case .movedOut: "転出 (moved_out a month ago): refused, 住記消除"
            case .deceased: "死亡 (deceased): refused, 住記消除"
            case .movedInToday: "転入 today (status_date = today): refused"
            case .supportMeasure: "DV等支援措置 in force: refused"
            case .issuanceStop: "証明発行停止 in force: refused"
            case .counterOnly: "counter_only restriction in force: refused at the kiosk"
            case .endedSupportMeasure: "a support measure that ended 30 days ago, taxed salary earner: issues like anyone taxed"
            case .unpaidPastDue: "an installment of last fiscal year unpaid past its due date: that year's 納税証明書 refused"
            case .provisionalPayment: "last installment of last fiscal year paid 2 days ago, only 速報 (provisional): that year's 納税証明書 refused"
            case .nonTaxed: "非課税 every year (均等割 and 所得割; reason: income below the 均等割 threshold), no levies at all in the year: 非課税証明書 and 所得・課税証明書 issue, 納税証明書 has nothing to certify (課税なし)"
            case .rareKanjiName: "surname with 𠮷 (U+20BB7), which the bundled font lacks: refused (外字)"
            case .born19890107: "born 昭和64年1月7日 (last day of Shōwa), taxed salary earner"
            case .born19890108: "born 平成元年1月8日 (first day of Heisei), taxed salary earner"
            case .born20190430: "born 平成31年4月30日 (last day of Heisei), a child: 非課税, nothing levied"
            case .born20190501: "born 令和元年5月1日 (first day of Reiwa), a child: 非課税, nothing levied"
            case .revokedCard: "card certificate revoked (失効): refused"
            case .expiredCard: "card certificate expired 10 days ago: refused"
            case .unknownCard: "card serial not in cards.csv: refused"
            case .manyInstallments: "every tax item the municipality levies in the latest fiscal year (5 in a city; 4 in a 特別区, which levies no 固定資産税), 27–31 installments, each paid when due: long 納税証明書"
            case .vehicleUnpaid: "light vehicle tax of the latest year unpaid: 継続検査用 refused"
            case .vehicleProvisional: "light vehicle tax paid, only provisional: 継続検査用 refused"
            case .nonResident: "住登外 (non_resident, on file for tax only, no card here)"
            case .motorcycle: "taxed salary earner with a 125–250cc 二輪, its tax paid: 継続検査用 refused (no 車検)"
            }
        }

        /// What Kofu must answer for this card, kind by kind: for the latest fiscal year (`yearsBack` 0) and,
        /// where the case lies in an earlier year, for that year. Written by hand from the data this persona is
        /// given below — never computed by the refusal rules, which the demo-card test checks against it.
        var intent: [(yearsBack: Int, answers: KindAnswers)] {
            let ok = SampleDemoOutcome.issued
            let notAssessed = SampleDemoOutcome.refused(.notAssessed)
            let noVehicle = SampleDemoOutcome.refused(.noVehicle)
            // A resident taxed on a salary, without a vehicle: 非課税証明書 is for the non-taxed only.
            let taxedWithoutVehicle = KindAnswers(taxPayment: ok, incomeTaxation: ok, nonTaxation: notAssessed, vehicleInspection: noVehicle)
            // Non-taxed with nothing levied: a 「課税なし」 納税証明書 (issuance.no_levies defaults to issue).
            let nonTaxedNothingLevied = KindAnswers(taxPayment: ok, incomeTaxation: ok, nonTaxation: ok, vehicleInspection: noVehicle)
            switch self {
            case .ordinary, .manyInstallments:
                return [(0, KindAnswers(taxPayment: ok, incomeTaxation: ok, nonTaxation: notAssessed, vehicleInspection: ok))]
            case .movedOut, .deceased, .movedInToday, .supportMeasure, .issuanceStop, .counterOnly, .rareKanjiName:
                return [(0, .all(.refused(.counterOnly)))]
            case .revokedCard, .expiredCard, .unknownCard:
                return [(0, .all(.refused(.cardNotRegistered)))]
            case .endedSupportMeasure, .born19890107, .born19890108:
                return [(0, taxedWithoutVehicle)]
            case .nonTaxed, .born20190430, .born20190501:
                return [(0, nonTaxedNothingLevied)]
            case .unpaidPastDue:
                return [(0, taxedWithoutVehicle),
                        (1, KindAnswers(taxPayment: .refused(.unpaidTax), incomeTaxation: ok, nonTaxation: notAssessed, vehicleInspection: noVehicle))]
            case .provisionalPayment:
                return [(0, taxedWithoutVehicle),
                        (1, KindAnswers(taxPayment: .refused(.paymentUnconfirmed), incomeTaxation: ok, nonTaxation: notAssessed,
                                        vehicleInspection: noVehicle))]
            case .motorcycle:
                // A 継続検査用 certificate exists only for a vehicle with 車検: a 125–250cc 二輪 has none.
                return [(0, taxedWithoutVehicle)]
            case .vehicleUnpaid:
                return [(0, KindAnswers(taxPayment: ok, incomeTaxation: ok, nonTaxation: notAssessed, vehicleInspection: .refused(.unpaidTax)))]
            case .vehicleProvisional:
                return [(0, KindAnswers(taxPayment: ok, incomeTaxation: ok, nonTaxation: notAssessed,
                                        vehicleInspection: .refused(.paymentUnconfirmed)))]
            case .nonResident:
                // Not a demo card: 住登外 people hold no card here.
                return []
            }
        }

        /// Whether the person has a card in cards.csv (unknown_card deliberately has none, nor has non_resident).
        var hasCard: Bool { self != .unknownCard && self != .nonResident }

        /// Whether the case is listed in the demo files (non_resident has no card to present).
        var isListed: Bool { self != .nonResident }
    }

    /// The intended answer for each certificate kind in one fiscal year.
    struct KindAnswers {
        var taxPayment: SampleDemoOutcome
        var incomeTaxation: SampleDemoOutcome
        var nonTaxation: SampleDemoOutcome
        var vehicleInspection: SampleDemoOutcome

        static func all(_ outcome: SampleDemoOutcome) -> KindAnswers {
            KindAnswers(taxPayment: outcome, incomeTaxation: outcome, nonTaxation: outcome, vehicleInspection: outcome)
        }

        subscript(kind: CertificateKind) -> SampleDemoOutcome {
            switch kind {
            case .taxPayment: taxPayment
            case .incomeTaxation: incomeTaxation
            case .nonTaxation: nonTaxation
            case .vehicleInspection: vehicleInspection
            }
        }
    }

    /// The expectations of a listed card: every kind in each year of the persona's intent. `plate` is the
    /// person's own vehicle, or one that no one on file has.
    static func expectations(_ persona: Persona, latestYear: Int, plate: String) -> [SampleDemoExpectation] {
        persona.intent.flatMap { yearsBack, answers in
            CertificateKind.allCases.map { kind in
                SampleDemoExpectation(kind: kind, fiscalYear: latestYear - yearsBack,
                                      vehiclePlate: kind == .vehicleInspection ? plate : nil, outcome: answers[kind])
            }
        }
    }

    /// The minimum `people`: one per edge case.
    public static var minimumPeople: Int { Persona.allCases.count }

    /// Writes `manifest.json`, the six CSV files, `demo-cards.json` and `demo-cards.md` into `directory`.
    @discardableResult
    public func write(to directory: String) throws -> SampleBatchSummary {
        guard MunicipalityCode.isValid(municipalityCode) else { throw SampleBatchError.invalidMunicipality(municipalityCode) }
        guard people >= Self.minimumPeople else { throw SampleBatchError.tooFewPeople(minimum: Self.minimumPeople) }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var run = SampleRun(generator: self, directory: directory)
        return try run.write()
    }

    static func cardSerial(seed: UInt64, index: Int) -> String {
        var r = SampleRandom(seed: seed ^ 0xC0FF_EE00 ^ UInt64(index) &* 0x9E37_79B9)
        let v = r.next()
        let hex = String(v, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex + String(index, radix: 16)
    }
}

/// One generation run: the open writers and the random stream.
private struct SampleRun {
    let g: SampleBatchGenerator
    let directory: String
    var rng: SampleRandom
    let place: SampleData.Place
    let years: [Int]
    let today: SampleDate
    let todayDay: Int
    /// A 特別区 (no 固定資産税 of its own).
    let ward: Bool

    init(generator: SampleBatchGenerator, directory: String) {
        g = generator
        self.directory = directory
        rng = SampleRandom(seed: generator.seed)
        place = SampleData.place(for: generator.municipalityCode)
        let latest = generator.today.fiscalYear.year
        years = Array((latest - max(2, generator.fiscalYears) + 1)...latest)
        today = SampleDate(y: generator.today.year, m: generator.today.month, d: generator.today.day)
        todayDay = generator.today.dayNumber
        ward = SpecialWard.contains(generator.municipalityCode)
    }

    func date(_ dayNumber: Int) -> SampleDate {
        let d = LocalDate(dayNumber: dayNumber)
        return SampleDate(y: d.year, m: d.month, d: d.day)
    }

    func dayNumber(_ d: SampleDate) -> Int { LocalDate(year: d.y, month: d.m, day: d.d)!.dayNumber }

    mutating func write() throws -> SampleBatchSummary {
        let residents = try SampleCSVWriter(directory: directory, name: "residents.csv", header: [
            "addressee_id", "name", "name_kana", "birth_date", "sex", "postal_code", "address", "address_extra",
            "status", "status_date"])
        let cards = try SampleCSVWriter(directory: directory, name: "cards.csv",
                                        header: ["card_serial", "addressee_id", "valid_until", "revoked"])
        let restrictions = try SampleCSVWriter(directory: directory, name: "restrictions.csv",
                                               header: ["addressee_id", "kind", "valid_from", "valid_to"])
        let assessments = try SampleCSVWriter(directory: directory, name: "assessments.csv", header: [
            "fiscal_year", "addressee_id", "status", "salary_income", "salary_net", "pension_income", "pension_net",
            "business_net", "other_net", "total_income", "deductions_total", "dependents", "taxable_base",
            "city_income_levy", "city_per_capita", "pref_income_levy", "pref_per_capita"]
            + LinkageFileSpec.format2AssessmentColumns.map(\.name))
        let levies = try SampleCSVWriter(directory: directory, name: "levies.csv", header: [
            "fiscal_year", "addressee_id", "tax_item", "notice_no", "installment", "assessed", "paid", "due_date",
            "paid_date", "payment_status"])
        let vehicles = try SampleCSVWriter(directory: directory, name: "vehicles.csv", header: [
            "vehicle_id", "fiscal_year", "addressee_id", "vehicle_class", "plate", "chassis_no", "assessed", "paid",
            "paid_date", "payment_status", "exempt"])
        var demo: [SampleDemoCard] = []

        for index in 0..<g.people {
            let persona = SampleBatchGenerator.Persona(rawValue: index)
            let id = 100_000_001 + index
            let idText = String(id)
            // Person
            let sex = rng.int(1...2)
            var (surname, surnameKana) = rng.pick(SampleData.surnames)
            let (given, givenKana) = rng.pick(sex == 1 ? SampleData.maleNames : SampleData.femaleNames)
            if persona == .rareKanjiName { (surname, surnameKana) = ("𠮷田", "ヨシダ") }
            var birth: SampleDate
            switch persona {
            case .born19890107: birth = SampleDate(y: 1989, m: 1, d: 7)
            case .born19890108: birth = SampleDate(y: 1989, m: 1, d: 8)
            case .born20190430: birth = SampleDate(y: 2019, m: 4, d: 30)
            case .born20190501: birth = SampleDate(y: 2019, m: 5, d: 1)
            // Adults of working age: taxed on a salary, as their intent says.
            case .ordinary, .manyInstallments, .unpaidPastDue, .provisionalPayment, .vehicleUnpaid, .vehicleProvisional,
                 .endedSupportMeasure, .motorcycle:
                birth = date(todayDay - rng.int(30 * 365...60 * 365))
            // Restricted or gone: adults with a tax record in every year, which the counter looks up (a child drawn
            // at random would have none).
            case .supportMeasure, .issuanceStop, .counterOnly, .movedOut, .deceased, .movedInToday:
                birth = date(todayDay - rng.int(20 * 365...80 * 365))
            case .nonTaxed: birth = date(todayDay - rng.int(70 * 365...85 * 365))
            default: birth = date(todayDay - rng.int(0...95 * 365))
            }
            let ageDays = todayDay - dayNumber(birth)
            let town = rng.pick(place.towns)
            residents.digits(id, width: 9)
            residents.text(surname + "\u{3000}" + given)
            residents.text(surnameKana + "\u{3000}" + givenKana)
            residents.date(birth)
            residents.int(sex)
            residents.text(town.postal)
            residents.text("\(place.prefix)\(town.name)\(rng.int(1...5))丁目\(rng.int(1...30))番\(rng.int(1...20))号")
            if rng.chance(35) {
                residents.text("\(rng.pick(SampleData.buildings))\(rng.pick(SampleData.buildingNames)) \(rng.int(1...9))0\(rng.int(1...9))号室")
            } else {
                residents.empty()
            }
            var status = "resident"
            var statusDay = max(dayNumber(birth), todayDay - rng.int(30...20 * 365))
            switch persona {
            case .movedOut: status = "moved_out"; statusDay = todayDay - 30
            case .deceased: status = "deceased"; statusDay = todayDay - 12
            case .movedInToday: statusDay = todayDay
            case .nonResident: status = "non_resident"
            default: break
            }
            residents.text(status)
            residents.date(date(statusDay))
            try residents.endRow()

            // Card
            let serial = SampleBatchGenerator.cardSerial(seed: g.seed, index: index)
            if let persona {
                if persona.hasCard {
                    cards.text(serial)
                    cards.text(idText)
                    cards.date(date(persona == .expiredCard ? todayDay - 10 : todayDay + rng.int(200...1800)))
                    cards.int(persona == .revokedCard ? 1 : 0)
                    try cards.endRow()
                }
            } else if rng.chance(60), ageDays > 0 {
                cards.text(serial)
                cards.text(idText)
                cards.date(date(todayDay + rng.int(-60...1800)))
                cards.int(rng.chance(1) ? 1 : 0)
                try cards.endRow()
            }

            // Restrictions
            func restriction(_ kind: String, from: Int, to: Int?) throws {
                restrictions.text(idText)
                restrictions.text(kind)
                restrictions.date(date(from))
                if let to { restrictions.date(date(to)) } else { restrictions.empty() }
                try restrictions.endRow()
            }
            switch persona {
            case .supportMeasure: try restriction("support_measure", from: todayDay - 200, to: todayDay + 165)
            case .issuanceStop: try restriction("issuance_stop", from: todayDay - 40, to: nil)
            case .counterOnly: try restriction("counter_only", from: todayDay - 400, to: nil)
            case .endedSupportMeasure: try restriction("support_measure", from: todayDay - 800, to: todayDay - 30)
            case nil where index % 2000 == 1999: try restriction("support_measure", from: todayDay - 100, to: todayDay + 265)
            default: break
            }

            // Tax data per fiscal year
            let adult = ageDays >= 16 * 365
            let kind = rng.int(0...99)
            let baseSalary = persona == nil ? rng.int(180...900) * 10_000 : 4_800_000
            let family = persona == .ordinary ? SampleFamily(spouse: 1, general: 0, specified: 1, elderly: 0, minor: 1)
                : persona == nil && rng.chance(30) ? SampleFamily.random(&rng) : SampleFamily()
            let lifeInsurance = persona == .ordinary ? 28_000 : persona == nil && rng.chance(40) ? rng.int(5...28) * 1_000 : 0
            let earthquakeInsurance = persona == .ordinary ? 25_000 : persona == nil && rng.chance(20) ? rng.int(1...25) * 1_000 : 0
            let medical = persona == nil && rng.chance(5) ? rng.int(10...200) * 1_000 : 0
            let housingLoan = persona == nil && rng.chance(5) ? rng.int(20...97) * 1_000 : 0
            let publicAssistance = persona == nil && rng.chance(3)
            // A 特別区 levies no 固定資産税・都市計画税: Tokyo does (a 都税), so it is not on the ward's 納税証明書.
            let hasFixedAsset = !ward && (persona == .manyInstallments || persona == .ordinary || (persona == nil && rng.chance(10)))
            let hasVehicle = persona == .ordinary || persona == .vehicleUnpaid || persona == .vehicleProvisional
                || persona == .manyInstallments || persona == .motorcycle || (persona == nil && adult && rng.chance(15))
            let randomClass = rng.pick(SampleData.vehicleClasses)
            // The demo vehicles whose 継続検査用 certificate is asked for have 車検 (軽四輪), except the 二輪 of the
            // motorcycle case, which has none.
            let vehicleClass = persona == .motorcycle ? SampleData.motorcycleClass : persona != nil ? SampleData.lightCarClass : randomClass
            let plate = "\(place.plateRegion) \(rng.int(480...589)) \(rng.pick(SampleData.kanaForPlates)) \(rng.int(1...99))-\(rng.int(10...99))"
            let chassis = "HA\(rng.int(10...99))S-\(rng.int(100_000...999_999))"
            if let persona, persona.isListed {
                // Generated plates are numbered 480–589, so 999 is no one's: it asks for a vehicle not on file.
                let requestPlate = hasVehicle ? plate : "\(place.plateRegion) 999 あ 99-99"
                demo.append(SampleDemoCard(caseName: persona.caseName, cardSerial: serial, addresseeID: idText,
                                           description: persona.description,
                                           expectations: SampleBatchGenerator.expectations(persona, latestYear: years.last!,
                                                                                           plate: requestPlate)))
            }
            var notice = 0
            for year in years {
                // Assessed where the person lived on 1 January of the year (賦課期日) and was born by then.
                let jan1 = LocalDate(year: year, month: 1, day: 1)!.dayNumber
                guard dayNumber(birth) < jan1 else { continue }
                let ageOnJan1 = jan1 - dayNumber(birth)
                let isAdult = ageOnJan1 >= 16 * 365
                var salary = 0, salaryNet = 0, pension = 0, pensionNet = 0, business = 0
                // The era-boundary children stay without income once 16 too, so their stated answers hold in any year.
                if persona == .nonTaxed || persona == .born20190430 || persona == .born20190501 || !isAdult {
                    pension = persona == .nonTaxed ? 600_000 : 0
                } else if ageOnJan1 >= 65 * 365 {
                    pension = rng.int(60...300) * 10_000
                    pensionNet = max(0, pension - 1_100_000)
                } else if kind < 70 || persona != nil {
                    salary = baseSalary + rng.int(0...30) * 10_000
                    salaryNet = Self.salaryNet(salary)
                } else if kind < 85 {
                    business = rng.int(50...800) * 10_000
                }
                let other = kind % 10 == 0 && isAdult ? rng.int(1...30) * 10_000 : 0
                let total = salaryNet + pensionNet + business + other
                // 所得控除 as the residents' tax counts them: 基礎控除 430,000; 社会保険料 about 15 % of a salary (健康保険,
                // 厚生年金, 雇用保険), 国民健康保険・国民年金 for the self-employed, 介護保険 from a pension.
                let deductions = IncomeDeductions(
                    medical: medical,
                    socialInsurance: salary * 15 / 100 + business * 12 / 100 + pension * 8 / 100,
                    lifeInsurance: total > 0 ? lifeInsurance : 0,
                    earthquakeInsurance: total > 0 ? earthquakeInsurance : 0,
                    spouse: family.spouse * 330_000,
                    dependents: family.general * 330_000 + family.specified * 450_000 + family.elderly * 380_000,
                    basic: 430_000)
                let dependents = family.count
                // 非課税 (均等割): 合計所得 at most 35万 × (1 + 扶養) + 10万 (+ 21万 with dependants), 新宿区's 1級地 rule;
                // 生活保護 and minors (under 18 on 1 January) with at most 135万 are 非課税 whatever the threshold.
                let minor = ageOnJan1 < 18 * 365
                let threshold = 450_000 + dependents * 350_000 + (dependents > 0 ? 210_000 : 0)
                let reason: NonTaxationDetail.Reason?
                if persona == .nonTaxed {
                    reason = .incomeBelowPerCapitaThreshold
                } else if persona == nil && publicAssistance && total <= 2_000_000 {
                    reason = .publicAssistance
                } else if minor && total <= 1_350_000 {
                    reason = .disabledMinorWidowSingleParent
                } else if total <= threshold {
                    reason = .incomeBelowPerCapitaThreshold
                } else {
                    reason = nil
                }
                let taxed = reason == nil
                let base = taxed ? max(0, total - deductions.total) / 1000 * 1000 : 0
                // 所得割 6 % (特別区民税・市町村民税) and 4 % (都民税・道府県民税), less the 調整控除 (2,500 at most: 1,500 and
                // 1,000) and a 住宅借入金等特別税額控除 where there is one, then rounded down to 100 yen.
                var cityIncome = base * 6 / 100
                var prefIncome = base * 4 / 100
                var credits = TaxCredits()
                if taxed {
                    let adjustmentCity = min(1_500, cityIncome)
                    let adjustmentPref = min(1_000, prefIncome)
                    credits.adjustment = adjustmentCity + adjustmentPref
                    cityIncome -= adjustmentCity
                    prefIncome -= adjustmentPref
                    let housingCity = min(cityIncome, housingLoan * 3 / 5)
                    let housingPref = min(prefIncome, housingLoan - housingLoan * 3 / 5)
                    credits.housingLoan = housingCity + housingPref
                    cityIncome -= housingCity
                    prefIncome -= housingPref
                }
                cityIncome = cityIncome / 100 * 100
                prefIncome = prefIncome / 100 * 100
                let cityPer = taxed ? 3_000 : 0
                let prefPer = taxed ? 1_000 : 0
                let forest = cityPer + prefPer > 0 && year >= 2024 ? 1_000 : 0
                if isAdult || persona != nil {
                    assessments.int(year)
                    assessments.text(idText)
                    assessments.text(taxed ? "taxed" : "non_taxed")
                    for v in [salary, salaryNet, pension, pensionNet, business, other, total, deductions.total] { assessments.int(v) }
                    assessments.int(dependents)
                    for v in [base, cityIncome, cityPer, prefIncome, prefPer] { assessments.int(v) }
                    let d = deductions
                    for v in [d.casualtyLoss, d.medical, d.socialInsurance, d.smallBusinessMutualAid, d.lifeInsurance,
                              d.earthquakeInsurance, d.widowOrSingleParent, d.workingStudent, d.disability, d.spouse,
                              d.spouseSpecial, d.dependents, d.basic] { assessments.int(v) }
                    for v in [family.spouse, family.general, family.specified, family.elderly, family.minor] { assessments.int(v) }
                    for v in [credits.adjustment, credits.dividend, credits.housingLoan, credits.donation, credits.foreignTax,
                              credits.dividendAndStockTransfer] { assessments.int(v) }
                    assessments.int(forest)
                    // Below every threshold both parts are 非課税.
                    assessments.int(taxed ? 0 : 1)
                    assessments.int(taxed ? 0 : 1)
                    if let reason { assessments.text(reason.rawValue) } else { assessments.empty() }
                    try assessments.endRow()
                }
                let annual = cityIncome + cityPer + prefIncome + prefPer + forest
                let latest = year == years.last!
                // levies.csv rows for this person and year, in key order (tax_item, notice_no, installment).
                func levy(_ item: String, installments: [(Int, SampleDate)], amount: Int) throws {
                    notice += 1
                    let noticeNo = "\(year)\(item)\(idText)\(notice)"
                    let n = installments.count
                    let each = amount / n / 100 * 100
                    for (k, (number, due)) in installments.enumerated() {
                        // The first installment takes the odd amount, as notices do.
                        let assessed = k == 0 ? amount - each * (n - 1) : each
                        let dueDay = dayNumber(due)
                        // Paid when due, and not before it falls due: a later installment is simply not due yet.
                        var paid = dueDay <= todayDay ? assessed : 0
                        var paidDay: Int? = paid > 0 ? dueDay - rng.int(0...20) : nil
                        var provisional = false
                        if persona == .unpaidPastDue, year == years[years.count - 2], item == "01", number == 3 {
                            paid = 0; paidDay = nil
                        }
                        if persona == .provisionalPayment, year == years[years.count - 2], item == "01", number == 4 {
                            paid = assessed; paidDay = todayDay - 2; provisional = true
                        }
                        levies.int(year)
                        levies.text(idText)
                        levies.text(item)
                        levies.text(noticeNo)
                        levies.int(number)
                        levies.int(assessed)
                        levies.int(paid)
                        levies.date(due)
                        if let paidDay { levies.date(date(min(paidDay, todayDay))) } else { levies.empty() }
                        levies.text(provisional ? "provisional" : "confirmed")
                        try levies.endRow()
                    }
                }
                let ordinaryDue = SampleSchedule.ordinary(year)
                let specialDue = SampleSchedule.special(year)
                let fixedAssetDue = [(1, SampleDate(y: year, m: 4, d: 30)), (2, SampleDate(y: year, m: 7, d: 31)),
                                     (3, SampleDate(y: year, m: 12, d: 25)), (4, SampleDate(y: year + 1, m: 2, d: 28))]
                let fixedAssetAmount = 40_000 + (id % 50) * 3_000
                if persona == .manyInstallments && latest {
                    // Residents' tax on the salary by 特別徴収 and on a side income by 普通徴収, and every other item.
                    try levy("01", installments: ordinaryDue, amount: 18_400)
                    try levy("02", installments: specialDue, amount: max(annual, 12_000))
                    if hasFixedAsset { try levy("03", installments: fixedAssetDue, amount: fixedAssetAmount) }
                    try levy("04", installments: [(0, SampleDate(y: year, m: 5, d: 31))], amount: vehicleClass.1)
                    try levy("05", installments: SampleSchedule.healthInsurance(year), amount: 162_300)
                } else {
                    let special = salary > 0 && persona != .unpaidPastDue && persona != .provisionalPayment && kind % 3 != 0
                    if annual > 0 && !special { try levy("01", installments: ordinaryDue, amount: annual) }
                    if annual > 0 && special { try levy("02", installments: specialDue, amount: annual) }
                    if hasFixedAsset { try levy("03", installments: fixedAssetDue, amount: fixedAssetAmount) }
                    if business > 0 && kind % 2 == 0 {
                        try levy("05", installments: (0..<8).map { k in
                            let m = (6 + k) % 12 + 1
                            return (k + 1, SampleDate(y: m >= 4 ? year : year + 1, m: m, d: LocalDate.daysIn(month: m, year: m >= 4 ? year : year + 1)))
                        }, amount: 80_000 + business / 10 / 100 * 100)
                    }
                }
                if hasVehicle && isAdult {
                    let due = LocalDate(year: year, month: 5, day: 31)!.dayNumber
                    let exempt = persona == nil && id % 97 == 0
                    let assessed = exempt ? 0 : vehicleClass.1
                    var paid = due <= todayDay ? assessed : 0
                    var paidDay: Int? = paid > 0 ? due - rng.int(0...25) : nil
                    var provisional = false
                    if latest && persona == .vehicleUnpaid { paid = 0; paidDay = nil }
                    if latest && persona == .vehicleProvisional { paid = assessed; paidDay = todayDay - 1; provisional = true }
                    // Paid before its due date where the demo needs the 継続検査用 certificate early in the year
                    // (April and May): people pay the vehicle tax early to take it to the inspection.
                    if latest && (persona == .ordinary || persona == .manyInstallments || persona == .motorcycle) && paid == 0 {
                        paid = assessed; paidDay = todayDay - 3
                    }
                    vehicles.text("V\(idText)")
                    vehicles.int(year)
                    vehicles.text(idText)
                    vehicles.text(vehicleClass.0)
                    vehicles.text(plate)
                    vehicles.text(chassis)
                    vehicles.int(assessed)
                    vehicles.int(paid)
                    if let paidDay { vehicles.date(date(min(paidDay, todayDay))) } else { vehicles.empty() }
                    vehicles.text(provisional ? "provisional" : "confirmed")
                    vehicles.int(exempt ? 1 : 0)
                    try vehicles.endRow()
                }
            }
        }

        var rows: [String: Int] = [:]
        var entries: [(String, Int, String)] = []
        for w in [residents, cards, restrictions, assessments, levies, vehicles] {
            let (n, sha) = try w.finish()
            rows[w.name] = n
            entries.append((w.name, n, sha))
        }
        let batchID = g.batchID ?? String(format: "%04d%02d%02d-01", today.y, today.m, today.d)
        var manifest = """
            {
              "batch_id": "\(batchID)",
              "municipality_code": "\(g.municipalityCode)",
              "extracted_at": "\(String(format: "%04d-%02d-%02d", today.y, today.m, today.d))T02:00:00+09:00",
              "encoding": "UTF-8",
              "format_version": 2,
              "files": {

            """
        manifest += entries.map { "    \"\($0.0)\": {\"rows\": \($0.1), \"sha256\": \"\($0.2)\"}" }.joined(separator: ",\n")
        manifest += "\n  }\n}\n"
        try Data(manifest.utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("manifest.json")))

        let summary = SampleBatchSummary(batchID: batchID, municipalityCode: g.municipalityCode, today: g.today.iso,
                                         fiscalYears: years, rows: rows, demoCards: demo)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(summary).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("demo-cards.json")))
        let md = SampleBatchGenerator.demoCardsMarkdown(summary)
        try Data(md.utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("demo-cards.md")))
        return summary
    }

    /// 給与所得: salary income after the employment income deduction (給与所得控除, 2020 table).
    static func salaryNet(_ income: Int) -> Int {
        let deduction: Int
        switch income {
        case ..<1_625_001: deduction = 550_000
        case ..<1_800_001: deduction = income * 40 / 100 - 100_000
        case ..<3_600_001: deduction = income * 30 / 100 + 80_000
        case ..<6_600_001: deduction = income * 20 / 100 + 440_000
        case ..<8_500_001: deduction = income * 10 / 100 + 1_100_000
        default: deduction = 1_950_000
        }
        return max(0, income - deduction)
    }
}

extension SampleBatchGenerator {
    /// `demo-cards.md`: the cards, then per card and fiscal year what Kofu answers for each certificate kind.
    public static func demoCardsMarkdown(_ summary: SampleBatchSummary) -> String {
        let kinds = CertificateKind.allCases
        var md = """
            # Demo cards for batch \(summary.batchID)

            Municipality \(summary.municipalityCode), generated for today = \(summary.today), fiscal years \(summary.fiscalYears.map(String.init).joined(separator: ", ")).
            Fictional people. Present `card_serial` to the kiosk API with a certificate kind and the fiscal year of a row
            below; 継続検査用 also needs the row's `vehicle_plate` (plates numbered 999 are on no one's file).
            交付 means Kofu answers 201 with the certificate; 拒否 CODE means 422 with that `error.code`.
            The same list is in `demo-cards.json` (for scripts and the DemoCards end-to-end test).

            ## Cards

            | case | card_serial | addressee_id | what it shows |
            |---|---|---|---|

            """
        for c in summary.demoCards {
            md += "| \(c.caseName) | `\(c.cardSerial)` | \(c.addresseeID) | \(c.description) |\n"
        }
        md += """

            ## What Kofu answers

            | case | card_serial | 年度 | \(kinds.map(\.title).joined(separator: " | ")) | vehicle_plate |
            |---|---|---|\(String(repeating: "---|", count: kinds.count))---|

            """
        for c in summary.demoCards {
            var years: [Int] = []
            for e in c.expectations where !years.contains(e.fiscalYear) { years.append(e.fiscalYear) }
            for year in years {
                let row = c.expectations.filter { $0.fiscalYear == year }
                let cells = kinds.map { kind in row.first { $0.kind == kind }.map { cell($0.outcome) } ?? "—" }
                let plate = row.first { $0.kind == .vehicleInspection }?.vehiclePlate.map { "`\($0)`" } ?? "—"
                md += "| \(c.caseName) | `\(c.cardSerial)` | \(year) (\(FiscalYear(year).japaneseLabel)) | "
                    + cells.joined(separator: " | ") + " | \(plate) |\n"
            }
        }
        return md
    }

    private static func cell(_ outcome: SampleDemoOutcome) -> String {
        switch outcome {
        case .issued: "交付"
        case .refused(let code): "拒否 \(code.rawValue)"
        }
    }
}
