import Foundation
import KofuCrypto
import KofuStorage
import SQLKit
import Testing

/// Issue 11 item 4: with write access to the database, the chain can be rewritten and re-hashed so that it
/// verifies; anchors signed outside the database show the rewrite.
@Suite("Audit anchors")
struct AuditAnchorTests {
    static let signer = HMACCheckpointSigner(key: Array(repeating: 7, count: 32))

    /// A temporary directory for one test's anchors file, kept apart from the database's.
    struct Scratch {
        let dir: String
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-anchors-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        func path(_ name: String) -> String { dir + "/" + name }
        func remove() { try? FileManager.default.removeItem(atPath: dir) }
    }

    static func anchorer(file: String, node: String = "node-a", interval: Int = 100) throws -> AuditAnchorer {
        AuditAnchorer(key: AuditAnchorKey(privateKey: try ECDSAP256.PrivateKey.generate()), file: file, node: node, interval: interval)
    }

    /// Records `count` entries one after the other (so each commit is one entry and anchors fall on exact
    /// multiples of the interval), then closes the log, which anchors the head.
    static func write(_ log: AuditLog, count: Int, from first: Int = 1) async throws {
        for i in first..<(first + count) {
            try await log.record(AuditEvent(actor: .staff("clerk.\(i % 3)"), action: .lookup, object: .addressee("\(1000 + i)"), reason: "ok"))
        }
        try await log.close()
    }

    static func verify(_ db: KofuDatabase, anchors: AuditAnchorSet? = nil) async throws -> AuditVerification {
        try await AuditVerifier(database: db, signer: signer, anchors: anchors).verify()
    }

    static func anchorLines(_ path: String) throws -> [AuditAnchor] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
            try #require(AuditAnchor(jsonLine: Array($0.utf8)))
        }
    }

    // MARK: The attacker's tools, written here rather than taken from the code under test.

    /// SHA-256(prev hash bytes ‖ each field as a 4-byte big-endian length and its UTF-8), as docs/audit.md states it.
    static func forgedHash(prev: String, _ fields: [String]) -> String {
        var bytes = Hex.decode(prev)!
        for field in fields {
            let utf8 = Array(field.utf8)
            let n = UInt32(utf8.count)
            bytes += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + utf8
        }
        return SHA256.hex(bytes)
    }

    /// Changes entry `seq` with raw SQL, recomputes every later hash and link and the stored head, and deletes
    /// the signed checkpoints it cannot re-sign (nothing in the database records how many there were).
    static func rewrite(_ db: KofuDatabase, seq target: Int64) async throws {
        try await db.transaction { db in
            let rows = try await db.raw("SELECT seq, at, actor, action, object, outcome, reason, hash FROM audit_log ORDER BY seq").all()
            var prev = ""
            var head: (Int64, String) = (0, "")
            for row in rows {
                let seq = try row.decode(column: "seq", as: Int64.self)
                var reason = try row.decode(column: "reason", as: String.self)
                if seq < target {
                    prev = try row.decode(column: "hash", as: String.self)
                    continue
                }
                if seq == target { reason = "rewritten" }
                let fields = [String(seq)] + (try ["at", "actor", "action", "object", "outcome"].map { try row.decode(column: $0, as: String.self) }) + [reason]
                let hash = forgedHash(prev: prev, fields)
                try await db.raw("UPDATE audit_log SET reason = \(bind: reason), prev_hash = \(bind: prev), hash = \(bind: hash) WHERE seq = \(bind: seq)").run()
                prev = hash
                head = (seq, hash)
            }
            try await db.raw("UPDATE audit_state SET head_seq = \(bind: head.0), head_hash = \(bind: head.1), checkpoint_seq = 0 WHERE id = 1").run()
            try await db.raw("DELETE FROM audit_checkpoints").run()
        }
    }

    // MARK: Tests

    @Test("entry 9 of 175 rewritten, later hashes and the head recomputed: verify alone says intact, the anchors report it",
          arguments: AuditTestBackend.available)
    func rewrittenChain(_ backend: AuditTestBackend) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await backend.withDatabase { db in
            let file = scratch.path("node-a.jsonl")
            let anchorer = try Self.anchorer(file: file)
            let log = AuditLog(database: db, signer: Self.signer, checkpointInterval: 100, anchors: anchorer)
            try await Self.write(log, count: 175)
            #expect(try Self.anchorLines(file).map(\.seq) == [100, 175])
            let before = try await Self.verify(db, anchors: AuditAnchorSet.read(files: [file], trustedKeys: [anchorer.key.publicKey]))
            #expect(before.problems == [])
            #expect(before.anchorsChecked == 2)
            #expect(before.lastAnchor?.anchor.seq == 175)
            #expect(before.entriesAfterLastAnchor == 0)

            try await Self.rewrite(db, seq: 9)

            let changed = try await log.entries(afterSeq: 8, limit: 1)
            #expect(changed.first?.reason == "rewritten")
            let withoutAnchors = try await Self.verify(db)
            #expect(withoutAnchors.problems == [], "the rewrite is invisible to the chain alone")
            #expect(withoutAnchors.entriesChecked == 175)

            let anchors = try AuditAnchorSet.read(files: [file], trustedKeys: [anchorer.key.publicKey])
            let result = try await Self.verify(db, anchors: anchors)
            #expect(!result.isIntact)
            #expect(result.problems.map(\.kind) == [.anchorMismatch, .anchorMismatch])
            #expect(result.problems.map(\.seq) == [100, 175])
            let first = try #require(result.problems.first)
            #expect(first.detail.contains("entries 1…100"), "names the range holding entry 9: \(first.detail)")
            #expect(first.detail.contains("\(file):1"))
            #expect(result.lastAnchor == nil)
            #expect(result.entriesAfterLastAnchor == 175)
        }
    }

    @Test("entries removed from the end with the head moved back: only an anchor beyond the head tells",
          arguments: AuditTestBackend.available)
    func truncatedChain(_ backend: AuditTestBackend) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await backend.withDatabase { db in
            let file = scratch.path("node-a.jsonl")
            let anchorer = try Self.anchorer(file: file)
            let log = AuditLog(database: db, signer: Self.signer, checkpointInterval: 1000, anchors: anchorer)
            try await Self.write(log, count: 175)
            let kept = try #require(try await log.entries(afterSeq: 149, limit: 1).first)
            try await db.transaction { db in
                try await db.raw("DELETE FROM audit_log WHERE seq > 150").run()
                try await db.raw("UPDATE audit_state SET head_seq = 150, head_hash = \(bind: kept.hash) WHERE id = 1").run()
            }
            #expect(try await Self.verify(db).problems == [])
            let result = try await Self.verify(db, anchors: anchorer.readOwnAnchors())
            #expect(result.problems.map(\.kind) == [.anchorBeyondHead])
            #expect(result.problems.first?.seq == 175)
            #expect(result.problems.first?.detail.contains("ends at entry 150") == true)
            #expect(result.lastAnchor?.anchor.seq == 100)
            #expect(result.entriesAfterLastAnchor == 50)
        }
    }

    @Test("a changed anchor line, a line by an unknown key and a torn line are reported; the valid ones still count")
    func tamperedAnchorFile() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await AuditTestBackend.sqlite.withDatabase { db in
            let file = scratch.path("node-a.jsonl")
            let anchorer = try Self.anchorer(file: file, interval: 10)
            let log = AuditLog(database: db, signer: Self.signer, anchors: anchorer)
            try await Self.write(log, count: 35)
            var lines = try Self.anchorLines(file)
            #expect(lines.map(\.seq) == [10, 20, 30, 35])
            #expect(try await Self.verify(db, anchors: AuditAnchorSet.read(files: [file], trustedKeys: [anchorer.key.publicKey])).problems == [])

            // The hash of line 2 changed, as someone hiding a rewrite would have to.
            let entry21 = try #require(try await log.entries(afterSeq: 20, limit: 1).first)
            lines[1].hash = entry21.hash
            let stranger = try Self.anchorer(file: scratch.path("other.jsonl"))
            let foreign = try #require(try stranger.anchor(seq: 5, hash: lines[0].hash, at: Date()))
            let text = lines.map(\.jsonLine).joined(separator: "\n") + "\n" + foreign.jsonLine + "\n" + "{\"seq\": 3"
            try text.write(toFile: file, atomically: true, encoding: .utf8)

            let anchors = try AuditAnchorSet.read(files: [file], trustedKeys: [anchorer.key.publicKey])
            #expect(anchors.count == 3)
            let result = try await Self.verify(db, anchors: anchors)
            #expect(result.problems.map(\.kind) == [.anchorInvalid, .anchorInvalid, .anchorInvalid])
            #expect(result.problems.map(\.seq) == [20, 5, 0])
            #expect(result.problems[0].detail.contains("\(file):2: the signature does not verify"))
            #expect(result.problems[1].detail.contains("not among the trusted anchor keys"))
            #expect(result.problems[2].detail.contains("\(file):6: not an anchor line"))
            #expect(result.anchorsChecked == 3)

            // The next anchor after a torn line still gets a line of its own.
            try await log.record(AuditEvent(actor: .system, action: .rollover))
            try await log.close()
            let after = try String(contentsOfFile: file, encoding: .utf8)
            #expect(after.hasSuffix("{\"seq\": 3\n" + anchorer.lastAnchor!.jsonLine + "\n"), "\(after)")
        }
    }

    @Test("nodes sharing a database each anchor into their own file; verification takes several files and keys",
          arguments: AuditTestBackend.available)
    func severalNodes(_ backend: AuditTestBackend) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await backend.withDatabase { db in
            let a = try Self.anchorer(file: scratch.path("a.jsonl"), node: "node-a", interval: 20)
            let b = try Self.anchorer(file: scratch.path("b.jsonl"), node: "node-b", interval: 20)
            let logA = AuditLog(database: db, signer: Self.signer, anchors: a)
            let logB = AuditLog(database: db, signer: Self.signer, anchors: b)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.write(logA, count: 60) }
                group.addTask { try await Self.write(logB, count: 60, from: 1000) }
                try await group.waitForAll()
            }
            try await logA.anchorHead()
            try await logB.anchorHead()
            let files = [a.file, b.file]
            let keys = [a.key.publicKey, b.key.publicKey]
            #expect(try Self.anchorLines(a.file).allSatisfy { $0.node == "node-a" && $0.keyID == a.key.keyID })
            let anchors = try AuditAnchorSet.read(files: files, trustedKeys: keys)
            #expect(anchors.count >= 6)
            let result = try await Self.verify(db, anchors: anchors)
            #expect(result.problems == [])
            #expect(result.lastAnchor?.anchor.seq == 120)

            try await Self.rewrite(db, seq: 50)
            let rewritten = try await Self.verify(db, anchors: AuditAnchorSet.read(files: files, trustedKeys: keys))
            #expect(rewritten.problems.contains { $0.kind == .anchorMismatch && $0.seq >= 50 })
            #expect(!rewritten.problems.contains { $0.seq < 50 })
        }
    }

    @Test("anchors fall every interval and on close or on the timer only when the head moved; a restart continues the count")
    func cadence() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await AuditTestBackend.sqlite.withDatabase { db in
            let file = scratch.path("node-a.jsonl")
            let key = AuditAnchorKey(privateKey: try ECDSAP256.PrivateKey.generate())
            let log = AuditLog(database: db, anchors: AuditAnchorer(key: key, file: file, node: "n", interval: 100))
            try await Self.write(log, count: 250)
            #expect(try Self.anchorLines(file).map(\.seq) == [100, 200, 250])
            #expect(try await log.anchorHead() == nil)
            try await log.close()
            #expect(try Self.anchorLines(file).count == 3)

            // A new process (the next command-line run) starts counting from the file's last anchor.
            let restarted = AuditAnchorer(key: key, file: file, node: "n", interval: 100)
            #expect(restarted.lastAnchor?.seq == 250)
            let log2 = AuditLog(database: db, anchors: restarted)
            for _ in 0..<99 { try await log2.record(AuditEvent(actor: .system, action: .rollover)) }
            #expect(try Self.anchorLines(file).count == 3)
            try await log2.record(AuditEvent(actor: .system, action: .rollover))
            #expect(try Self.anchorLines(file).map(\.seq) == [100, 200, 250, 350])

            // Entries written inside another transaction are anchored by the timer.
            try await db.transaction { tx in try await log2.append([AuditEvent(actor: .system, action: .rollover)], in: tx) }
            #expect(try await log2.anchorHead()?.seq == 351)
        }
    }

    @Test("under load, one group commit of many entries gets an anchor at every interval inside it, not one at its end",
          arguments: AuditTestBackend.available)
    func batches(_ backend: AuditTestBackend) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await backend.withDatabase { db in
            let anchorer = try Self.anchorer(file: scratch.path("node-a.jsonl"), interval: 10)
            let log = AuditLog(database: db, anchors: anchorer)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<300 {
                    group.addTask { try await log.record(AuditEvent(actor: .kioskCenter, action: .kioskFetch, object: .issuance("\(i)"))) }
                }
                try await group.waitForAll()
            }
            try await log.close()
            #expect(try Self.anchorLines(anchorer.file).map(\.seq) == Array(stride(from: 10, through: 300, by: 10)))
            let result = try await Self.verify(db, anchors: AuditAnchorSet.read(files: [anchorer.file], trustedKeys: [anchorer.key.publicKey]))
            #expect(result.problems == [])
            #expect(result.anchorsChecked == 30)
        }
    }

    @Test("anchors survive a retention purge: old ones are counted, the one before the new start is compared")
    func afterPurge() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        try await AuditTestBackend.sqlite.withDatabase { db in
            let clock = ManualClock()
            let file = scratch.path("node-a.jsonl")
            let anchorer = try Self.anchorer(file: file, interval: 5)
            let log = AuditLog(database: db, anchors: anchorer, clock: clock.function)
            try await Self.write(log, count: 10)
            clock.advance(8 * 365 * 86_400)
            try await Self.write(log, count: 3)
            let purged = try await log.purgeExpired(retentionYears: 7)
            #expect(purged.anchorSeq == 11)
            try await log.close()
            let result = try await Self.verify(db, anchors: AuditAnchorSet.read(files: [file], trustedKeys: [anchorer.key.publicKey]))
            #expect(result.problems == [])
            #expect(result.anchorsBeforeRetention == 1)
            #expect(result.anchorsChecked == 3)
            #expect(result.lastAnchor?.anchor.seq == 14)
        }
    }

    @Test("the anchor key file is created with mode 0600, read back, refused when others may read it; its public key is PEM")
    func keyFile() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = scratch.path("keys/audit-anchor.pem")
        let a = try AuditAnchorKey.loadOrCreate(path: path)
        #expect(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int == 0o600)
        let b = try AuditAnchorKey.loadOrCreate(path: path)
        #expect(a.keyID == b.keyID)
        #expect(a.keyID.count == 16)

        let pem = a.publicKey.pemRepresentation
        #expect(pem.hasPrefix("-----BEGIN PUBLIC KEY-----\n"))
        try pem.write(toFile: scratch.path("anchor.pub"), atomically: true, encoding: .utf8)
        #expect(try AuditAnchorPublicKey.load(path: scratch.path("anchor.pub")) == a.publicKey)
        #expect(throws: AuditAnchorError.publicKeyInvalid(path: path)) { try AuditAnchorPublicKey.load(path: path) }

        _ = chmod(path, 0o640)
        #expect(throws: AuditAnchorError.keyInsecurePermissions(path: path, mode: "640")) { try AuditAnchorKey.loadOrCreate(path: path) }
    }
}
