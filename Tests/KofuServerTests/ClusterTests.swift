import Foundation
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// Three `kofu serve` processes on one PostgreSQL (docs/issuance.md, "Several nodes"): load spread over
/// them with retries on other nodes, deliveries and cancels at random nodes, a kill -9 in the middle, then
/// the pause, an import and a rollover while serving. PostgreSQL only (SQLite has one node).
@Suite(.serialized, .timeLimit(.minutes(10))) struct ClusterTests {
    static let ttl = 6
    static let nodeEnv: [String: String] = [
        "KOFU_NODE_HEARTBEAT_SECONDS": "1",
        "KOFU_ISSUANCE_DELIVERY_TTL_SECONDS": String(ttl),
        "KOFU_ISSUANCE_REQUEST_TIMEOUT_SECONDS": "10",
        // Queue rather than shed: two cores render for three nodes and the test's own client.
        "KOFU_ISSUANCE_MAX_QUEUE_WAIT_MS": "5000",
        "KOFU_ISSUANCE_MAX_WAITING": "300",
    ]

    // Three server processes and 1,400+ requests for minutes: scripts/test.sh runs it on its own after the parallel
    // suite, where its load had pushed other suites' client deadlines past their limits.
    @Test(.enabled(if: StorageTestSupport.postgresURL != nil, "needs KOFU_TEST_POSTGRES_URL (scripts/test.sh sets it)"))
    func threeNodesUnderLoadWithOneKilled() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: KofuBinary.path), "build the kofu executable first (swift build --build-tests)")
        let h = try await KioskHarness.make(backend: .postgres, people: 600)
        let staffPort = CrashSafetyTests.freePort()
        let nodes = try (0..<3).map {
            try ClusterNode(h, index: $0, extra: Self.nodeEnv.merging($0 == 0 ? ["KOFU_STAFF_PORT": String(staffPort)] : [:]) { $1 })
        }
        defer {
            for n in nodes { n.cleanUp() }
            Task { await h.cleanUp() }
        }
        let database = try await openDatabase(h)
        defer { Task { await database.close() } }
        _ = try await StaffStore(database: database).addUser("oper.cluster", role: .operator, password: Self.operatorPassword)
        for n in nodes { try await n.start() }
        let people = try await database.issuableResidents(limit: 320, year: h.latestYear)
        try #require(people.count >= 200)
        let year = h.latestYear
        let tally = Tally()
        /// issuance id per request id, from every 201 (first answer and replays).
        let answers = AnswerBook()
        let victim = nodes[2]
        var unfinishedIDs: [String] = []
        var killedAt = Date()

        try await withLoadClients(nodes.map(\.port)) { clients in
            let issued = Tally()
            let load = Task {
                await withTaskGroup(of: Void.self) { group in
                    for (i, p) in people.enumerated() {
                        group.addTask {
                            await Self.customer(i, card: p.cardSerial, year: year, clients: clients, tally: tally, issued: issued, answers: answers)
                        }
                    }
                }
            }
            // kill -9 the third node once a third of the issues are answered.
            for _ in 0..<1200 where await issued.count("201") < people.count / 3 { try await Task.sleep(for: .milliseconds(50)) }
            victim.kill9()
            killedAt = Date()
            unfinishedIDs = try await database.read { db in
                try await db.raw("SELECT id FROM issuances WHERE node_id = \(bind: victim.nodeID) AND status IN ('rendering', 'ready')")
                    .all().map { try $0.decode(column: "id", as: String.self) }
            }
            await load.value
        }
        let sent = await tally.count("sent")
        #expect(sent >= 1000, "at least 1,000 kiosk requests (sent \(sent))")
        #expect(await tally.count("wrong_node_200_other_document") == 0, "a fetch never returns another issuance's document")
        #expect(await tally.count("replay_other_id") == 0, "a replay on another node answers the same issuance")
        #expect(await tally.count("status_other_issuance") == 0, "every node reports the same issuance for an id")
        #expect(await tally.count("201") >= people.count / 2)
        #expect(await tally.count("fetch_410") > 0, "fetches from the wrong node were answered 410")

        // The survivors void the dead node's ready and rendering issuances once their time is up (TTL 6 s,
        // 3 missed beats of 1 s; rendering after the 10 s request timeout + 5 s), and expire their own.
        var left = -1
        for _ in 0..<120 {
            left = try await database.count("SELECT COUNT(*) AS n FROM issuances WHERE status IN ('rendering', 'ready')")
            if left == 0 { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(left == 0, "every issuance final after the TTL (\(left) left)")
        let sweepSeconds = Date().timeIntervalSince(killedAt)
        // When the survivors voided the victim's last issuance, counted from the kill.
        let lastLost = try await database.read { db in
            try await db.raw("SELECT MAX(at) AS at FROM issuance_events WHERE detail = 'node_lost'").first()?.decode(column: "at", as: Int64?.self)
        }
        let lostAfter = lastLost.map { Double($0) / 1000 - killedAt.timeIntervalSince1970 }
        let lostVoided = try await database.count("SELECT COUNT(*) AS n FROM issuance_events WHERE detail = 'node_lost'")
        // The victim's issuances unfinished at the kill: each is final now, and those that ran out were voided
        // by a survivor (`node_lost`), not by the victim's own sweeper (dead) or its restart (later).
        let killedIDs = unfinishedIDs
        let victimExpired = killedIDs.isEmpty ? [] : try await database.read { db in
            try await db.raw("""
                SELECT i.id AS id, e.detail AS detail FROM issuances i JOIN issuance_events e ON e.issuance_id = i.id AND e.status = i.status
                WHERE i.id IN (\(binds: killedIDs)) AND i.status IN ('expired', 'failed')
                """).all().map { (try $0.decode(column: "id", as: String.self), try $0.decode(column: "detail", as: String?.self)) }
        }
        for (id, detail) in victimExpired { #expect(detail == "node_lost", "\(id): voided by a survivor (\(detail ?? "-"))") }
        let nodesNow = try await NodeRegistry(database: database).all()
        #expect(nodesNow.first { $0.nodeID == victim.nodeID }?.state(at: Date()) == .unresponsive, "the killed node shows 応答なし")
        #expect(nodesNow.filter { $0.state(at: Date()) == .alive }.count == 2)

        // Nothing the survivors did is lost; numbers unique and gap-free; one request id, one issuance.
        try await Self.checkLedger(database, answers: answers)
        // Survivors' spools hold only documents of ready issuances: none are left.
        var survivors: [Int?] = []
        for _ in 0..<20 {
            survivors = [await nodes[0].spoolDocuments(), await nodes[1].spoolDocuments()]
            if survivors == [0, 0] { break }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(survivors == [0, 0], "no document left on the survivors (\(survivors))")

        // The dead node comes back with an empty spool (its documents died with it; none was ever on disk),
        // and it is alive again.
        #expect(SpoolCheck.filesOnDisk(under: victim.dataDir).isEmpty, "nothing of the spool on the killed node's disk")
        try await victim.start()
        #expect(await victim.spoolDocuments() == 0, "the restarted node's spool is empty")
        try await Task.sleep(for: .seconds(2))
        #expect(try await NodeRegistry(database: database).all().filter { $0.state(at: Date()) == .alive }.count == 3)

        try await withLoadClients(nodes.map(\.port) + [staffPort], maxConnections: 4) { all in
            let clients = Array(all.prefix(3)), staff = all[3]
            try await Self.consoleListsNodes(staff, victim: victim.nodeID)
            try await Self.pauseSpreads(staff, clients: clients, card: people[0].cardSerial, year: year)
            try await Self.importAndRolloverSpread(h, clients: clients, year: year)
        }
        print("cluster: sent \(sent) requests, \(await tally.count("201")) issued; all final \(String(format: "%.1f", sweepSeconds)) s after the kill (load included); the last node_lost void \(String(format: "%.1f", lostAfter ?? -1)) s after the kill (TTL \(Self.ttl) s, 3 missed beats of 1 s); node_lost \(lostVoided) of \(unfinishedIDs.count) unfinished at the kill")
        for n in nodes { await n.stop() }
    }

    /// One resident at the kiosk: issue (retried on the next node after 503 or no answer), sometimes a replay on
    /// another node, a fetch from a wrong node and from the issuing node, then deliver, cancel or walk away.
    static func customer(_ i: Int, card: String, year: Int, clients: [LoadClient], tally: Tally, issued: Tally,
                         answers: AnswerBook) async {
        let requestID = "CL-\(i)"
        let body: [String: Any] = ["request_id": requestID, "card_serial": card, "kind": "income_taxation", "fiscal_year": year]
        var answer: (node: Int, reply: LoadClient.Reply)?
        for attempt in 0..<8 {
            let n = (i + attempt) % 3
            await tally.add("sent")
            let reply = try? await clients[n].send("POST", "/kiosk/v1/issuances", json: body)
            if let reply { await tally.add("issue_\(reply.status)") }
            if let reply, reply.status != 503 { answer = (n, reply); break }
            try? await Task.sleep(for: .milliseconds(200 + 100 * attempt))
        }
        guard case let (n, reply)? = answer, reply.status == 201, let id = reply.json["issuance_id"] as? String else { return }
        await issued.add("201")
        await tally.add("201")
        await answers.answered(requestID, id)
        if i % 4 == 0 {
            let other = (n + 1) % 3
            await tally.add("sent")
            if let again = try? await clients[other].send("POST", "/kiosk/v1/issuances", json: body), again.status == 201 {
                await answers.answered(requestID, again.json["issuance_id"] as? String ?? "?")
                if again.json["issuance_id"] as? String != id { await tally.add("replay_other_id") }
            }
        }
        for fetchNode in [(n + 2) % 3, n] {
            await tally.add("sent")
            guard let f = try? await clients[fetchNode].send("GET", "/kiosk/v1/issuances/\(id)/document") else { continue }
            if f.status == 410 { await tally.add("fetch_410") }
            if f.status == 200 {
                if f.header("Kofu-Issuance-Id") != id || !f.body.starts(with: Array("%PDF".utf8)) {
                    await tally.add("wrong_node_200_other_document")
                }
                await answers.fetched(id, node: fetchNode)
            }
        }
        // The status, asked at any node, names the same issuance.
        await tally.add("sent")
        if let s = try? await clients[Int.random(in: 0..<3)].send("GET", "/kiosk/v1/issuances/\(id)"), s.status == 200,
           s.json["issuance_id"] as? String != id || s.json["request_id"] as? String != requestID {
            await tally.add("status_other_issuance")
        }
        let actionNode = Int.random(in: 0..<3)
        switch i % 3 {
        case 0:
            await tally.add("sent")
            if let r = try? await clients[actionNode].send("POST", "/kiosk/v1/issuances/\(id)/delivered"), r.status == 200 {
                await answers.settled(id, "delivered")
            }
        case 1:
            await tally.add("sent")
            if let r = try? await clients[actionNode].send("POST", "/kiosk/v1/issuances/\(id)/cancel", json: ["reason": "user_cancelled"]),
               r.status == 200 {
                await answers.settled(id, "cancelled")
            }
        default:
            break
        }
    }

    /// Numbers unique and gap-free per year (void ones included), each number's standing matching its
    /// issuance; every answered issuance in the ledger under its request id; every acknowledged delivery and
    /// cancel recorded; every document served by the node that issued it.
    static func checkLedger(_ database: KofuDatabase, answers: AnswerBook) async throws {
        let rows = try await database.read { db in
            try await db.raw("""
                SELECT n.year AS year, n.sequence AS seq, n.number AS number, n.status AS nstatus, i.status AS istatus
                FROM certificate_numbers n JOIN issuances i ON i.id = n.issuance_id ORDER BY n.year, n.sequence
                """).all().map { (try $0.decode(column: "year", as: Int.self), try $0.decode(column: "seq", as: Int.self),
                                  try $0.decode(column: "number", as: String.self), try $0.decode(column: "nstatus", as: String.self),
                                  try $0.decode(column: "istatus", as: String.self)) }
        }
        #expect(Set(rows.map(\.2)).count == rows.count, "no certificate number twice")
        for (year, group) in Dictionary(grouping: rows, by: \.0) {
            #expect(group.map(\.1).sorted() == Array(1...group.count), "year \(year): sequences 1…\(group.count) without a gap")
        }
        for r in rows { #expect((r.4 == "delivered") == (r.3 == "issued"), "\(r.2): issuance \(r.4), number \(r.3)") }

        let ledger = try await database.read { db in
            try await db.raw("SELECT id, request_id, status, node_id FROM issuances").all().map {
                (id: try $0.decode(column: "id", as: String.self), request: try $0.decode(column: "request_id", as: String.self),
                 status: try $0.decode(column: "status", as: String.self), node: try $0.decode(column: "node_id", as: String.self))
            }
        }
        let byRequest = Dictionary(grouping: ledger, by: \.request)
        let byID = Dictionary(uniqueKeysWithValues: ledger.map { ($0.id, $0) })
        for (request, ids) in await answers.byRequest {
            #expect(ids.count == 1, "\(request): one issuance whichever node answered (\(ids))")
            #expect(byRequest[request]?.map(\.id) == Array(ids), "\(request): the ledger holds the answered issuance")
        }
        for (id, status) in await answers.settledStatus {
            #expect(byID[id]?.status == status, "\(id): acknowledged \(status), ledger \(byID[id]?.status ?? "missing")")
        }
        for (id, node) in await answers.fetchedFrom {
            #expect(byID[id]?.node == "cluster-\(node)", "\(id): served by the node that issued it")
        }
    }

    static let operatorPassword = "pw-oper-cluster-long-enough-1"

    /// The operators' API on node 0 lists all three nodes with their last heartbeat, all alive again.
    static func consoleListsNodes(_ staff: LoadClient, victim: String) async throws {
        let session = try await staff.staffSession("oper.cluster", operatorPassword)
        let summary = try await staff.send("GET", "/staff/operator/summary", headers: session)
        #expect(summary.status == 200)
        let nodes = summary.json["nodes"] as? [[String: Any]] ?? []
        #expect(nodes.compactMap { $0["node_id"] as? String } == ["cluster-0", "cluster-1", "cluster-2"])
        for node in nodes {
            #expect(node["state"] as? String == "alive", "\(node)")
            #expect((node["last_heartbeat"] as? String)?.isEmpty == false)
            #expect((node["seconds_since_heartbeat"] as? Int ?? 99) <= 3)
        }
        #expect(nodes.first { $0["node_id"] as? String == "cluster-0" }?["this_node"] as? Bool == true)
        let page = try await staff.send("GET", "/staff/operator", headers: session)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(page.status == 200 && html.contains("<h2>ノード</h2>") && html.contains("cluster-0(このノード)") && html.contains(victim))
    }

    /// A pause made on node 0's staff page (stored in the shared service state) closes every node's kiosk and
    /// `/readyz` at their next request: the state is read from the database per request, not cached.
    static func pauseSpreads(_ staff: LoadClient, clients: [LoadClient], card: String, year: Int) async throws {
        let session = try await staff.staffSession("oper.cluster", operatorPassword)
        let started = Date()
        let paused = try await staff.send("POST", "/staff/operator/intake/pause", headers: session,
                                          body: Array(#"{"reason":"cluster test"}"#.utf8))
        #expect(paused.status == 200, "pause answered \(paused.status)")
        var seen: [Double] = []
        for client in clients {
            for _ in 0..<100 {
                if let r = try? await client.send("GET", "/readyz"), r.status == 503, String(decoding: r.body, as: UTF8.self).contains("paused") {
                    seen.append(Date().timeIntervalSince(started))
                    break
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let refused = try await client.send("POST", "/kiosk/v1/issuances",
                                                json: ["request_id": "PAUSE-\(UUID().uuidString.prefix(8))", "card_serial": card,
                                                       "kind": "income_taxation", "fiscal_year": year])
            let code = (refused.json["error"] as? [String: Any])?["code"] as? String
            #expect(refused.status == 503 && code == "SERVICE_CLOSED")
        }
        #expect(seen.count == clients.count, "every node paused")
        #expect((seen.max() ?? 99) < 1.0, "a pause applies to every node within 1 s (took \(seen.max() ?? -1) s)")
        print("cluster: pause seen by every node within \(String(format: "%.3f", seen.max() ?? -1)) s")
        let resumed = try await staff.send("POST", "/staff/operator/intake/resume", headers: session, body: Array("{}".utf8))
        #expect(resumed.status == 200)
    }

    /// A new linkage batch imported while serving is used by every node at once (card look-ups read the
    /// database); a rollover shows in every node's held fiscal years within the loaded-data cache's 10 s.
    static func importAndRolloverSpread(_ h: KioskHarness, clients: [LoadClient], year: Int) async throws {
        // A second batch (other people), extracted a minute after the first, so the import takes it.
        let batch = "\(h.dataDir)-batch2"
        defer { try? FileManager.default.removeItem(atPath: batch) }
        var generator = SampleBatchGenerator(people: 40, seed: 99, today: LocalDate.todayInJapan())
        generator.batchID = "\(LocalDate.todayInJapan().iso.replacingOccurrences(of: "-", with: ""))-02"
        let summary = try generator.write(to: batch)
        let manifestPath = "\(batch)/manifest.json"
        let manifest = try String(contentsOfFile: manifestPath, encoding: .utf8).replacingOccurrences(of: "T02:00:00+09:00", with: "T02:01:00+09:00")
        try manifest.write(toFile: manifestPath, atomically: true, encoding: .utf8)
        let card = try #require(summary.demoCards.first { $0.caseName == "ordinary" }?.cardSerial)
        let before = try await clients[0].send("POST", "/kiosk/v1/issuances",
                                               json: ["request_id": "IMP-before", "card_serial": card, "kind": "income_taxation", "fiscal_year": year])
        #expect(before.status != 201, "the new batch's card is unknown before the import")
        let imported = await runKofu(h, ["import", batch])
        #expect(imported.status == 0, "import: \(imported.output)")
        for (n, client) in clients.enumerated() {
            let r = try await client.send("POST", "/kiosk/v1/issuances",
                                          json: ["request_id": "IMP-\(n)", "card_serial": card, "kind": "income_taxation", "fiscal_year": year])
            #expect(r.status == 201, "node \(n) issues from the newly imported batch at once (got \(r.status))")
            if let id = r.json["issuance_id"] as? String { _ = try? await client.send("POST", "/kiosk/v1/issuances/\(id)/delivered") }
        }

        func heldYears(_ client: LoadClient) async -> String? {
            guard let r = try? await client.send("GET", "/readyz") else { return nil }
            return String(decoding: r.body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("fiscal_years=") }.map(String.init)
        }
        // The import changed no fiscal year, but wait out the 10 s cache anyway so that `held` is current.
        try await Task.sleep(for: .seconds(11))
        let held = await heldYears(clients[0]) ?? ""
        let count = held.dropFirst("fiscal_years=".count).split(separator: ",").count
        try #require(count >= 2, "several fiscal years held (\(held))")
        let started = Date()
        let rolled = await runKofu(h, ["rollover"], extra: ["KOFU_RETENTION_FISCAL_YEARS": String(count - 1)])
        #expect(rolled.status == 0, "rollover: \(rolled.output)")
        var seen: [Double] = []
        for client in clients {
            for _ in 0..<300 {
                if let now = await heldYears(client), now != held, !now.isEmpty {
                    seen.append(Date().timeIntervalSince(started))
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(seen.count == clients.count, "every node sees the rollover without a restart")
        #expect((seen.max() ?? 99) <= 12, "within the 10 s loaded-data cache (took \(seen.max() ?? -1) s)")
        print("cluster: rollover seen by every node within \(String(format: "%.1f", seen.max() ?? -1)) s")
    }

    /// Runs a `kofu` command with the harness's configuration; returns its exit status and output.
    static func runKofu(_ h: KioskHarness, _ arguments: [String], extra: [String: String] = [:]) async -> (status: Int32, output: String) {
        var env = ProcessInfo.processInfo.environment
        for (k, v) in h.environment.merging(extra, uniquingKeysWith: { $1 }) { env[k] = v }
        env["KOFU_CONFIG"] = "\(KioskHarness.packageRoot)/config/kofu.yaml"
        let log = "\(h.dataDir)-cmd-\(UUID().uuidString.prefix(8)).log"
        let status = await ChildProcess.run(KofuBinary.path, arguments, environment: env, log: log)
        let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(atPath: log)
        return (status, output)
    }
}

/// What the kiosk side was told, for comparing with the ledger afterwards.
actor AnswerBook {
    private(set) var byRequest: [String: Set<String>] = [:]
    private(set) var settledStatus: [String: String] = [:]
    private(set) var fetchedFrom: [String: Int] = [:]
    func answered(_ request: String, _ id: String) { byRequest[request, default: []].insert(id) }
    func settled(_ id: String, _ status: String) { settledStatus[id] = status }
    func fetched(_ id: String, node: Int) { fetchedFrom[id] = node }
}
