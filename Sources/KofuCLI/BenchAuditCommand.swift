import ArgumentParser
import Foundation
import KofuCrypto
import KofuStorage
import SQLKit

/// `kofu bench audit`: how many audit entries per second `AuditLog.record` commits, sequentially and with
/// many concurrent callers (group commit), on a scratch database; with anchors outside the database as the
/// server writes them, and how long verifying with them takes.
struct BenchAuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Measure AuditLog.record throughput (entries/s) on a scratch database.")

    @Option(help: "Entries per run.") var count = 20_000
    @Option(help: "Concurrent callers for the group-commit run.") var concurrency = 64
    @Option(help: "Anchor every this many entries, as audit.anchor_interval (0: no anchors).") var anchorInterval = 100
    @OptionGroup var scratch: ScratchPostgresOption

    func run() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-bench-audit-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await ScratchPostgres.with(server: scratch.postgres) { databaseURL in
            try await bench(databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: dir + "/kofu.sqlite"))
        }
    }

    private func bench(_ location: DatabaseLocation) async throws {
        let db = try await KofuDatabase.open(location)
        try await Migrator.all.run(on: db)
        let anchorFile = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-bench-anchors-\(UUID().uuidString).jsonl").path
        defer { try? FileManager.default.removeItem(atPath: anchorFile) }
        let anchors = anchorInterval > 0
            ? AuditAnchorer(key: AuditAnchorKey(privateKey: try ECDSAP256.PrivateKey.generate()), file: anchorFile, node: "bench", interval: anchorInterval)
            : nil
        let log = AuditLog(database: db, signer: HMACCheckpointSigner(key: Array(repeating: 1, count: 32)), checkpointInterval: 1000,
                           anchors: anchors)
        func event(_ i: Int) -> AuditEvent {
            AuditEvent(actor: .kioskCenter, action: .kioskIssue, object: .certificate("B-\(i)"), reason: "ok")
        }

        let sequential = max(1, count / 20)
        var start = ContinuousClock.now
        for i in 0..<sequential { try await log.record(event(i)) }
        let seqSeconds = (ContinuousClock.now - start).seconds
        print("sequential: \(sequential) entries in \(String(format: "%.2f", seqSeconds)) s = \(Int(Double(sequential) / seqSeconds)) entries/s")

        start = ContinuousClock.now
        let perTask = count / concurrency
        try await withThrowingTaskGroup(of: Void.self) { group in
            for t in 0..<concurrency {
                group.addTask {
                    for i in 0..<perTask { try await log.record(event(t * perTask + i)) }
                }
            }
            try await group.waitForAll()
        }
        let conSeconds = (ContinuousClock.now - start).seconds
        let total = perTask * concurrency
        print("concurrent (\(concurrency) callers): \(total) entries in \(String(format: "%.2f", conSeconds)) s = \(Int(Double(total) / conSeconds)) entries/s")

        try await log.close()

        start = ContinuousClock.now
        let anchorSet = try anchors.map { try AuditAnchorSet.read(files: [$0.file], trustedKeys: [$0.key.publicKey]) }
        let readSeconds = (ContinuousClock.now - start).seconds
        let result = try await AuditVerifier(database: db, signer: HMACCheckpointSigner(key: Array(repeating: 1, count: 32)),
                                             anchors: anchorSet).verify()
        let verifySeconds = (ContinuousClock.now - start).seconds
        print("verify: \(result.entriesChecked) entries and \(result.anchorsChecked) anchors in \(String(format: "%.2f", verifySeconds)) s "
              + "(reading and checking the anchors' signatures: \(String(format: "%.2f", readSeconds)) s), intact: \(result.isIntact)")
        await db.close()
        if !result.isIntact { throw ExitCode(1) }
    }
}
