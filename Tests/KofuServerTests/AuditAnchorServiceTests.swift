import Foundation
import KofuCrypto
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import Logging
import ServiceLifecycle
import Testing

@Suite("Audit anchor service")
struct AuditAnchorServiceTests {
    @Test("the server anchors a moved head every period, even below the entry interval, and once more when it stops",
          arguments: StorageTestSupport.backends)
    func anchorsOnItsPeriod(_ backend: TestBackend) async throws {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-anchor-service")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try await StorageTestSupport.withDatabase(backend) { t in
            let anchors = AuditAnchorer(key: AuditAnchorKey(privateKey: try ECDSAP256.PrivateKey.generate()),
                                        file: dir + "/anchors.jsonl", node: "n", interval: 1000)
            let log = AuditLog(database: t.database, anchors: anchors)
            // Every period while the head moves, though far fewer entries than the interval were written.
            let ticking = ServiceGroup(services: [AuditAnchorService(audit: log, period: .milliseconds(50))], logger: Logger(label: "test"))
            let running = Task { try await ticking.run() }
            for _ in 0..<3 { try await log.record(AuditEvent(actor: .system, action: .rollover)) }
            for _ in 0..<100 where anchors.lastAnchor?.seq != 3 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(anchors.lastAnchor?.seq == 3)
            await ticking.triggerGracefulShutdown()
            try await running.value

            // With an hour's period, the entry written meanwhile is anchored when the service stops (SIGTERM
            // ends the wait with a graceful shutdown).
            let hourly = ServiceGroup(services: [AuditAnchorService(audit: log, period: .seconds(3600))], logger: Logger(label: "test"))
            let second = Task { try await hourly.run() }
            try await Task.sleep(for: .milliseconds(200))
            try await log.record(AuditEvent(actor: .system, action: .rollover))
            await hourly.triggerGracefulShutdown()
            try await second.value
            #expect(anchors.lastAnchor?.seq == 4)
            let seqs = try String(contentsOfFile: anchors.file, encoding: .utf8).split(separator: "\n").compactMap { AuditAnchor(jsonLine: Array($0.utf8))?.seq }
            #expect(seqs.last == 4 && seqs.contains(3) && seqs == seqs.sorted() && Set(seqs).count == seqs.count)
        }
    }
}
