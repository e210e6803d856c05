import Foundation
import KofuCrypto
import KofuStorage
import SQLKit
import Testing

@Suite("Audit log")
struct AuditLogTests {
    static let signer = HMACCheckpointSigner(key: Array(repeating: 7, count: 32))

    /// Records `count` entries concurrently and returns the log.
    func filled(_ db: KofuDatabase, count: Int = 10, interval: Int = 4, clock: ManualClock = ManualClock()) async throws -> AuditLog {
        let log = AuditLog(database: db, signer: Self.signer, checkpointInterval: interval, clock: clock.function)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<count {
                group.addTask {
                    try await log.record(AuditEvent(actor: .kioskCenter, action: .kioskIssue,
                                                    object: .certificate("C-\(i)"), reason: "ok"))
                }
            }
            try await group.waitForAll()
        }
        try await log.flush()
        return log
    }

    func verify(_ db: KofuDatabase) async throws -> AuditVerification {
        try await AuditVerifier(database: db, signer: Self.signer).verify()
    }

    @Test("an untouched log verifies, with every entry chained and checkpoints signed", arguments: AuditTestBackend.available)
    func intact(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let log = try await filled(db, count: 25)
            let result = try await verify(db)
            #expect(result.problems == [])
            #expect(result.entriesChecked == 25)
            #expect(result.checkpointsChecked >= 1)
            let entries = try await log.entries()
            #expect(entries.map(\.seq) == Array(1...25))
            #expect(entries.first?.prevHash == AuditChain.genesisHash)
            for (a, b) in zip(entries, entries.dropFirst()) { #expect(b.prevHash == a.hash) }
        }
    }

    @Test("a changed byte is found at its entry", arguments: AuditTestBackend.available)
    func changedByte(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            _ = try await filled(db)
            try await db.transaction { db in try await db.raw("UPDATE audit_log SET object = 'certificate:C-X' WHERE seq = 4").run() }
            let result = try await verify(db)
            #expect(result.problems.first?.seq == 4)
            #expect(result.problems.first?.kind == .altered)
        }
    }

    @Test("a deleted entry is found where the gap is", arguments: AuditTestBackend.available)
    func deleted(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            _ = try await filled(db)
            try await db.transaction { db in try await db.raw("DELETE FROM audit_log WHERE seq = 5").run() }
            let result = try await verify(db)
            #expect(result.problems.first?.seq == 6)
            #expect(result.problems.contains { $0.kind == .missing && $0.seq == 6 })
            #expect(result.problems.contains { $0.kind == .brokenLink && $0.seq == 6 })
        }
    }

    @Test("an inserted entry (renumbering the rest, with a correct hash of its own) is found right after it", arguments: AuditTestBackend.available)
    func inserted(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let log = try await filled(db)
            let before = try await log.entries()
            try await db.transaction { db in
                try await db.raw("UPDATE audit_log SET seq = -(seq + 1) WHERE seq >= 3").run()
                try await db.raw("UPDATE audit_log SET seq = -seq WHERE seq < 0").run()
                var forged = AuditEntry(seq: 3, at: before[2].at, actor: "clerk.a", action: "lookup", object: "addressee:1",
                                        outcome: "success", reason: "", prevHash: before[1].hash, hash: "")
                forged.hash = forged.expectedHash
                try await db.raw("INSERT INTO audit_log (seq, at, actor, action, object, outcome, reason, prev_hash, hash) VALUES (\(bind: forged.seq), \(bind: forged.at), \(bind: forged.actor), \(bind: forged.action), \(bind: forged.object), \(bind: forged.outcome), \(bind: forged.reason), \(bind: forged.prevHash), \(bind: forged.hash))").run()
            }
            let result = try await verify(db)
            #expect(!result.isIntact)
            #expect(result.problems.first?.seq == 4)
            #expect(result.problems.contains { $0.kind == .brokenLink && $0.seq == 4 })
        }
    }

    @Test("a reordered pair is found at the first of the two", arguments: AuditTestBackend.available)
    func reordered(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            _ = try await filled(db)
            try await db.transaction { db in
                try await db.raw("UPDATE audit_log SET seq = -1 WHERE seq = 3").run()
                try await db.raw("UPDATE audit_log SET seq = 3 WHERE seq = 4").run()
                try await db.raw("UPDATE audit_log SET seq = 4 WHERE seq = -1").run()
            }
            let result = try await verify(db)
            #expect(result.problems.first?.seq == 3)
            #expect(result.problems.contains { $0.kind == .brokenLink && $0.seq == 3 })
            #expect(result.problems.contains { $0.seq == 4 })
        }
    }

    @Test("entries removed or appended at the end are found against the recorded head", arguments: AuditTestBackend.available)
    func tail(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            _ = try await filled(db, count: 10, interval: 100)
            try await db.transaction { db in try await db.raw("DELETE FROM audit_log WHERE seq >= 9").run() }
            let result = try await verify(db)
            #expect(result.problems.map(\.kind) == [.headMismatch])
            #expect(result.problems.first?.seq == 8)
        }
    }

    @Test("a rewritten chain with fixed-up hashes is caught by the signed checkpoint", arguments: AuditTestBackend.available)
    func checkpoint(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let log = try await filled(db, count: 8, interval: 4)
            var entries = try await log.entries()
            // Rewrite entry 2 and re-hash everything after it, moving the head too: only the checkpoint can tell.
            entries[1].reason = "edited"
            var prev = entries[0].hash
            for i in 1..<entries.count {
                entries[i].prevHash = prev
                entries[i].hash = entries[i].expectedHash
                prev = entries[i].hash
            }
            try await db.transaction { [entries] db in
                for e in entries.dropFirst() {
                    try await db.raw("UPDATE audit_log SET reason = \(bind: e.reason), prev_hash = \(bind: e.prevHash), hash = \(bind: e.hash) WHERE seq = \(bind: e.seq)").run()
                }
                try await db.raw("UPDATE audit_state SET head_hash = \(bind: entries.last!.hash)").run()
            }
            let result = try await verify(db)
            #expect(result.problems.count >= 1)
            #expect(result.problems.allSatisfy { $0.kind == .checkpoint })
        }
    }

    @Test("purging old entries keeps the chain verifiable and logs the purge", arguments: AuditTestBackend.available)
    func purge(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let clock = ManualClock()
            let log = AuditLog(database: db, signer: Self.signer, checkpointInterval: 3, clock: clock.function)
            for i in 0..<6 { try await log.record(AuditEvent(actor: .system, action: .rollover, object: .other("year", "\(i)"))) }
            clock.advance(8 * 365 * 86_400)
            let cutoff = clock.read().addingTimeInterval(-7 * 365 * 86_400)
            for i in 0..<3 { try await log.record(AuditEvent(actor: .system, action: .rollover, object: .other("new", "\(i)"))) }
            let purged = try await log.purge(before: cutoff)
            #expect(purged.deleted == 6)
            #expect(purged.anchorSeq == 7)
            let entries = try await log.entries()
            #expect(entries.map(\.seq) == [7, 8, 9, 10])
            #expect(entries.last?.action == "audit_purge")
            #expect(entries.last?.object == "anchor:7")
            #expect(try await verify(db).problems == [])

            // Moving the anchor further (hiding entries) without a purge entry for it is found.
            try await db.transaction { db in
                try await db.raw("DELETE FROM audit_log WHERE seq = 7").run()
                try await db.raw("UPDATE audit_state SET anchor_seq = 8, anchor_prev_hash = \(bind: entries[0].hash)").run()
            }
            let tampered = try await verify(db)
            #expect(tampered.problems.contains { $0.kind == .anchor && $0.seq == 8 })
        }
    }

    @Test("a bad checkpoint key is noticed")
    func wrongKey() async throws {
        try await AuditTestBackend.sqlite.withDatabase { db in
            _ = try await filled(db, count: 8, interval: 4)
            let other = HMACCheckpointSigner(key: Array(repeating: 9, count: 32))
            let result = try await AuditVerifier(database: db, signer: other).verify()
            #expect(result.problems.contains { $0.kind == .checkpoint })
        }
    }

    @Test("the checkpoint key file is created with mode 0600 and read back")
    func keyFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-key-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/audit-checkpoint.key"
        let a = try HMACCheckpointSigner.loadOrCreate(path: path)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        let b = try HMACCheckpointSigner.loadOrCreate(path: path)
        #expect(a.signerID == b.signerID)
        _ = chmod(path, 0o644)
        #expect(throws: CheckpointKeyError.self) { try HMACCheckpointSigner.loadOrCreate(path: path) }
    }

    @Test("the export is JSON Lines in order, bounded by date")
    func export() async throws {
        try await AuditTestBackend.sqlite.withDatabase { db in
            let clock = ManualClock(try AuditExport.parseBound("2026-01-01", isEnd: false))
            let log = AuditLog(database: db, clock: clock.function)
            for day in 0..<5 {
                try await log.record(AuditEvent(actor: .staff("clerk.a"), action: .lookup, object: .addressee("\(day)")))
                clock.advance(86_400)
            }
            let lines = try await AuditExport.jsonLines(from: log, from: try AuditExport.parseBound("2026-01-02", isEnd: false),
                                                        to: try AuditExport.parseBound("2026-01-03", isEnd: true))
            #expect(lines.count == 2)
            let decoded = try lines.map { try JSONDecoder().decode(AuditEntry.self, from: Data($0.utf8)) }
            #expect(decoded.map(\.object) == ["addressee:1", "addressee:2"])
            #expect(throws: AuditExportError.self) { try AuditExport.parseBound("2026-13-01", isEnd: false) }
        }
    }
}
