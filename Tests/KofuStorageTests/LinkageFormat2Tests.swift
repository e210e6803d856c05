import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// Edits of the format-2 fixture's assessments.csv by line and column name, and the position of a field,
/// computed from the header independently of the importer (assessments.csv has no quoted fields).
enum Format2Fixture {
    typealias F = LinkageBatchFixture

    static func lines(_ dir: String) throws -> [String] {
        String(decoding: try F.read(dir, "assessments.csv"), as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    }

    /// Sets field `column` of line `line` (1-based; line 1 is the header) and recomputes the manifest's digests.
    static func set(_ dir: String, line: Int, _ column: String, _ value: String) throws {
        var all = try lines(dir)
        let header = all[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var fields = all[line - 1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[try #require(header.firstIndex(of: column))] = value
        all[line - 1] = fields.joined(separator: ",")
        try F.write(dir, "assessments.csv", Array(all.joined(separator: "\n").utf8))
        try F.rewriteManifest(dir)
    }

    /// 1-based line and column (in characters) of field `column` on line `line`.
    static func position(_ dir: String, line: Int, _ column: String) throws -> (line: Int, column: Int) {
        let all = try lines(dir)
        let header = all[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let fields = all[line - 1].split(separator: ",", omittingEmptySubsequences: false)
        let index = try #require(header.firstIndex(of: column))
        return (line, fields[..<index].reduce(1) { $0 + $1.unicodeScalars.count + 1 })
    }
}

/// A format-2 row that breaks one of the format's cross-field rules (or a new column's own type).
enum Format2Bad: String, CaseIterable, CustomStringConvertible, Sendable {
    case deductionsDoNotAddUp, dependentsDoNotAddUp, spouseCountAboveOne, negativeDependentCount
    case taxedWithPerCapitaFlag, taxedWithIncomeLevyFlag, taxedWithReason
    case nonTaxedWithoutFlag, nonTaxedWithoutReason, unknownReason
    case forestTaxBefore2024, forestTaxWithoutPerCapita

    var description: String { rawValue }

    /// Breaks the format-2 fixture in `dir`; returns where and what the one problem is.
    func apply(_ dir: String) throws -> (line: Int, column: Int, message: String) {
        typealias X = Format2Fixture
        // Line 2: 101's taxed 2026 row; 3: its 2025 row; 4: its 2021 row (outside the window, still checked);
        // 5: addressee 7's non_taxed 2026 row.
        func broken(line: Int, _ column: String, _ value: String, at reported: String, _ message: String) throws -> (Int, Int, String) {
            try X.set(dir, line: line, column, value)
            let p = try X.position(dir, line: line, reported)
            return (p.line, p.column, message)
        }
        switch self {
        case .deductionsDoNotAddUp:
            return try broken(line: 2, "ded_medical", "2001", at: "deductions_total",
                              "deductions_total: not the sum of ded_casualty_loss … ded_basic (所得控除の内訳); the parts add up to more")
        case .dependentsDoNotAddUp:
            return try broken(line: 3, "dep_general", "0", at: "dependents",
                              "dependents: not the sum of dep_spouse … dep_minor (扶養の内訳); the parts add up to less")
        case .spouseCountAboveOne:
            return try broken(line: 3, "dep_spouse", "2", at: "dep_spouse", "dep_spouse: expected a whole number in 0...1")
        case .negativeDependentCount:
            return try broken(line: 3, "dep_minor", "-1", at: "dep_minor", "dep_minor: expected a whole number in 0...99")
        case .taxedWithPerCapitaFlag:
            return try broken(line: 2, "non_taxed_per_capita", "1", at: "non_taxed_per_capita",
                              "non_taxed_per_capita: 1 although status is taxed")
        case .taxedWithIncomeLevyFlag:
            return try broken(line: 3, "non_taxed_income_levy", "1", at: "non_taxed_income_levy",
                              "non_taxed_income_levy: 1 although status is taxed")
        case .taxedWithReason:
            return try broken(line: 2, "non_taxed_reason", "other", at: "non_taxed_reason",
                              "non_taxed_reason: given although status is taxed")
        case .nonTaxedWithoutFlag:
            try X.set(dir, line: 5, "non_taxed_income_levy", "0")
            return try broken(line: 5, "non_taxed_per_capita", "0", at: "non_taxed_per_capita",
                              "non_taxed_per_capita: 0 and non_taxed_income_levy 0 although status is non_taxed; at least one part (均等割, 所得割) is 非課税")
        case .nonTaxedWithoutReason:
            return try broken(line: 5, "non_taxed_reason", "", at: "non_taxed_reason",
                              "non_taxed_reason: empty although status is non_taxed")
        case .unknownReason:
            return try broken(line: 5, "non_taxed_reason", "poor", at: "non_taxed_reason",
                              "non_taxed_reason: expected one of public_assistance, disabled_minor_widow_single_parent, "
                                + "income_below_per_capita_threshold, income_below_income_levy_threshold, other, or nothing")
        case .forestTaxBefore2024:
            return try broken(line: 4, "forest_environment_tax", "1000", at: "forest_environment_tax",
                              "forest_environment_tax: above 0 for a fiscal year before 2024, when 森林環境税 began")
        case .forestTaxWithoutPerCapita:
            return try broken(line: 5, "forest_environment_tax", "1000", at: "forest_environment_tax",
                              "forest_environment_tax: above 0 although the 均等割 (city_per_capita, pref_per_capita) is 0")
        }
    }
}

@Suite("Linkage format 2")
struct LinkageFormat2Tests {
    typealias F = LinkageBatchFixture

    /// The format-2 fixture as batch `id`, extracted on 2026-11-`day`.
    static func format2Batch(_ id: String, day: Int = 22) throws -> String {
        let dir = try F.copy("good_format2")
        try F.rewriteManifest(dir, fields: ["batch_id": id, "extracted_at": "2026-11-\(day)T02:00:00+09:00"])
        return dir
    }

    static let taroTaxed2026 = Assessment(
        fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), status: .taxed, salaryIncome: 5_000_000,
        salaryNet: 3_560_000, pensionIncome: 0, pensionNet: 0, businessNet: 0, otherNet: 12_000, totalIncome: 3_572_000,
        deductionsTotal: 1_180_000, dependents: 15, taxableBase: 2_392_000, cityIncomeLevy: 143_500, cityPerCapita: 3_000,
        prefIncomeLevy: 95_600, prefPerCapita: 1_000,
        deductions: IncomeDeductions(casualtyLoss: 1_000, medical: 2_000, socialInsurance: 660_000, smallBusinessMutualAid: 3_000,
                                     lifeInsurance: 28_000, earthquakeInsurance: 5_000, widowOrSingleParent: 6_000,
                                     workingStudent: 7_000, disability: 8_000, spouse: 9_000, spouseSpecial: 10_000,
                                     dependents: 11_000, basic: 430_000),
        dependentsBreakdown: DependentsBreakdown(spouse: 1, general: 2, specified: 3, elderly: 4, minor: 5),
        taxCredits: TaxCredits(adjustment: 2_500, dividend: 100, housingLoan: 97_500, donation: 2_000, foreignTax: 300,
                               dividendAndStockTransfer: 400),
        forestEnvironmentTax: 1_000, nonTaxation: nil)

    @Test("a format-2 batch round-trips every new field", arguments: StorageTestSupport.backends)
    func roundTrip(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try Self.format2Batch("20261122-01")
            defer { F.remove(dir) }
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.files.first { $0.file == "assessments.csv" }?.rows == 3)
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.assessment(for: id("000000000101"), year: FiscalYear(2026)) == Self.taroTaxed2026)
            let y2025 = try #require(try await store.assessment(for: id("000000000101"), year: FiscalYear(2025)))
            #expect(y2025.deductions == IncomeDeductions(socialInsurance: 720_000, basic: 430_000))
            #expect(y2025.dependentsBreakdown == DependentsBreakdown(general: 1))
            #expect(y2025.taxCredits == TaxCredits(adjustment: 2_500))
            #expect(y2025.forestEnvironmentTax == 1_000)
            #expect(y2025.nonTaxation == nil)
            let jiro = try #require(try await store.assessment(for: id("7"), year: FiscalYear(2026)))
            #expect(jiro.status == .nonTaxed)
            #expect(jiro.nonTaxation == NonTaxationDetail(perCapitaExempt: true, incomeLevyExempt: true, reason: .incomeBelowPerCapitaThreshold))
            #expect(jiro.deductions == IncomeDeductions(basic: 430_000))
            #expect(jiro.dependentsBreakdown == DependentsBreakdown())
            #expect(jiro.taxCredits == TaxCredits())
            #expect(jiro.forestEnvironmentTax == 0)
            // The holder read of a kiosk request gets them too.
            let holder = try await store.holder(cardSerial: "00AB12CD34EF", kind: .incomeTaxation, year: FiscalYear(2026))
            #expect(holder.assessment == Self.taroTaxed2026)
        }
    }

    @Test("each exemption flag and every reason code reads back as sent", arguments: StorageTestSupport.backends)
    func flagsAndReasons(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let store = SQLTaxDataStore(database: t.database)
            for (n, reason) in NonTaxationDetail.Reason.allCases.enumerated() {
                let dir = try Self.format2Batch("20261122-\(10 + n)", day: 10 + n)
                defer { F.remove(dir) }
                // Only the 所得割 exempt on even runs, both on odd ones.
                try Format2Fixture.set(dir, line: 5, "non_taxed_per_capita", n % 2 == 0 ? "0" : "1")
                try Format2Fixture.set(dir, line: 5, "non_taxed_reason", reason.rawValue)
                _ = try await importer(t.database).importBatch(at: dir)
                let detail = try await store.assessment(for: id("7"), year: FiscalYear(2026))?.nonTaxation
                #expect(detail == NonTaxationDetail(perCapitaExempt: n % 2 == 1, incomeLevyExempt: true, reason: reason))
            }
        }
    }

    @Test("a format-1 batch still imports, its assessments without the format-2 fields; formats alternate on one database",
          arguments: StorageTestSupport.backends)
    func formatOneStillImports(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let store = SQLTaxDataStore(database: t.database)
            func taro() async throws -> Assessment { try #require(try await store.assessment(for: id("000000000101"), year: FiscalYear(2026))) }
            func format1(_ batch: String, day: Int, explicit: Bool) throws -> String {
                let dir = try F.copy("good")
                var fields: [String: Any] = ["batch_id": batch, "extracted_at": "2026-11-\(day)T02:00:00+09:00"]
                if explicit { fields["format_version"] = 1 }
                try F.rewriteManifest(dir, fields: fields)
                return dir
            }
            // Format 1 (no format_version), then 2, then 1 again (format_version: 1): each replaces the data set
            // whole, the new columns included.
            let first = try format1("20261120-01", day: 20, explicit: false)
            defer { F.remove(first) }
            _ = try await importer(t.database).importBatch(at: first)
            let old = try await taro()
            #expect(old.deductions == nil && old.dependentsBreakdown == nil && old.taxCredits == nil)
            #expect(old.forestEnvironmentTax == nil && old.nonTaxation == nil)
            #expect(old.deductionsTotal == 1_180_000 && old.dependents == 1)
            #expect(try await store.assessment(for: id("7"), year: FiscalYear(2026))?.nonTaxation == nil)

            let second = try Self.format2Batch("20261121-01", day: 21)
            defer { F.remove(second) }
            _ = try await importer(t.database).importBatch(at: second)
            #expect(try await taro() == Self.taroTaxed2026)

            let third = try format1("20261122-01", day: 22, explicit: true)
            defer { F.remove(third) }
            _ = try await importer(t.database).importBatch(at: third)
            #expect(try await taro() == old)
        }
    }

    @Test("a format-2 rule broken is refused with file:line:column, and nothing changes",
          arguments: StorageTestSupport.backends, Format2Bad.allCases)
    func refused(_ backend: TestBackend, _ bad: Format2Bad) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let baseline = try Self.format2Batch("20261121-01", day: 21)
            defer { F.remove(baseline) }
            _ = try await importer(t.database).importBatch(at: baseline)
            let dir = try Self.format2Batch("20261122-01")
            defer { F.remove(dir) }
            let expected = try bad.apply(dir)
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == ["assessments.csv:\(expected.line):\(expected.column): \(expected.message)"])
        }
    }

    @Test("format_version other than 1 or 2 is refused at its position in manifest.json",
          arguments: ["3", "0", "\"2\"", "true", "2.5", "null"])
    func badVersion(_ written: String) async throws {
        let values: [String: Any] = ["3": 3, "0": 0, "\"2\"": "2", "true": true, "2.5": 2.5, "null": NSNull()]
        let dir = try Self.format2Batch("20261122-01")
        defer { F.remove(dir) }
        try F.rewriteManifest(dir, fields: ["format_version": values[written]!])
        let text = String(decoding: try F.read(dir, "manifest.json"), as: UTF8.self)
        #expect(text.contains(written), "the manifest writes \(written)")
        let p = try F.position(of: "\"format_version\"", in: dir, "manifest.json")
        try await StorageTestSupport.withDatabase(.sqlite) { t in
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == ["manifest.json:\(p.line):\(p.column): format_version: expected 1 or 2 (absent means 1)"])
        }
    }

    @Test("a format-2 manifest with a format-1 assessments.csv names the first missing column", arguments: StorageTestSupport.backends)
    func formatTwoNeedsEveryColumn(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try Self.format2Batch("20261122-01")
            defer { F.remove(dir) }
            let good = try F.copy("good")
            defer { F.remove(good) }
            try F.write(dir, "assessments.csv", try F.read(good, "assessments.csv"))
            try F.rewriteManifest(dir)
            let rejection = try await expectRefused(t.database, dir)
            let missing = rejection.problems.filter { $0.file == "assessments.csv" }.map(\.description)
            #expect(missing.first == "assessments.csv:1:1: missing required column ded_casualty_loss")
            #expect(missing.count == 28)
            #expect(missing.last == "assessments.csv:1:1: missing required column non_taxed_reason")
        }
    }
}
