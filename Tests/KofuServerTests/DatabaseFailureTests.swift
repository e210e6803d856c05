import Foundation
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// A throw-away PostgreSQL server owned by one test (its own directory and port, so the suite's shared
/// server is never touched), started and stopped with scripts/postgres-test-server.sh and pg_ctl.
struct OwnPostgres {
    let dir: String
    let port: Int
    var url: String { "postgres://kofu@127.0.0.1:\(port)/postgres" }

    static var available: Bool {
        StorageTestSupport.postgresURL != nil && ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).isEmpty == false
    }

    init() throws {
        dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-own-pg")
        port = CrashSafetyTests.freePort()
    }

    func start() async throws {
        let status = await Self.bash("bash '\(KioskHarness.packageRoot)/scripts/postgres-test-server.sh' '\(dir)' \(port) >/dev/null")
        if status != 0 { throw CancellationError() }
    }

    /// `pg_ctl stop -m fast`: sessions are ended, new connections refused.
    func stop() async {
        await Self.bash("""
            bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
            if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D '\(dir)/pgdata' -m fast -w stop
            else "$bindir/pg_ctl" -D '\(dir)/pgdata' -m fast -w stop; fi >/dev/null 2>&1
            """)
    }

    func remove() async {
        await Self.bash("""
            bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
            if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bindir/pg_ctl" -D '\(dir)/pgdata' -m immediate stop
            else "$bindir/pg_ctl" -D '\(dir)/pgdata' -m immediate stop; fi >/dev/null 2>&1 || true
            """)
        try? FileManager.default.removeItem(atPath: dir)
    }

    @discardableResult
    static func bash(_ script: String) async -> Int32 {
        await ChildProcess.run("/bin/bash", ["-c", script])
    }
}

/// PostgreSQL stopped for 10 s under load, and PostgreSQL refusing connections when `kofu serve` starts.
@Suite(.serialized, .timeLimit(.minutes(10))) struct DatabaseFailureTests {
    static let requestTimeout = 6

    // Runs by default again: the requests that got no answer under the full suite's load (issue 16) were
    // statements written on a connection PostgreSQL had dropped, see `statementsOnADroppedConnectionFail`.
    @Test(.enabled(if: OwnPostgres.available, "needs PostgreSQL server binaries and KOFU_TEST_POSTGRES_URL (scripts/test.sh)"))
    func outageUnderLoadThenRefusedAtStart() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: KofuBinary.path), "build the kofu executable first (swift build --build-tests)")
        let pg = try OwnPostgres()
        defer { Task { await pg.remove() } }
        try await pg.start()
        let h = try await KioskHarness.make(backend: .sqlite, people: 200, extra: ["KOFU_DATABASE_URL": pg.url])
        let node = try ClusterNode(h, index: 0, extra: [
            "KOFU_NODE_HEARTBEAT_SECONDS": "1", "KOFU_ISSUANCE_REQUEST_TIMEOUT_SECONDS": String(Self.requestTimeout),
            "KOFU_ISSUANCE_DELIVERY_TTL_SECONDS": "600",
        ])
        defer {
            node.cleanUp()
            Task { await h.cleanUp() }
        }
        try await node.start()
        let lookup = try await openDatabase(h)
        let people = try await lookup.issuableResidents(limit: 150, year: h.latestYear)
        await lookup.close()
        try #require(people.count >= 50)
        let tally = Tally()
        let phase = Phase()

        try await withLoadClient(port: node.port, maxConnections: 16, timeout: .seconds(60)) { client in
            // Load: residents one after another on 8 lanes, each issue followed by a delivery or left ready.
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for lane in 0..<8 {
                        group.addTask {
                            var i = lane
                            while !(await phase.done) {
                                let p = people[i % people.count]
                                let started = Date()
                                let r = try? await client.send("POST", "/kiosk/v1/issuances", json: [
                                    "request_id": "DBF-\(i)", "card_serial": p.cardSerial, "kind": "income_taxation", "fiscal_year": h.latestYear])
                                let took = Date().timeIntervalSince(started)
                                if took > Double(Self.requestTimeout) || r == nil || r?.status == 500 || r?.status == 503 && took > 4 {
                                    await tally.note("slow", "DBF-\(i) \(r?.status ?? 0) \(String(format: "%.1f", took)) s at \(started)")
                                }
                                await tally.add("answers")
                                await tally.note("latency", String(took))
                                if let r {
                                    await tally.add("status_\(r.status)")
                                    if r.status == 503 && r.header("Retry-After") == nil { await tally.add("503_without_retry_after") }
                                    if r.status == 201, i % 2 == 0, let id = r.json["issuance_id"] as? String {
                                        if let d = try? await client.send("POST", "/kiosk/v1/issuances/\(id)/delivered") {
                                            await tally.add("status_\(d.status)")
                                        }
                                    }
                                } else {
                                    await tally.add("no_answer")
                                }
                                i += 8
                                try? await Task.sleep(for: .milliseconds(50))
                            }
                        }
                    }
                }
            }
            try await Task.sleep(for: .seconds(4))
            #expect(await tally.count("status_201") > 0, "issuing before the outage")
            await pg.stop()
            let stoppedAt = Date()
            // /readyz is not ready while the database is down (checked every half second for 10 s).
            var readyWhileDown = 0
            var probes = 0
            while Date().timeIntervalSince(stoppedAt) < 10 {
                if let r = try? await client.send("GET", "/readyz") {
                    probes += 1
                    if r.status == 200 { readyWhileDown += 1 }
                }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(probes > 0 && readyWhileDown == 0, "/readyz not ready while PostgreSQL is down (\(readyWhileDown) of \(probes) ready)")
            let during = await tally.count("status_503")
            try await pg.start()
            let restartedAt = Date()
            var recovered: Double?
            for _ in 0..<120 {
                if let r = try? await client.send("GET", "/readyz"), r.status == 200 { recovered = Date().timeIntervalSince(restartedAt); break }
                try await Task.sleep(for: .milliseconds(500))
            }
            #expect(recovered != nil, "ready again by itself after PostgreSQL is back")
            let before = await tally.count("status_201")
            try await Task.sleep(for: .seconds(3))
            await phase.finish()
            await load.value
            #expect(await tally.count("status_201") > before, "issuing again after the outage")
            #expect(during > 0, "503 answers while the database was down")
            print("database outage: slow or failed: \((await tally.items)["slow"] ?? [])")
            print("database outage: \(await tally.counts); ready again \(String(format: "%.1f", recovered ?? -1)) s after PostgreSQL restarted")
        }
        #expect(await tally.count("status_500") == 0, "no 500 during the outage")
        #expect(await tally.count("no_answer") == 0, "every request answered")
        #expect(await tally.count("503_without_retry_after") == 0, "every 503 carries Retry-After")
        let latencies = ((await tally.items)["latency"] ?? []).compactMap(Double.init)
        // A statement on a connection PostgreSQL dropped mid-statement ends at the statement watchdog (the request
        // timeout) at the latest, after its request's own deadline: bounded by twice the request timeout.
        #expect((latencies.max() ?? 0) <= Double(2 * Self.requestTimeout + 3), "no request hangs (max \(latencies.max() ?? 0) s)")

        // Nothing half-done: once renders that lost the database are swept (request timeout + 5 s), every row
        // is final or ready, and the spool holds no more documents than there are ready rows.
        let database = try await openDatabase(h)
        defer { Task { await database.close() } }
        var rendering = -1
        for _ in 0..<60 {
            rendering = try await database.count("SELECT COUNT(*) AS n FROM issuances WHERE status = 'rendering'")
            if rendering == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(rendering == 0, "no issuance left rendering")
        for slow in (await tally.items)["slow"] ?? [] {
            let request = String(slow.split(separator: " ")[0])
            let events = try await database.read { db in
                try await db.raw("""
                    SELECT e.status AS s, e.detail AS d, e.at AS at FROM issuance_events e JOIN issuances i ON i.id = e.issuance_id
                    WHERE i.request_id = \(bind: request) ORDER BY e.at
                    """).all().map { "\(try $0.decode(column: "s", as: String.self))/\(try $0.decode(column: "d", as: String?.self) ?? "-")@\(try $0.decode(column: "at", as: Int64.self))" }
            }
            print("database outage: \(slow): ledger events \(events)")
        }
        try await Task.sleep(for: .seconds(2))
        let ready = Set(try await database.read { db in
            try await db.raw("SELECT id FROM issuances WHERE status = 'ready'").all().map { try $0.decode(column: "id", as: String.self) }
        })
        let held = try #require(await node.spoolDocuments(), "the node answers /metrics")
        // (A ready row without its document is possible: a delivery wiped it but could not write `delivered`;
        // it expires at its TTL. More documents than ready rows would be a document nobody can account for;
        // which ids the spool holds is not visible outside the process, so the counts are compared.)
        #expect(held <= ready.count, "every spool document belongs to a ready issuance (\(held) held, \(ready.count) ready)")
        #expect(SpoolCheck.filesOnDisk(under: node.dataDir).isEmpty, "nothing of the spool on disk")
        let numbers = try await database.count("""
            SELECT COUNT(*) AS n FROM certificate_numbers n JOIN issuances i ON i.id = n.issuance_id
            WHERE (i.status IN ('delivered', 'ready')) <> (n.status = 'issued')
            """)
        #expect(numbers == 0, "every number's standing matches its issuance")
        await database.close()

        // PostgreSQL refusing connections at start: serve exits with a clear message (systemd restarts it),
        // and starts normally once the database is up.
        await node.stop()
        await pg.stop()
        let refused = try await Self.serveUntilExit(node, seconds: 30)
        #expect(refused.status == 3, "serve exits (status 3) when the database refuses connections at start")
        #expect(refused.output.contains("the database is unavailable at start"), "a clear message: \(refused.output.suffix(400))")
        try await pg.start()
        try await node.start()
        let back = try await withLoadClient(port: node.port, maxConnections: 1, timeout: .seconds(10)) { c in try await c.send("GET", "/readyz") }
        #expect(back.status == 200)
        await node.stop()
        // Stopped here, not only by the deferred task, which may not run before the test process ends.
        await pg.remove()
    }

    /// A statement sent after PostgreSQL dropped the connection fails at once with `unavailable`; it used to wait
    /// forever once NIO had removed the closed channel's handlers (issue 16: under load, a transaction's ROLLBACK
    /// after PostgreSQL stopped was written after that, and kiosk requests went unanswered). The pause inside
    /// each body gives the event loop time to remove them, as a loaded machine did.
    @Test(.enabled(if: StorageTestSupport.postgresURL != nil, "needs KOFU_TEST_POSTGRES_URL (scripts/test.sh)"))
    func statementsOnADroppedConnectionFail() async throws {
        let database = try await KofuDatabase.open(.postgres(url: try #require(StorageTestSupport.postgresURL)))
        let read = await Self.outcome {
            try await database.read { db in
                // The server ends this connection's session (as a stopping server does); the statement fails.
                try? await db.raw("SELECT pg_terminate_backend(pg_backend_pid())").run()
                try await Task.sleep(for: .milliseconds(500))
                try await db.raw("SELECT 1").run()
            }
        }
        #expect(read == "unavailable", "a read on a dropped connection fails at once")
        let transaction = await Self.outcome {
            try await database.transaction { db in
                try? await db.raw("SELECT pg_terminate_backend(pg_backend_pid())").run()
                try await Task.sleep(for: .milliseconds(500))
                // Failing here sends ROLLBACK on the dropped connection.
                throw DatabaseError.unavailable
            }
        }
        #expect(transaction == "unavailable", "a transaction's ROLLBACK on a dropped connection fails at once")
        // The pool replaces the dropped connections.
        #expect(await Self.outcome { try await database.read { db in try await db.raw("SELECT 1").run() } } == "ok")
        await database.close()
    }

    /// How `body` ended: "ok", "unavailable", another error's type, or "no answer" within 30 s (a hang; the
    /// body is left behind).
    static func outcome(_ body: @escaping @Sendable () async throws -> Void) async -> String {
        let run = Task<String, Never> {
            do {
                try await body()
                return "ok"
            } catch DatabaseError.unavailable {
                return "unavailable"
            } catch {
                return String(describing: type(of: error))
            }
        }
        return await KofuDatabase.value(of: run, within: .seconds(30)) ?? "no answer"
    }

    /// Starts `kofu serve` for `node` and waits for it to exit on its own.
    static func serveUntilExit(_ node: ClusterNode, seconds: Int) async throws -> (status: Int32, output: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KofuBinary.path)
        p.arguments = ["serve"]
        p.environment = node.processEnvironment
        let log = "\(node.dataDir)-refused.log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try ProcessSpawn.locked { try p.run() }
        for _ in 0..<(seconds * 10) where p.isRunning { try await Task.sleep(for: .milliseconds(100)) }
        if p.isRunning {
            kill(p.processIdentifier, SIGKILL)
            for _ in 0..<100 where p.isRunning { try await Task.sleep(for: .milliseconds(50)) }
            return (-1, "still running after \(seconds) s")
        }
        return (p.terminationStatus, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
}

actor Phase {
    private(set) var done = false
    func finish() { done = true }
}
