import ArgumentParser
import Foundation
import KofuDomain
import KofuStorage

/// `kofu sample --people N --out DIR`: writes a realistic linkage batch (format 2) with every edge case, for demos
/// and tests.
struct SampleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Write a sample linkage batch (format 2, fictional people) and demo-cards.md/.json listing a card per edge case.")

    @Option(help: "How many people.")
    var people: Int = 1000

    @Option(help: "The batch directory to write.")
    var out: String

    @Option(help: "Random seed; the same seed gives the same batch.")
    var seed: UInt64 = 1

    @Option(help: "Today's date YYYY-MM-DD (default: today in Japan).")
    var today: String?

    @Option(help: "The municipality code (6 digits with check digit).")
    var municipality: String = "131041"

    @Option(help: "Fiscal years of tax data, ending with the current one.")
    var fiscalYears: Int = 4

    @Option(help: "The batch id (default: YYYYMMDD-01 of today).")
    var batchID: String?

    func run() async throws {
        var generator = SampleBatchGenerator(people: people, seed: seed, today: try TaxDataCommandSupport.date(today),
                                             municipalityCode: municipality)
        generator.fiscalYears = fiscalYears
        generator.batchID = batchID
        let started = Date()
        let summary = try generator.write(to: out)
        let seconds = Date().timeIntervalSince(started)
        print("wrote batch \(summary.batchID) to \(out): \(summary.totalRows) rows in \(String(format: "%.1f", seconds)) s")
        for (file, rows) in summary.rows.sorted(by: { $0.key < $1.key }) { print("  \(file): \(rows) rows") }
        print("demo cards: \((out as NSString).appendingPathComponent("demo-cards.md"))")
    }
}
