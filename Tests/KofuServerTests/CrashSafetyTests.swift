import Foundation
import KofuTestSupport
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import Testing

/// kill -9 during load, then restart: no document survives (the spool is memory only and never on disk),
/// every issuance is final (the ones ready at the kill void), and no certificate number is duplicated.
/// Runs the real `kofu serve` process.
@Suite(.serialized, .timeLimit(.minutes(10))) struct CrashSafetyTests {
    static var binary: String { KofuBinary.path }

    static func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// Starts `kofu serve` and waits until /readyz answers.
    static func start(_ h: KioskHarness, port: Int, log: String, extra: [String: String] = [:]) async throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["serve"]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in h.environment { env[k] = v }
        env["KOFU_HTTP_PORT"] = String(port)
        env["KOFU_CONFIG"] = "\(KioskHarness.packageRoot)/config/kofu.yaml"
        // The staff and public listeners on ports of their own choosing, so test servers never collide.
        env["KOFU_STAFF_PORT"] = "0"
        env["KOFU_PUBLIC_PORT"] = "0"
        for (k, v) in extra { env[k] = v }
        p.environment = env
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try ProcessSpawn.locked { try p.run() }
        let ready = try await withLoadClient(port: port, maxConnections: 1, timeout: .seconds(2)) { client in
            for _ in 0..<300 {
                if let r = try? await client.send("GET", "/readyz"), r.status == 200 { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        if ready { return p }
        await stop(p, signal: SIGKILL)
        throw CancellationError()
    }

    /// Sends `signal` and waits (without blocking a thread) until the process is gone; SIGKILL after 15 s.
    static func stop(_ p: Process, signal: Int32) async {
        kill(p.processIdentifier, signal)
        for _ in 0..<150 where p.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        for _ in 0..<50 where p.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
    }

    @Test(arguments: StorageTestSupport.backends)
    func killDuringLoadThenRestart(_ backend: TestBackend) async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the kofu executable first (swift build --build-tests)")
        let h = try await KioskHarness.make(backend: backend, people: 400)
        defer { Task { await h.cleanUp() } }
        let port = Self.freePort()
        let server = try await Self.start(h, port: port, log: "\(h.dataDir)/serve-1.log")
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let database = try await KofuDatabase.open(h.configuration().databaseURL.map { .postgres(url: $0) }
                                                   ?? .sqlite(path: try h.configuration().sqlitePath))
        defer { Task { await database.close() } }
        let people = try await database.issuableResidents(limit: 200, year: h.latestYear)
        try await withLoadClient(port: port, maxConnections: 64, timeout: .seconds(20)) { load in

            // Load: issue (some with delivery, some left ready), and kill -9 once a good part has been answered.
            let answered = Counter()
            let loadTask = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (i, p) in people.enumerated() {
                        group.addTask {
                            let body: [String: Any] = ["request_id": "CR-\(i)", "card_serial": p.cardSerial, "kind": "income_taxation", "fiscal_year": h.latestYear]
                            if let r = try? await load.send("POST", "/kiosk/v1/issuances", json: body), r.status == 201 {
                                await answered.add()
                                if i % 2 == 0, let id = r.json["issuance_id"] as? String {
                                    _ = try? await load.send("POST", "/kiosk/v1/issuances/\(id)/delivered")
                                }
                            }
                        }
                    }
                }
            }
            for _ in 0..<600 where await answered.value < 40 { try await Task.sleep(for: .milliseconds(10)) }
            await Self.stop(server, signal: SIGKILL)
            await loadTask.value
            #expect(await answered.value >= 1)
            // The documents waiting at the kill died with the process; none of them was ever written to disk.
            let readyAtKill = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM issuances WHERE status = 'ready'").first()!.decode(column: "n", as: Int.self)
            }
            #expect(SpoolCheck.filesOnDisk(under: h.dataDir).isEmpty, "no spool on disk at the crash (\(readyAtKill) documents were waiting)")

            // Restart: the unfinished issuances voided (their documents are gone with the old process).
            let restarted = try await Self.start(h, port: port, log: "\(h.dataDir)/serve-2.log")
            defer { if restarted.isRunning { kill(restarted.processIdentifier, SIGKILL) } }
            #expect(SpoolCheck.filesOnDisk(under: h.dataDir).isEmpty, "no spool on disk after restart")
            let unfinished = try await database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM issuances WHERE status IN ('rendering', 'ready')").first()!
                    .decode(column: "n", as: Int.self)
            }
            #expect(unfinished == 0)
            let numbers = try await database.read { db in
                try await db.raw("""
                    SELECT n.number AS number, n.status AS nstatus, i.status AS istatus
                    FROM certificate_numbers n JOIN issuances i ON i.id = n.issuance_id
                    """).all().map { (try $0.decode(column: "number", as: String.self), try $0.decode(column: "nstatus", as: String.self),
                                      try $0.decode(column: "istatus", as: String.self)) }
            }
            #expect(Set(numbers.map(\.0)).count == numbers.count, "no duplicated certificate number")
            for (number, nstatus, istatus) in numbers {
                #expect((istatus == "delivered") == (nstatus == "issued"), "\(number): issuance \(istatus), number \(nstatus)")
            }
            // The restarted server issues again, with new numbers. Asked through a client of its own: the load
            // client's pool saw the server die, and after enough refused connects it backs off for longer than
            // the restart takes, failing a queued request with the last "connection refused".
            let again = try await withLoadClient(port: port, maxConnections: 1, timeout: .seconds(30)) { fresh in
                try await fresh.send("POST", "/kiosk/v1/issuances",
                                     json: ["request_id": "AFTER", "card_serial": people[0].cardSerial, "kind": "income_taxation", "fiscal_year": h.latestYear])
            }
            #expect(again.status == 201)
            let newNumber = (again.json["certificate_numbers"] as? [String])?.first ?? ""
            #expect(!numbers.map(\.0).contains(newNumber))
            // A clean stop (SIGTERM) leaves no document behind: the undelivered one is wiped and void.
            await Self.stop(restarted, signal: SIGTERM)
            #expect(SpoolCheck.filesOnDisk(under: h.dataDir).isEmpty, "no spool on disk after a clean stop")
            let afterID = try #require(again.json["issuance_id"] as? String)
            let afterStatus = try await database.read { db in
                try await db.raw("SELECT status FROM issuances WHERE id = \(bind: afterID)").first()!.decode(column: "status", as: String.self)
            }
            #expect(afterStatus == "expired")
            #expect(try await database.read { db in
                try await db.raw("SELECT status FROM certificate_numbers WHERE number = \(bind: newNumber)").first()!.decode(column: "status", as: String.self)
            } == "void")
        }
    }
}

actor Counter {
    private(set) var value = 0
    func add() { value += 1 }
}
