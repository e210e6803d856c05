import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import SQLKit
import Testing

/// `kofu sample` writes linkage format 2 with data a tax clerk would recognise (issue 14).
@Suite("Sample batch: format 2 and realistic data")
struct LinkageSampleRealismTests {
    /// Generates and imports a sample batch for `municipality`; returns the summary.
    static func load(_ t: TestDatabase, municipality: String, people: Int = 400) async throws -> SampleBatchSummary {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        defer { LinkageBatchFixture.remove(dir) }
        let summary = try SampleBatchGenerator(people: people, seed: 42, today: fixtureToday, municipalityCode: municipality).write(to: dir)
        let manifest = String(decoding: try LinkageBatchFixture.read(dir, "manifest.json"), as: UTF8.self)
        #expect(manifest.contains("\"format_version\": 2"))
        let report = try await importer(t.database, municipality: municipality).importBatch(at: dir)
        #expect(report.totalRows == summary.totalRows)
        return summary
    }

    static func count(_ db: KofuDatabase, _ sql: String) async throws -> Int {
        try await db.read { db in try await db.raw(SQLQueryString(sql)).first()?.decode(column: "n", as: Int.self) ?? -1 }
    }

    @Test("a ward (特別区) has no 固定資産税 levies, a city has", arguments: StorageTestSupport.backends)
    func wardHasNoFixedAssetTax(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            _ = try await Self.load(t, municipality: "131041")
            #expect(try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_levies WHERE tax_item = '03'") == 0)
            #expect(try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_levies WHERE tax_item = '02'") > 0)
        }
        try await StorageTestSupport.withDatabase(backend) { t in
            let summary = try await Self.load(t, municipality: "151009")
            #expect(try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_levies WHERE tax_item = '03'") > 0)
            let many = try #require(summary.demoCards.first { $0.caseName == "five_items_twelve_installments" })
            let levies = try await SQLTaxDataStore(database: t.database).levies(for: AddresseeID(many.addresseeID)!, year: FiscalYear(2026))
            #expect(Set(levies.map(\.taxItem)) == Set(TaxItem.allCases))
        }
    }

    @Test("特別徴収 runs June to May: 12 installments due the 10th of July … June; 普通徴収 4 due June, August, October, January",
          arguments: StorageTestSupport.backends)
    func installmentSchedules(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            _ = try await Self.load(t, municipality: "131041")
            let rows = try await t.database.read { db in
                try await db.raw("SELECT fiscal_year, tax_item, notice_no, installment, due_date, paid FROM tax_levies WHERE tax_item IN ('01', '02')").all()
            }
            var notices: [String: [Int]] = [:]
            for row in rows {
                let year = try row.decode(column: "fiscal_year", as: Int.self)
                let item = try row.decode(column: "tax_item", as: String.self)
                let k = try row.decode(column: "installment", as: Int.self)
                let due = try row.decode(column: "due_date", as: String.self)
                notices[try row.decode(column: "notice_no", as: String.self), default: []].append(k)
                let expected: String
                if item == "02" {
                    // Installment k is June's (k = 1) … May's (k = 12) deduction, due the 10th of the next month.
                    let month = (6 + k - 1) % 12 + 1
                    expected = String(format: "%04d-%02d-10", month >= 7 ? year : year + 1, month)
                } else {
                    expected = ["", "\(year)-06-30", "\(year)-08-31", "\(year)-10-31", "\(year + 1)-01-31"][k]
                }
                #expect(due == expected, "\(item) installment \(k) of \(year)")
            }
            #expect(!rows.isEmpty)
            for (notice, installments) in notices {
                let n = notice.dropFirst(4).hasPrefix("02") ? 12 : 4
                #expect(installments.sorted() == Array(1...n), "\(notice)")
            }
            // Nothing is paid before it falls due (the vehicle tax aside, which vehicles.csv carries).
            #expect(try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_levies WHERE due_date > '2026-11-22' AND paid > 0") == 0)
        }
    }

    @Test("assessments carry plausible format-2 breakdowns", arguments: StorageTestSupport.backends)
    func plausibleBreakdowns(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let summary = try await Self.load(t, municipality: "131041")
            let store = SQLTaxDataStore(database: t.database)
            let ids = try await t.database.read { db in
                try await db.raw("SELECT addressee_id, fiscal_year FROM tax_assessments").all().map {
                    (try $0.decode(column: "addressee_id", as: String.self), try $0.decode(column: "fiscal_year", as: Int.self))
                }
            }
            var taxed = 0, adjusted = 0, nonTaxed = 0
            for (addressee, year) in ids {
                let a = try #require(try await store.assessment(for: AddresseeID(addressee)!, year: FiscalYear(year)))
                let d = try #require(a.deductions)
                let family = try #require(a.dependentsBreakdown)
                #expect(d.total == a.deductionsTotal)
                #expect(d.basic == 430_000)
                #expect(family.spouse + family.general + family.specified + family.elderly + family.minor == a.dependents)
                #expect(d.spouse == family.spouse * 330_000)
                #expect(d.dependents == family.general * 330_000 + family.specified * 450_000 + family.elderly * 380_000)
                if a.salaryIncome > 0 { #expect(d.socialInsurance >= a.salaryIncome * 15 / 100) }
                let perCapita = a.cityPerCapita + a.prefPerCapita
                #expect(a.forestEnvironmentTax == (year >= 2024 && perCapita > 0 ? 1_000 : 0))
                if a.status == .taxed {
                    taxed += 1
                    if a.taxCredits?.adjustment == 2_500 { adjusted += 1 }
                    #expect(a.nonTaxation == nil)
                } else {
                    nonTaxed += 1
                    let detail = try #require(a.nonTaxation)
                    #expect(detail.perCapitaExempt || detail.incomeLevyExempt)
                }
            }
            #expect(taxed > 100 && nonTaxed > 10)
            #expect(adjusted * 10 >= taxed * 8, "調整控除 2,500 for most taxed people: \(adjusted) of \(taxed)")
            // The demo's non-taxed person says why.
            let nonTaxedCard = try #require(summary.demoCards.first { $0.caseName == "non_taxed" })
            let detail = try await store.assessment(for: AddresseeID(nonTaxedCard.addresseeID)!, year: FiscalYear(2026))?.nonTaxation
            #expect(detail == NonTaxationDetail(perCapitaExempt: true, incomeLevyExempt: true, reason: .incomeBelowPerCapitaThreshold))
        }
    }

    @Test("the rollover erases old years' format-2 assessments like the rest and leaves the kept ones whole",
          arguments: StorageTestSupport.backends)
    func rollover(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
            defer { LinkageBatchFixture.remove(dir) }
            var generator = SampleBatchGenerator(people: 60, seed: 7, today: fixtureToday)
            generator.fiscalYears = 6
            try generator.write(to: dir)
            _ = try await importer(t.database, years: 6).importBatch(at: dir)
            let old = "SELECT COUNT(*) AS n FROM tax_assessments WHERE fiscal_year < 2023"
            #expect(try await Self.count(t.database, old + " AND ded_basic IS NOT NULL") > 0)
            let kept = try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_assessments WHERE fiscal_year >= 2023")
            _ = try await TaxDataRollover(database: t.database, retention: RetentionWindow(years: 4, today: fixtureToday)).run()
            #expect(try await Self.count(t.database, old) == 0)
            #expect(try await Self.count(t.database, "SELECT COUNT(*) AS n FROM tax_assessments WHERE ded_basic IS NOT NULL "
                + "AND forest_environment_tax IS NOT NULL AND non_taxed_per_capita IS NOT NULL") == kept)
        }
    }

    @Test("the demo set has an everything-paid-so-far person, one without levies, and vehicles with and without 車検",
          arguments: StorageTestSupport.backends)
    func demoPeople(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let summary = try await Self.load(t, municipality: "131041")
            let store = SQLTaxDataStore(database: t.database)
            func person(_ name: String) throws -> AddresseeID {
                AddresseeID(try #require(summary.demoCards.first { $0.caseName == name }, "\(name)").addresseeID)!
            }
            let latest = FiscalYear(2026)
            // Everything due so far is paid; the later installments are simply not due yet.
            let ordinary = try await store.levies(for: try person("ordinary"), year: latest)
            #expect(ordinary.filter { $0.dueDate <= fixtureToday }.allSatisfy { $0.paid == $0.assessed && $0.paidDate != nil })
            let notYetDue = ordinary.filter { $0.dueDate > fixtureToday }
            let untouched = notYetDue.allSatisfy { levy in levy.paid == 0 && levy.paidDate == nil }
            #expect(!notYetDue.isEmpty)
            #expect(untouched, "\(notYetDue.map { "\($0.installment) \($0.paid) \(String(describing: $0.paidDate))" })")
            let family = try await store.assessment(for: try person("ordinary"), year: latest)?.dependentsBreakdown
            #expect(family == DependentsBreakdown(spouse: 1, specified: 1, minor: 1))
            // The restricted and the gone are adults with a tax record, which the counter looks up.
            for name in ["support_measure", "issuance_stop", "counter_only", "moved_out", "deceased", "moved_in_today"] {
                #expect(try await store.assessment(for: try person(name), year: latest) != nil, "\(name)")
            }
            // No levies at all in the year: the 「課税なし」 納税証明書.
            #expect(try await store.levies(for: try person("non_taxed"), year: latest).isEmpty)
            // A 軽四輪 (車検) and a 125–250cc 二輪 (no 車検).
            #expect(try await store.vehicles(for: try person("ordinary"), year: latest).map(\.vehicleClass) == ["軽四輪乗用(自家用)"])
            let bike = try await store.vehicles(for: try person("motorcycle_125_250cc"), year: latest)
            #expect(bike.map(\.vehicleClass) == ["二輪(125cc超250cc以下)"])
            #expect(bike.allSatisfy { $0.paid == $0.assessed && $0.paymentStatus == .confirmed })
        }
    }
}
