import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import Testing

/// The operators' console (`/staff/operator`, its JSON summary) and the daily settlement, against the
/// ledger the kiosk requests of each test leave behind, on both backends.
@Suite struct OperatorConsoleTests {
    static func signIn(_ client: any TestClientProtocol, _ services: KofuServices) async throws -> String {
        _ = try await services.staffAuth.store.addUser("op.console", role: .operator, password: "operator console 1")
        return try #require(try await client.login("op.console", "operator console 1").1)
    }

    static func summary(_ client: any TestClientProtocol, _ cookie: String) async throws -> [String: Any] {
        try await client.execute(uri: "/staff/operator/summary", method: .get, headers: [.cookie: cookie]) { Kiosk.json($0.body) }
    }

    /// A kiosk request from terminal `chain/store/terminal`; returns the issuance id (nil when refused).
    static func issue(_ client: any TestClientProtocol, _ requestID: String, card: String, year: Int,
                      terminal: (String, String, String) = ("7", "131041-0042", "K03"), copies: Int = 1) async throws -> String? {
        let o: [String: Any] = ["request_id": requestID, "card_serial": card, "kind": "income_taxation", "fiscal_year": year, "copies": copies,
                                "terminal": ["store_chain": terminal.0, "store_id": terminal.1, "terminal_id": terminal.2]]
        let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: o))
        return try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders, body: body) {
            Kiosk.json($0.body)["issuance_id"] as? String
        }
    }

    static func cancel(_ client: any TestClientProtocol, _ id: String, _ reason: String) async throws {
        let status = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/cancel", method: .post, headers: Kiosk.jsonHeaders,
                                              body: ByteBuffer(string: #"{"reason":"\#(reason)"}"#)) { $0.status }
        #expect(status == .ok)
    }

    static func deliver(_ client: any TestClientProtocol, _ id: String) async throws {
        #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post) { $0.status } == .ok)
    }

    @Test("the status line: 受付中, then 受付不可・データ更新遅延 when the data is stale; a pause names who and why",
          arguments: StorageTestSupport.backends)
    func statusLine(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let cookie = try await Self.signIn(client, services)
            #expect(try await Self.summary(client, cookie)["status_line"] as? String == "受付中")
            var headers = staffHeaders(cookie: cookie, json: false)
            headers[.contentType] = "application/x-www-form-urlencoded"
            // A form pause without a reason is refused and changes nothing.
            let bare = try await client.execute(uri: "/staff/operator/intake/pause", method: .post, headers: headers,
                                                body: ByteBuffer(string: "reason=+")) { $0.status }
            #expect(bare == .badRequest)
            #expect(try await services.issuance.intakePaused() == false)
            _ = try await client.execute(uri: "/staff/operator/intake/pause", method: .post, headers: headers,
                                         body: ByteBuffer(string: "reason=maintenance&confirm=1")) { $0.status }
            let paused = try #require(try await Self.summary(client, cookie)["status_line"] as? String)
            #expect(paused.hasPrefix("受付不可・受付停止(op.console、") && paused.hasSuffix("理由: maintenance)"), "\(paused)")
            _ = try await client.execute(uri: "/staff/operator/intake/resume", method: .post, headers: headers,
                                         body: ByteBuffer(string: "confirm=1")) { $0.status }
            // Older than max_data_age_hours (48) even between 00:00 and 02:00 (Japan), when the sample batch, extracted
            // at 02:00 today, is still in the future.
            h.clock.advance(52 * 3600)
            let cookie2 = try await client.login("op.console", "operator console 1").1!
            let stale = try #require(try await Self.summary(client, cookie2)["status_line"] as? String)
            #expect(stale.hasPrefix("受付不可・データ更新遅延"), "\(stale)")
            // Every data set is stale and each closes the whole service: no reason is shown with an empty list of kinds.
            #expect(!stale.contains("対象: ／") && !stale.hasSuffix("対象: "), "\(stale)")
        }
    }

    @Test("queue and 24 h numbers match what the kiosk did; zero rows are shown; a jamming terminal stands out",
          arguments: StorageTestSupport.backends)
    func numbersMatchTheLedger(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let year = h.latestYear
            let a = try #require(try await Self.issue(client, "Q1", card: h.card("ordinary"), year: year))
            _ = try #require(try await Self.issue(client, "Q2", card: h.card("ordinary"), year: year))
            _ = try #require(try await Self.issue(client, "Q3", card: h.card("ordinary"), year: year - 1))
            let jam1 = try #require(try await Self.issue(client, "J1", card: h.card("ordinary"), year: year, terminal: ("L", "S9", "T1")))
            let jam2 = try #require(try await Self.issue(client, "J2", card: h.card("ordinary"), year: year, terminal: ("L", "S9", "T1")))
            #expect(try await Self.issue(client, "D1", card: h.card("deceased"), year: year) == nil)
            try await Self.deliver(client, a)
            try await Self.cancel(client, jam1, "print_failure")
            try await Self.cancel(client, jam2, "print_failure")

            let cookie = try await Self.signIn(client, services)
            let s = try await Self.summary(client, cookie)
            let queue = try #require(s["queue"] as? [String: Any])
            #expect(queue["ready"] as? Int == 2 && queue["rendering"] as? Int == 0)
            #expect(queue["spool_files"] as? Int == 2)
            let day = try #require(s["last_24h"] as? [String: Any])
            #expect(day["issued"] as? Int == 5 && day["delivered"] as? Int == 1 && day["waiting"] as? Int == 2)
            #expect(day["cancelled_by_reason"] as? [String: Int] == ["print_failure": 2])
            #expect(day["expired"] as? Int == 0 && day["failed"] as? Int == 0)
            #expect(day["refused_by_code"] as? [String: Int] == ["COUNTER_ONLY": 1])
            #expect(day["refused_by_reason"] as? [String: Int] == ["deceased": 1])
            #expect((s["last_hour"] as? [String: Any])?["issued"] as? Int == 5)
            let minutes = try #require(s["per_minute"] as? [[String: Any]])
            #expect(minutes.count == 60 && minutes.map { $0["issued"] as? Int ?? 0 }.reduce(0, +) == 5)
            #expect(minutes.map { $0["refused"] as? Int ?? 0 }.reduce(0, +) == 1)
            #expect(minutes.contains { $0["latency_p99_seconds"] is Double })
            #expect((s["per_hour"] as? [[String: Any]])?.count == 24)

            let terminals = try #require(s["terminals"] as? [[String: Any]])
            #expect(terminals.first?["terminal"] as? String == "L/S9/T1", "the worst first")
            #expect(terminals.first?["problem_rate_percent"] as? Double == 100)
            #expect(terminals.first { $0["terminal"] as? String == "7/131041-0042/K03" }?["problem_rate_percent"] as? Double == 0)
            #expect((s["store_chains"] as? [[String: Any]])?.map { $0["store_chain"] as? String } == ["L", "7"])

            let page = try await client.execute(uri: "/staff/operator", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("<th scope=\"row\">期限切れ</th><td class=\"n\">0件</td><td class=\"n\">0件</td>"), "zero rows shown")
            #expect(page.contains("<th scope=\"row\">カード未登録(CARD_NOT_REGISTERED)</th><td class=\"n\">0件</td>"))
            #expect(page.contains("<th scope=\"row\">　取消: 印刷失敗</th><td class=\"n\">2件</td><td class=\"n\">2件</td>"))
            #expect(page.contains("<svg class=\"chart\""))
            #expect(page.contains("/staff/operator/console.js") && !page.contains("http-equiv=\"refresh\""))
            #expect(!page.contains(h.card("ordinary")) && !page.contains(h.cards["ordinary"]!.addresseeID))
        }
    }

    @Test("the settlement's totals reconcile with the ledger; the CSV has a BOM", arguments: StorageTestSupport.backends)
    func settlementReconciles(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let year = h.latestYear
            let a = try #require(try await Self.issue(client, "S1", card: h.card("ordinary"), year: year, copies: 2))
            let b = try #require(try await Self.issue(client, "S2", card: h.card("ordinary"), year: year - 1, terminal: ("L", "S9", "T1")))
            let c = try #require(try await Self.issue(client, "S3", card: h.card("ordinary"), year: year, copies: 3))
            _ = try #require(try await Self.issue(client, "S4", card: h.card("ordinary"), year: year))
            try await Self.deliver(client, a)
            try await Self.deliver(client, b)
            try await Self.cancel(client, c, "user_cancelled")

            let ledger = try await services.database.read { db in
                let d = try await db.raw("SELECT COUNT(*) AS n, SUM(copies) AS c, SUM(fee_yen) AS f FROM issuances WHERE status = 'delivered'").first()!
                let v = try await db.raw("SELECT COUNT(*) AS n FROM certificate_numbers WHERE status = 'void'").first()!
                let x = try await db.raw("SELECT COUNT(*) AS n FROM issuances WHERE status IN ('cancelled', 'expired', 'failed')").first()!
                return [try d.decode(column: "n", as: Int.self), try d.decode(column: "c", as: Int.self), try d.decode(column: "f", as: Int.self),
                        try x.decode(column: "n", as: Int.self), try v.decode(column: "n", as: Int.self)]
            }
            #expect(ledger[0] == 2 && ledger[1] == 3 && ledger[3] == 1 && ledger[4] == 3)

            let cookie = try await Self.signIn(client, services)
            let csv = try await client.execute(uri: "/staff/operator/settlement?format=csv", method: .get, headers: [.cookie: cookie]) { r in
                (r.headers[.contentType], Array(r.body.readableBytesView))
            }
            #expect(csv.0 == "text/csv; charset=utf-8")
            #expect(csv.1.prefix(3) == [0xEF, 0xBB, 0xBF])
            let lines = String(decoding: csv.1.dropFirst(3), as: UTF8.self).split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(lines.first?[1] == "店舗チェーン")
            let total = try #require(lines.last)
            #expect(total[1] == "合計")
            #expect([total[3], total[4], total[6], total[7], total[8]].map { Int($0) } == ledger.map { Optional($0) })
            // Per chain: chain 7 delivered 2 copies, chain L 1 copy.
            #expect(lines.contains { $0[1] == "7" && $0[4] == "2" })
            #expect(lines.contains { $0[1] == "L" && $0[4] == "1" })

            let page = try await client.execute(uri: "/staff/operator/settlement", method: .get, headers: [.cookie: cookie]) { String(buffer: $0.body) }
            #expect(page.contains("日次精算") && page.contains("\(ledger[2])円"))
            let bad = try await client.execute(uri: "/staff/operator/settlement?date=2026-02-30", method: .get, headers: [.cookie: cookie]) { $0.status }
            #expect(bad == .badRequest)
        }
    }

    @Test("a background refresh (X-Kofu-Background: 1) does not keep an idle session alive; a page view does")
    func backgroundRefreshDoesNotExtendTheSession() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let cookie = try await Self.signIn(client, services)
            let background: HTTPFields = [.cookie: cookie, HTTPField.Name("X-Kofu-Background")!: "1"]
            h.clock.advance(10 * 60)
            #expect(try await client.execute(uri: "/staff/operator", method: .get, headers: background) { $0.status } == .ok)
            h.clock.advance(10 * 60)  // 20 minutes since the last real activity (idle timeout 15)
            #expect(try await client.execute(uri: "/staff/operator/summary", method: .get, headers: background) { $0.status } == .unauthorized)

            let other = try #require(try await client.login("op.console", "operator console 1").1)
            h.clock.advance(10 * 60)
            #expect(try await client.get("/staff/operator", cookie: other) == .ok)
            h.clock.advance(10 * 60)  // 10 minutes since the page view
            #expect(try await client.get("/staff/operator", cookie: other) == .ok)
        }
    }
}
