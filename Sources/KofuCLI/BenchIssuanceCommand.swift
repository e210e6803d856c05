import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuServer
import KofuStorage

/// `kofu bench issuance`: the kiosk issuance cycle (issue with the PDF in the answer, then `delivered`)
/// run in-process against `IssuanceService` — eligibility, ledger, numbers, seal, rendering, spool, wipe —
/// with the audit log on and off, alternating, on a fresh installation with a sample batch. No HTTP: this is
/// the server's own cost, and the audit share of it (issue #6: at most 10 %). `scripts/bench-http.sh`
/// measures the same cycle over HTTP.
struct BenchIssuanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issuance",
        abstract: "Measure issuances/s in-process, audit log on vs off, on a scratch installation.")

    @Option(help: "People in the generated sample batch.") var people = 5_000
    @Option(help: "Issuance cycles per run.") var count = 1_000
    @Option(help: "Concurrent kiosk requests in flight.") var concurrency = 32
    @Option(help: "Rounds; each round runs audit on, then audit off.") var rounds = 2
    @OptionGroup var scratch: ScratchPostgresOption
    @Option(help: "Configuration file for templates, fonts and municipality (default: KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-bench-issuance-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var environment = ProcessInfo.processInfo.environment
        environment["KOFU_DATA_DIR"] = dir
        environment["KOFU_ISSUANCE_SERVICE_HOURS"] = "00:00-24:00"
        environment["KOFU_ISSUANCE_CLOSED_DAYS"] = ""
        // Every request waits its turn here: this measures throughput, not shedding.
        environment["KOFU_ISSUANCE_MAX_WAITING"] = String(max(concurrency, 32))
        environment["KOFU_ISSUANCE_MAX_QUEUE_WAIT_MS"] = "600000"
        try await ScratchPostgres.with(server: scratch.postgres) { databaseURL in
            if let databaseURL { environment["KOFU_DATABASE_URL"] = databaseURL }
            try await bench(try KofuConfiguration.load(environment: environment, file: config), dir: dir)
        }
    }

    private func bench(_ configuration: KofuConfiguration, dir: String) async throws {
        // The installation: a seal key, a sample batch for today, imported.
        let today = LocalDate.todayInJapan()
        _ = try SealKeyInstall.install(settings: try configuration.sealSettings(), municipality: configuration.municipality.code,
                                       validFrom: today, replace: false)
        let summary = try await SampleInstallation.load(configuration, people: people, seed: 11, today: today,
                                                        batchDirectory: (dir as NSString).appendingPathComponent("batch"))
        let year = summary.fiscalYears.max()!
        let location: DatabaseLocation = configuration.databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: configuration.sqlitePath)
        let database = try await KofuDatabase.open(location)
        let residents = try await database.issuableResidents(limit: max(count, 1), year: year, today: today)
        await database.close()
        guard !residents.isEmpty else { throw ValidationError("the sample batch has no issuable resident") }
        print("installation: \(people) people, \(residents.count) issuable cards, fiscal year \(year), "
              + (configuration.databaseURL == nil ? "SQLite" : "PostgreSQL"))

        var results: [Bool: [Run]] = [:]
        for round in 0..<rounds {
            for audit in [true, false] {
                let run = try await measure(configuration, audit: audit, residents: residents, year: year, tag: "R\(round)\(audit ? "A" : "N")")
                results[audit, default: []].append(run)
                print(String(format: "round %d audit %@: %d cycles in %.2f s = %.1f issuances/s, latency p50 %.1f ms p99 %.1f ms, CPU %.2f ms/issuance",
                             round + 1, audit ? "on " : "off", run.cycles, run.seconds, run.perSecond, run.p50, run.p99, run.cpuPerCycle))
            }
        }
        let on = results[true]!.map(\.perSecond).reduce(0, +) / Double(rounds)
        let off = results[false]!.map(\.perSecond).reduce(0, +) / Double(rounds)
        let cpuOn = results[true]!.map(\.cpuPerCycle).reduce(0, +) / Double(rounds)
        let cpuOff = results[false]!.map(\.cpuPerCycle).reduce(0, +) / Double(rounds)
        print(String(format: "mean: audit on %.1f issuances/s, off %.1f issuances/s; audit costs %.1f %% of throughput, %.1f %% more CPU per issuance",
                     on, off, (off - on) / off * 100, (cpuOn - cpuOff) / cpuOff * 100))
    }

    struct Run {
        var cycles: Int
        var seconds: Double
        var p50: Double
        var p99: Double
        var cpuPerCycle: Double
        var perSecond: Double { Double(cycles) / seconds }
    }

    /// One run: `count` cycles with `concurrency` in flight, on services opened as `serve` opens them.
    private func measure(_ configuration: KofuConfiguration, audit: Bool, residents: [IssuableResident], year: Int,
                         tag: String) async throws -> Run {
        let services = try await KofuServices.open(configuration, auditEnabled: audit)
        let issuance = services.issuance
        let next = Ticket(limit: count)
        let cpuStart = ProcessCPU.seconds()
        let start = ContinuousClock.now
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var mine: [Double] = []
                    while let i = await next.take() {
                        let resident = residents[i % residents.count]
                        let body = #"{"request_id":"\#(tag)-\#(i)","card_serial":"\#(resident.cardSerial)","kind":"income_taxation","fiscal_year":\#(year),"terminal":{"store_chain":"7","store_id":"131041-0042","terminal_id":"K01"}}"#
                        let t0 = ContinuousClock.now
                        let issued = try await issuance.issue(try KioskIssueRequest(json: Array(body.utf8)), wantPDF: true)
                        guard issued.pdf != nil else { throw ValidationError("issuance \(i) returned no PDF") }
                        _ = try await issuance.delivered(id: issued.record.id)
                        mine.append((ContinuousClock.now - t0).seconds * 1000)
                    }
                    return mine
                }
            }
            var all: [Double] = []
            for try await part in group { all += part }
            return all.sorted()
        }
        let seconds = (ContinuousClock.now - start).seconds
        let cpu = ProcessCPU.seconds() - cpuStart
        await services.close()
        func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
        return Run(cycles: latencies.count, seconds: seconds, p50: percentile(0.5), p99: percentile(0.99),
                   cpuPerCycle: cpu * 1000 / Double(latencies.count))
    }
}

/// Hands out cycle numbers 0..<limit to the workers.
private actor Ticket {
    private var next = 0
    let limit: Int
    init(limit: Int) { self.limit = limit }
    func take() -> Int? {
        guard next < limit else { return nil }
        defer { next += 1 }
        return next
    }
}
