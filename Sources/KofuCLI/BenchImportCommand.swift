import ArgumentParser
import Foundation
import KofuDomain
import KofuStorage
import Logging

/// `kofu bench import --people N`: generates a batch, imports it into a fresh database and reports rows/s
/// and peak memory. Registered as the `import` subcommand of `kofu bench`.
struct BenchImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Benchmark the linkage import: generate a sample batch, import it, report rows/s and peak RSS.")

    @Option(help: "How many people in the generated batch.")
    var people: Int = 100_000

    @Option(help: "Use this batch directory instead of generating one (it is not deleted).")
    var batch: String?

    @Option(help: "A postgres:// URL of an empty database to import into (default: a fresh SQLite file).")
    var databaseURL: String?

    @Option(help: "Where the temporary batch and SQLite file go (default: the system temporary directory).")
    var workDir: String?

    @Flag(help: "Keep the generated batch and database.")
    var keep = false

    @Flag(help: "Log the import's phases (digests, each file, commit) with their times.")
    var phases = false

    func run() async throws {
        let today = LocalDate(year: 2026, month: 11, day: 22)!
        let work = (workDir ?? NSTemporaryDirectory()) + "/kofu-bench-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { if !keep { try? FileManager.default.removeItem(atPath: work) } }
        let batchDir: String
        var generated = 0.0
        if let batch {
            batchDir = batch
        } else {
            batchDir = work + "/batch"
            let t0 = Date()
            try SampleBatchGenerator(people: people, seed: 1, today: today).write(to: batchDir)
            generated = Date().timeIntervalSince(t0)
            print("generated \(people) people in \(String(format: "%.1f", generated)) s")
        }
        let location: DatabaseLocation = databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: work + "/kofu.sqlite")
        var logger = Logger(label: "kofu.bench")
        logger.logLevel = phases ? .debug : .info
        let database = try await KofuDatabase.open(location, logger: logger)
        try await Migrator.all.run(on: database)
        let rssBefore = Self.peakRSSMegabytes()
        let cpuBefore = ProcessCPU.seconds()
        let report: ImportReport
        do {
            report = try await LinkageImporter(database: database, municipalityCode: "131041",
                                               retention: RetentionWindow(years: 4, today: today)).importBatch(at: batchDir)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        let rows = report.totalRows
        print("imported \(rows) rows in \(String(format: "%.1f", report.durationSeconds)) s: "
              + "\(Int(Double(rows) / report.durationSeconds)) rows/s")
        for f in report.files { print("  \(f.file): \(f.rows) rows") }
        let cpu = ProcessCPU.seconds() - cpuBefore
        print("CPU time (user+system) of the import: \(String(format: "%.1f", cpu)) s = "
              + "\(Int(Double(rows) / max(cpu, 0.001))) rows per CPU-second")
        print("peak RSS: \(Self.peakRSSMegabytes()) MB (before import: \(rssBefore) MB)")
        if case .sqlite(let path) = location, let size = try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int {
            print("database file: \(size / 1_048_576) MB")
        }
    }

    /// VmHWM from /proc/self/status: the process's peak resident set.
    static func peakRSSMegabytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmHWM:") {
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
            return kb / 1024
        }
        return -1
    }
}
