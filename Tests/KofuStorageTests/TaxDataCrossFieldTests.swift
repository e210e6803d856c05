import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// A row whose fields are each valid but which a tax clerk would not accept as a whole.
enum CrossFieldBatch: String, CaseIterable, CustomStringConvertible, Sendable {
    case paidAboveAssessed, vehiclePaidAboveAssessed, paidWithoutDate, paidDateWithoutPayment, paidDateAfterExtraction
    case dueBeforeFiscalYear, dueTooLate, installmentGap, installmentZeroWithNumbers, restrictionEndsBeforeStart
    case salaryNetAboveIncome, taxableBaseAboveTotalIncome, nonTaxedWithLevy

    var description: String { rawValue }

    /// Breaks the good fixture in `dir`; returns the one problem that must be reported.
    func apply(_ dir: String) throws -> (file: String, line: Int, column: Int, message: String) {
        typealias F = LinkageBatchFixture
        func edit(_ file: String, _ old: String, _ new: String, at needle: String, offset: Int = 0) throws -> (String, Int, Int) {
            try F.replace(dir, file, old, with: new)
            let p = try F.position(of: needle, in: dir, file)
            return (file, p.line, p.column + offset)
        }
        let result: ((String, Int, Int), String)
        switch self {
        case .paidAboveAssessed:
            // The probe's 999,999,999 paid on a smaller tax.
            result = (try edit("levies.csv", "61100,61100,", "61100,999999999,", at: "999999999"),
                      "paid: more than assessed (納付済額 above 税額")
        case .vehiclePaidAboveAssessed:
            result = (try edit("vehicles.csv", "10800,10800,2026-05-20", "10800,10801,2026-05-20", at: "10801"),
                      "paid: more than assessed")
        case .paidWithoutDate:
            result = (try edit("levies.csv", "2026-06-30,2026-06-28,", "2026-06-30,,", at: "2026-06-30,,", offset: 11),
                      "paid_date: empty although paid is above 0")
        case .paidDateWithoutPayment:
            result = (try edit("levies.csv", "60000,0,2026-10-31,,", "60000,0,2026-10-31,2026-10-30,", at: "2026-10-30"),
                      "paid_date: given although paid is 0")
        case .paidDateAfterExtraction:
            // The batch is extracted 2026-11-22 (Japan): a payment of the 23rd cannot be in it.
            result = (try edit("levies.csv", "2026-06-28", "2026-11-23", at: "2026-11-23"),
                      "paid_date: after the batch's extraction date")
        case .dueBeforeFiscalYear:
            result = (try edit("levies.csv", "10800,10800,2026-05-31", "10800,10800,2026-03-31", at: "2026-03-31"),
                      "due_date: outside fiscal year 2026's range 2026-04-01 to 2028-03-31")
        case .dueTooLate:
            result = (try edit("levies.csv", "60000,0,2026-10-31", "60000,0,2028-04-01", at: "2028-04-01"),
                      "due_date: outside fiscal year 2026's range")
        case .installmentGap:
            // Installment 2 of notice N2026-0001 is missing: 1 and 3 remain.
            try F.replace(dir, "levies.csv", "2026,000000000101,01,N2026-0001,2,60000,60000,2026-08-31,2026-08-31,provisional\n", with: "")
            try F.rewriteManifest(dir, rows: ["levies.csv": 4])
            let p = try F.position(of: "N2026-0001,1", in: dir, "levies.csv")
            result = (("levies.csv", p.line, p.column + 11), "installment: this notice has installments 1, 3 but not 2; installments run 1 to n without gaps")
        case .installmentZeroWithNumbers:
            var text = String(decoding: try F.read(dir, "levies.csv"), as: UTF8.self)
            text += "2026,000000000101,04,N2026-0002,1,100,100,2026-06-30,2026-06-01,confirmed\n"
            try F.write(dir, "levies.csv", Array(text.utf8))
            try F.rewriteManifest(dir, rows: ["levies.csv": 6])
            let p = try F.position(of: "N2026-0002,0", in: dir, "levies.csv")
            result = (("levies.csv", p.line, p.column + 11), "installment: this notice has installment 0 (全期/随時) and numbered installments (1); 0 stands alone")
        case .restrictionEndsBeforeStart:
            result = (try edit("restrictions.csv", "2024-01-01,2024-12-31", "2024-01-01,2023-12-31", at: "2023-12-31"),
                      "valid_to: before valid_from")
        case .salaryNetAboveIncome:
            result = (try edit("assessments.csv", "5000000,3560000,", "5000000,5000001,", at: "5000001"),
                      "salary_net: larger than salary_income")
        case .taxableBaseAboveTotalIncome:
            result = (try edit("assessments.csv", "3572000,1180000,1,2392000,", "3572000,1180000,1,3572001,", at: "3572001"),
                      "taxable_base: larger than total_income")
        case .nonTaxedWithLevy:
            // 非課税 with a 均等割: a 非課税証明書 would contradict its own numbers.
            result = (try edit("assessments.csv", "430000,0,0,0,0,0,0", "430000,0,0,0,1000,0,0", at: "430000,0,0,0,1000", offset: 13),
                      "city_per_capita: above 0 although status is non_taxed")
        }
        try F.rewriteManifest(dir)
        return (result.0.0, result.0.1, result.0.2, result.1)
    }
}

@Suite("Linkage import: cross-field checks")
struct TaxDataCrossFieldTests {
    @Test("a row a tax clerk would refuse is refused with file:line:column, and nothing changes",
          arguments: StorageTestSupport.backends, CrossFieldBatch.allCases)
    func refused(_ backend: TestBackend, _ bad: CrossFieldBatch) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            let expected = try bad.apply(dir)
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == ["\(expected.file):\(expected.line):\(expected.column): \(expected.message)"]
                    || (rejection.problems.count == 1 && rejection.problems[0].file == expected.file
                        && rejection.problems[0].line == expected.line && rejection.problems[0].column == expected.column
                        && rejection.problems[0].message.hasPrefix(expected.message)),
                    "expected \(expected.file):\(expected.line):\(expected.column): \(expected.message); got \(rejection.description)")
        }
    }

    @Test("a notice's installments may come in any order and be spread over the file", arguments: StorageTestSupport.backends)
    func installmentsInAnyOrder(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            let lines = String(decoding: try LinkageBatchFixture.read(dir, "levies.csv"), as: UTF8.self).split(separator: "\n")
            // Header, then installment 3, the vehicle-tax notice, 1, the old year's row, 2.
            let shuffled = [lines[0], lines[3], lines[4], lines[1], lines[5], lines[2]].joined(separator: "\n") + "\n"
            try LinkageBatchFixture.write(dir, "levies.csv", Array(shuffled.utf8))
            try LinkageBatchFixture.rewriteManifest(dir)
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.files.first { $0.file == "levies.csv" }?.rows == 4)
        }
    }
}
