import Foundation
import KofuTestSupport
import KofuConfig
import KofuCrypto
import KofuStorage
import KofuStorageTestSupport
import SQLKit
import Testing

/// The `kofu` executable end to end: `keys generate/rotate` are audited (issue 11 item 15), every run anchors
/// its entries outside the database, and `kofu audit verify` finds a rewritten and re-hashed chain (item 4).
@Suite(.serialized, .timeLimit(.minutes(5))) struct AuditCLITests {
    /// The `kofu` built beside this test binary (whatever the scratch path).
    static var binary: String {
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return ((exe as NSString).deletingLastPathComponent as NSString).appendingPathComponent("kofu")
    }

    struct Run {
        var status: Int32
        var output: String
    }

    /// Runs `kofu args` in `dir` (no configuration file there: built-in defaults and `environment` only).
    static func kofu(_ args: [String], in dir: String, environment: [String: String]) throws -> Run {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "KOFU_CONFIG")
        for (k, v) in environment { env[k] = v }
        p.environment = env
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        p.standardInput = FileHandle.nullDevice
        try ProcessSpawn.locked { try p.run() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Run(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    @Test(arguments: StorageTestSupport.backends)
    func keysAuditedAndRewriteFound(_ backend: TestBackend) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the kofu executable first (swift build --build-tests)")
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-cli")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var env = ["KOFU_DATA_DIR": "\(dir)/data", "KOFU_NODE_ID": "cli-test"]
        var location = DatabaseLocation.sqlite(path: "\(dir)/data/kofu.sqlite")
        var dropDatabase: (() async -> Void)?
        if backend == .postgres {
            guard let admin = StorageTestSupport.postgresURL else { throw StorageTestSupportError.postgresRequired }
            let name = "kofu_cli_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let db = try await KofuDatabase.open(.postgres(url: admin))
            try await db.exclusive { try await $0.raw("CREATE DATABASE \(unsafeRaw: String(name))").run() }
            var c = URLComponents(string: admin)!
            c.path = "/" + name
            env["KOFU_DATABASE_URL"] = c.string!
            location = .postgres(url: c.string!)
            dropDatabase = {
                _ = try? await db.exclusive { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: String(name))").run() }
                await db.close()
            }
        }
        do {
            try await check(dir: dir, environment: env, location: location)
        } catch {
            Issue.record(error)
        }
        await dropDatabase?()
    }

    func check(dir: String, environment env: [String: String], location: DatabaseLocation) async throws {
        let generated = try Self.kofu(["keys", "generate"], in: dir, environment: env)
        #expect(generated.status == 0, "\(generated.output)")
        let again = try Self.kofu(["keys", "generate"], in: dir, environment: env)
        #expect(again.status != 0)
        #expect(again.output.contains("already exists"))
        let rotated = try Self.kofu(["keys", "rotate"], in: dir, environment: env)
        #expect(rotated.status == 0, "\(rotated.output)")

        let db = try await KofuDatabase.open(location)
        let log = AuditLog(database: db)
        let entries = try await log.entries()
        #expect(entries.map(\.action) == ["key_operation", "key_operation", "key_operation"])
        #expect(entries.map(\.outcome) == ["success", "failure", "success"])
        let firstKey = try #require(entries.first?.object)
        #expect(firstKey.hasPrefix("seal_key:") && firstKey.count == "seal_key:".count + 16)
        #expect(entries[1].object == firstKey)
        #expect(entries[1].reason.hasPrefix("generate failed=private_key_exists "))
        #expect(entries[2].reason.hasPrefix("rotate previous=\(firstKey.dropFirst("seal_key:".count)) "))
        #expect(entries[2].object != firstKey)
        for e in entries {
            #expect(e.actor == "system")
            #expect(e.reason.contains("os_user=") && e.reason.contains("host=\(ProcessInfo.processInfo.hostName)"))
        }

        // Each run anchored its own entry before it exited.
        let anchorsFile = "\(dir)/data-audit-anchors/cli-test.jsonl"
        let anchors = try String(contentsOfFile: anchorsFile, encoding: .utf8).split(separator: "\n").compactMap { AuditAnchor(jsonLine: Array($0.utf8)) }
        #expect(anchors.map(\.seq) == [1, 2, 3])
        let intact = try Self.kofu(["audit", "verify"], in: dir, environment: env)
        #expect(intact.status == 0, "\(intact.output)")
        #expect(intact.output.contains("last matching anchor: seq 3"))

        // An auditor with only the public key and a copy of the anchors file.
        let pub = try Self.kofu(["audit", "anchor-key", "--output", "\(dir)/anchor.pub"], in: dir, environment: env)
        #expect(pub.status == 0, "\(pub.output)")
        try FileManager.default.copyItem(atPath: anchorsFile, toPath: "\(dir)/copy.jsonl")

        // Entry 1 rewritten, every later hash and the head recomputed.
        try await db.transaction { db in
            var prev = AuditChain.genesisHash
            for var e in entries {
                if e.seq == 1 { e.reason = "generate os_user=nobody host=elsewhere" }
                e.prevHash = prev
                e.hash = e.expectedHash
                prev = e.hash
                try await db.raw("UPDATE audit_log SET reason = \(bind: e.reason), prev_hash = \(bind: e.prevHash), hash = \(bind: e.hash) WHERE seq = \(bind: e.seq)").run()
            }
            try await db.raw("UPDATE audit_state SET head_hash = \(bind: prev) WHERE id = 1").run()
        }
        await db.close()

        // Without anchors the chain alone verifies; with the copied anchors and the public key it does not.
        let blind = try Self.kofu(["audit", "verify", "--anchors", "/dev/null"], in: dir, environment: env)
        #expect(blind.status == 0, "\(blind.output)")
        let found = try Self.kofu(["audit", "verify", "--anchors", "\(dir)/copy.jsonl", "--anchor-key", "\(dir)/anchor.pub"],
                                 in: dir, environment: env)
        #expect(found.status == 1, "\(found.output)")
        #expect(found.output.contains("NOT INTACT"))
        #expect(found.output.contains("seq 1: anchor_mismatch"))
        #expect(found.output.contains("seq 3: anchor_mismatch"))
    }
}
