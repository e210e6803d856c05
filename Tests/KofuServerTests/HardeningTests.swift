import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// Issue #11: each hole an outside probe found in the server, closed, with the probe repeated.
@Suite("Hardening: the server", .serialized)
struct HardeningTests {
    static func readyz(_ client: any TestClientProtocol) async throws -> (HTTPResponse.Status, String) {
        try await client.execute(uri: "/readyz", method: .get) { ($0.status, String(buffer: $0.body)) }
    }

    static func issue(_ client: any TestClientProtocol, _ id: String, card: String, kind: String = "income_taxation",
                      year: Int, headers: HTTPFields = Kiosk.jsonHeaders) async throws -> (HTTPResponse.Status, String?) {
        try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                 body: Kiosk.issueBody(id, card: card, kind: kind, year: year)) { ($0.status, Kiosk.errorCode($0.body)) }
    }

    // MARK: item 2 — one decision for the kiosk, /readyz and the operators' page

    @Test("stale data: the kiosk answers SERVICE_CLOSED, /readyz is not ready and says why, the page says 受付不可")
    func staleDataIsNotReady() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let (ready, body) = try await Self.readyz(client)
            #expect(ready == .ok, "\(body)")
            #expect(try await Self.issue(client, "S1", card: h.card("ordinary"), year: h.latestYear).0 == .created)

            // The sample batch is extracted at 02:00 Japan time "today", which is up to 2 h ahead of now just after
            // midnight: 52 h makes it older than max_data_age_hours (48) at any time of day.
            h.clock.advance(52 * 3600)
            let (stale, staleBody) = try await Self.readyz(client)
            #expect(stale == .serviceUnavailable)
            #expect(staleBody.contains("data_stale_residents"), "\(staleBody)")
            #expect(staleBody.contains("income_taxation=closed:data_stale_residents"))
            let refused = try await Self.issue(client, "S2", card: h.card("ordinary"), year: h.latestYear)
            #expect(refused == (.serviceUnavailable, "SERVICE_CLOSED"))

            _ = try await services.staffAuth.store.addUser("op.one", role: .operator, password: "operator password 1")
            let cookie = try await client.login("op.one", "operator password 1").1
            let page = try await client.execute(uri: "/staff/operator", method: .get, headers: [.cookie: cookie!]) { String(buffer: $0.body) }
            #expect(page.contains("受付不可") && page.contains("データ更新遅延(住民)"), "\(page)")
            #expect(!page.contains(">受付中<"))
        }
    }

    @Test("a pause shows on /readyz and on the page with who, since when and why; resuming reopens")
    func pauseIsNotReady() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            _ = try await services.staffAuth.store.addUser("op.two", role: .operator, password: "operator password 2")
            let cookie = try await client.login("op.two", "operator password 2").1
            var headers = staffHeaders(cookie: cookie, json: false)
            headers[.contentType] = "application/x-www-form-urlencoded"
            let form = "reason=" + "印刷機障害のため".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let paused = try await client.execute(uri: "/staff/operator/intake/pause", method: .post, headers: headers,
                                                  body: ByteBuffer(string: form)) { ($0.status, $0.headers[.location]) }
            #expect(paused.0 == .seeOther && paused.1 == "/staff/operator")
            let (status, body) = try await Self.readyz(client)
            #expect(status == .serviceUnavailable && body.contains("paused") && body.contains("intake_paused=true"), "\(body)")
            #expect(try await Self.issue(client, "P1", card: h.card("ordinary"), year: h.latestYear) == (.serviceUnavailable, "SERVICE_CLOSED"))
            // The console counts the closed answer, which the ledger does not hold.
            let summary = Kiosk.json(try await client.execute(uri: "/staff/operator/summary", method: .get, headers: [.cookie: cookie!]).body)
            #expect((summary["last_hour"] as? [String: Any])?["closed"] as? Int == 1, "\(summary["last_hour"] ?? "")")
            let page = try await client.execute(uri: "/staff/operator", method: .get, headers: [.cookie: cookie!]) { String(buffer: $0.body) }
            #expect(page.contains("受付不可") && page.contains("受付停止(op.two") && page.contains("印刷機障害のため"), "\(page)")
            _ = try await client.execute(uri: "/staff/operator/intake/resume", method: .post, headers: headers, body: ByteBuffer(string: "x=1"))
            #expect(try await Self.readyz(client).0 == .ok)
            #expect(try await Self.issue(client, "P2", card: h.card("ordinary"), year: h.latestYear).0 == .created)
        }
    }

    @Test("a closed day closes /readyz with closed_day")
    func closedDayIsNotReady() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let today = JapanTime.localDate(Date())
        let md = String(format: "%02d-%02d", today.month, today.day)
        try await h.withLiveServer(["KOFU_ISSUANCE_CLOSED_DAYS": md]) { client, _ in
            let (status, body) = try await Self.readyz(client)
            #expect(status == .serviceUnavailable && body.contains("closed_day"), "\(body)")
            #expect(try await Self.issue(client, "C1", card: h.card("ordinary"), year: h.latestYear) == (.serviceUnavailable, "SERVICE_CLOSED"))
        }
    }

    // MARK: item 3 — /metrics tells no one why a person was refused

    @Test("/metrics counts refusals by public code only, and needs the bearer token once one is configured")
    func metricsCarryPublicCodesOnly() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let tokenFile = (h.dataDir as NSString).appendingPathComponent("metrics.token")
        let token = "metrics-token-\(UUID().uuidString)"
        try token.write(toFile: tokenFile, atomically: true, encoding: .utf8)
        try await h.withLiveServer(["KOFU_METRICS_BEARER_TOKEN_FILE": tokenFile]) { client, _ in
            #expect(try await client.execute(uri: "/metrics", method: .get).status == .unauthorized)
            #expect(try await client.execute(uri: "/metrics", method: .get, headers: [.authorization: "Bearer wrong-token-0000000"]).status == .unauthorized)
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            #expect(try await Self.issue(client, "M1", card: h.card("support_measure"), year: h.latestYear) == (.unprocessableContent, "COUNTER_ONLY"))
            let text = try await client.execute(uri: "/metrics", method: .get, headers: auth) { String(buffer: $0.body) }
            let refusals = text.split(separator: "\n").filter { $0.hasPrefix("kofu_refusals_total") }
            #expect(refusals.contains { $0.contains("code=\"COUNTER_ONLY\"") }, "\(refusals)")
            #expect(!refusals.contains { $0.contains("reason") }, "\(refusals)")
            // The internal reasons themselves (the restriction kinds); the data set `restrictions` may be named.
            for reason in Restriction.Kind.allCases.map(\.rawValue) {
                #expect(!text.contains(reason), "an internal reason reached /metrics: \(reason)")
            }
        }
    }

    // MARK: items 5, 9, 10 — request bodies, media types, routes

    @Test("oversize bodies get 413 JSON on every endpoint with a body, and change nothing")
    func oversizeBody() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let big = ByteBuffer(string: "{\"request_id\":\"" + String(repeating: "A", count: 17 * 1024) + "\"}")
            for path in ["/kiosk/v1/issuances", "/kiosk/v1/issuances/\(UUID().uuidString.lowercased())/cancel"] {
                let r = try await client.execute(uri: path, method: .post, headers: Kiosk.jsonHeaders, body: big)
                #expect(r.status == .contentTooLarge, "\(path)")
                #expect(Kiosk.errorCode(r.body) == "PAYLOAD_TOO_LARGE", "\(path)")
            }
            let staffBig = ByteBuffer(string: "{\"userID\":\"" + String(repeating: "a", count: 70 * 1024) + "\"}")
            let staff = try await client.execute(uri: "/staff/login", method: .post, headers: Kiosk.jsonHeaders, body: staffBig)
            #expect(staff.status == .contentTooLarge && Kiosk.errorCode(staff.body) == "PAYLOAD_TOO_LARGE")
            #expect(try await services.issuance.ledger.statusCounts(since: .distantPast).isEmpty)
        }
    }

    @Test("a JSON object with a key twice is 400 naming the key, never issued")
    func duplicateKeys() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let body = """
            {"request_id":"DUP-1","card_serial":"\(h.card("ordinary"))","kind":"income_taxation","fiscal_year":\(h.latestYear),
             "copies":1,"card_serial":"\(h.card("deceased"))","terminal":{"store_chain":"7","store_id":"131041-0042","terminal_id":"K03"}}
            """
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders, body: ByteBuffer(string: body))
            #expect(r.status == .badRequest && Kiosk.errorCode(r.body) == "INVALID_REQUEST")
            #expect(String(buffer: r.body).contains("card_serial"))
            // Nested and escaped: "store\u005fid" is "store_id".
            let nested = """
            {"request_id":"DUP-2","card_serial":"\(h.card("ordinary"))","kind":"income_taxation","fiscal_year":\(h.latestYear),
             "copies":1,"terminal":{"store_chain":"7","store_id":"1","store\\u005fid":"2","terminal_id":"K03"}}
            """
            let n = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders, body: ByteBuffer(string: nested))
            #expect(n.status == .badRequest && String(buffer: n.body).contains("terminal.store_id"))
            #expect(try await services.issuance.ledger.get(requestID: "DUP-1") == nil)
        }
    }

    @Test("text/plain is 415, an unknown route is JSON 404, a wrong method is 405 with Allow")
    func mediaTypesAndRoutes() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let plain = try await Self.issue(client, "T1", card: h.card("ordinary"), year: h.latestYear, headers: [.contentType: "text/plain"])
            #expect(plain == (.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"))
            let none = try await Self.issue(client, "T2", card: h.card("ordinary"), year: h.latestYear, headers: [:])
            #expect(none == (.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"))
            #expect(try await services.issuance.ledger.get(requestID: "T1") == nil)

            let unknown = try await client.execute(uri: "/kiosk/v1/nothing-here", method: .get)
            #expect(unknown.status == .notFound && Kiosk.errorCode(unknown.body) == "NOT_FOUND")
            #expect(unknown.headers[.contentType]?.hasPrefix("application/json") == true)
            let wrong = try await client.execute(uri: "/kiosk/v1/issuances", method: .get)
            #expect(wrong.status == .methodNotAllowed && Kiosk.errorCode(wrong.body) == "METHOD_NOT_ALLOWED")
            #expect(wrong.headers[.allow] == "POST")
            let id = UUID().uuidString.lowercased()
            let del = try await client.execute(uri: "/kiosk/v1/issuances/\(id)", method: .delete)
            #expect(del.status == .methodNotAllowed && del.headers[.allow] == "GET, HEAD")
            // A handler's own 404 (an unknown issuance) is still the contract's NOT_FOUND, not a 405.
            let missing = try await client.execute(uri: "/kiosk/v1/issuances/\(id)", method: .get)
            #expect(missing.status == .notFound && Kiosk.errorCode(missing.body) == "NOT_FOUND")
        }
    }

    @Test("an unknown staff URL: a browser gets the Japanese 404 page, a program JSON")
    func unknownStaffURL() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, _ in
            let page = try await client.execute(uri: "/staff/no-such-page", method: .get, headers: [.accept: "text/html"])
            #expect(page.status == .notFound && page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(String(buffer: page.body).contains("ページが見つかりません") && String(buffer: page.body).contains("lang=\"ja\""))
            let json = try await client.execute(uri: "/staff/no-such-page", method: .get)
            #expect(json.status == .notFound && Kiosk.errorCode(json.body) == "NOT_FOUND")
        }
    }

    // MARK: item 6 — CSRF

    @Test("staff POSTs need the session's CSRF token, a same-site origin and a JSON or form body")
    func csrf() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            _ = try await services.staffAuth.store.addUser("admin.one", role: .administrator, password: "administrator password")
            let login = try await client.execute(uri: "/staff/login", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: ByteBuffer(string: #"{"userID":"admin.one","password":"administrator password"}"#))
            let cookie = login.headers[values: .setCookie].first { $0.hasPrefix("kofu_staff=") }.map { String($0.split(separator: ";")[0]) }!
            let token = try #require(Kiosk.json(login.body)["csrfToken"] as? String)
            func create(_ id: String, _ headers: HTTPFields) async throws -> HTTPResponse.Status {
                try await client.execute(uri: "/staff/users", method: .post, headers: headers,
                                         body: ByteBuffer(string: #"{"userID":"\#(id)","role":"administrator","password":"a long enough password"}"#)).status
            }
            // The probe: text/plain from another origin.
            #expect(try await create("evil.a", [.cookie: cookie, .contentType: "text/plain", .origin: "https://evil.example"]) == .unsupportedMediaType)
            // JSON with the cookie but without the token; with a wrong token; with the token from another origin.
            #expect(try await create("evil.b", [.cookie: cookie, .contentType: "application/json"]) == .forbidden)
            #expect(try await create("evil.c", [.cookie: cookie, .contentType: "application/json", StaffAuth.csrfHeader: String(repeating: "0", count: 64)]) == .forbidden)
            #expect(try await create("evil.d", [.cookie: cookie, .contentType: "application/json", StaffAuth.csrfHeader: token,
                                                .origin: "https://evil.example"]) == .forbidden)
            #expect(try await create("evil.e", [.cookie: cookie, .contentType: "application/json", StaffAuth.csrfHeader: token,
                                                .referer: "https://evil.example/page"]) == .forbidden)
            for id in ["evil.a", "evil.b", "evil.c", "evil.d", "evil.e"] {
                #expect(try await services.staffAuth.store.users().contains { $0.userID == id } == false, "\(id) was created")
            }
            // The same request from the page itself goes through (the test client sends `Host: localhost`).
            #expect(try await create("good.admin", [.cookie: cookie, .contentType: "application/json", StaffAuth.csrfHeader: token,
                                                    .origin: "http://localhost"]) == .created)
            // A form post carries the token as _csrf.
            let form = try await client.execute(uri: "/staff/operator/intake/pause", method: .post,
                                                headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"],
                                                body: ByteBuffer(string: "_csrf=\(token)&reason=test"))
            #expect(form.status == .forbidden)  // an administrator may not pause (denied before the token is read)
            try await services.audit.flush()
            let denials = try await services.audit.entries(limit: 10_000).filter { $0.action == "access_denied" }.map(\.reason)
            #expect(denials.filter { ["csrf_missing", "csrf_mismatch", "cross_origin"].contains($0) }.count == 4, "\(denials)")
        }
    }

    // MARK: item 7 — slow clients

    @Test("slow headers, slow bodies and idle connections are closed")
    func slowClients() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        // The idle timeout is long here, so only the header and body deadlines can close these connections.
        let limits = ["KOFU_HTTP_HEADER_TIMEOUT_SECONDS": "1", "KOFU_HTTP_BODY_TIMEOUT_SECONDS": "1", "KOFU_HTTP_IDLE_TIMEOUT_SECONDS": "60"]
        try await h.withLiveServer(limits) { client, _ in
            let port = try #require(client.port)
            // Slow headers: a header line every 300 ms, for at most 6 s.
            // What the client saw, for the failure message (one full run in many saw no close within 6 s although
            // the server logged closing the connection after 1 s; kept to tell the two sides apart next time).
            let headerClosed = try await RawConnection.offPool { () -> (Double?, String) in
                let c = try RawConnection(port: port)
                let start = Date()
                var seen = "connected"
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                for i in 0..<20 {
                    if c.closedByServer(within: 0.3) { return (Date().timeIntervalSince(start), seen + ", closed") }
                    if !c.send("X-Slow-\(i): x\r\n") { return (Date().timeIntervalSince(start), seen + ", send failed") }
                    seen += String(format: ", sent %d at %.2f s", i, Date().timeIntervalSince(start))
                }
                return (nil, seen)
            }
            #expect(headerClosed.0 != nil && headerClosed.0! < 4, "slow headers kept the connection open: \(headerClosed.1)")
            // Slow body: the headers at once, then a byte every 300 ms of a 100-byte body.
            let bodyClosed = try await RawConnection.offPool { () -> Double? in
                let c = try RawConnection(port: port)
                let start = Date()
                c.send("POST /kiosk/v1/issuances HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
                for _ in 0..<20 {
                    if c.closedByServer(within: 0.3) || !c.send(" ") { return Date().timeIntervalSince(start) }
                }
                return nil
            }
            #expect(bodyClosed != nil && bodyClosed! < 4, "a slow body kept the connection open")
            // A well-behaved request on a fresh connection still works.
            let ok = try await RawConnection.offPool { () -> String in
                let c = try RawConnection(port: port)
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return String(decoding: c.read(within: 5) ?? [], as: UTF8.self)
            }
            #expect(ok.hasPrefix("HTTP/1.1 200"))
        }
        try await h.withLiveServer(["KOFU_HTTP_IDLE_TIMEOUT_SECONDS": "2"]) { client, _ in
            let port = try #require(client.port)
            // Idle: connect and send nothing; and idle after one answered request.
            let idle = try await RawConnection.offPool { () -> (fresh: Bool, afterRequest: Bool) in
                let fresh = try RawConnection(port: port).closedByServer(within: 6)
                let used = try RawConnection(port: port)
                used.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                _ = used.read(within: 2)
                return (fresh, used.closedByServer(within: 6))
            }
            #expect(idle.fresh, "an idle new connection stayed open")
            #expect(idle.afterRequest, "an idle kept-alive connection stayed open")
        }
    }

    @Test("connections beyond http.max_connections wait until one closes (the real kofu serve process)")
    func connectionCap() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashSafetyTests.binary), "build the kofu executable first")
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        // The real process: Hummingbird's test harness rebuilds the configuration without the connection cap.
        let port = CrashSafetyTests.freePort()
        let server = try await CrashSafetyTests.start(h, port: port, log: "\(h.dataDir)/serve-cap.log", extra: ["KOFU_HTTP_MAX_CONNECTIONS": "3"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let outcome = try await RawConnection.offPool { () -> (served: Int, blocked: Bool, servedAfterClose: Bool) in
            func get(_ c: RawConnection, within seconds: Double) -> Bool {
                c.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                return String(decoding: c.read(within: seconds) ?? [], as: UTF8.self).hasPrefix("HTTP/1.1 200")
            }
            var held: [RawConnection] = []
            for _ in 0..<6 {
                let c = try RawConnection(port: port)
                if get(c, within: 1.5) {
                    held.append(c)
                    continue
                }
                // Blocked: free one slot, and the waiting request must now be answered.
                let served = held.count
                held.removeFirst()
                let answer = String(decoding: c.read(within: 5) ?? [], as: UTF8.self)
                return (served, true, answer.hasPrefix("HTTP/1.1 200"))
            }
            return (held.count, false, false)
        }
        await CrashSafetyTests.stop(server, signal: SIGTERM)
        #expect(outcome.blocked && outcome.served == 3, "\(outcome.served) connections served with max_connections = 3")
        #expect(outcome.servedAfterClose, "the waiting connection was not served once one closed")
    }

    // MARK: item 8 — audit export parameters

    @Test("audit export with a bogus date is 400 naming the parameter")
    func auditExportBadDate() async throws {
        try await StaffHarness.run { _, client in
            let cookie = try await client.login("audit.user", StaffHarness.password("audit.user")).1!
            for (query, name) in [("from=bogus", "from"), ("to=2026-13-01", "to"), ("from=2026-02-01&to=2026-01-01", "from")] {
                let r = try await client.execute(uri: "/staff/audit/export?\(query)", method: .get, headers: [.cookie: cookie])
                #expect(r.status == .badRequest, "\(query)")
                #expect(String(buffer: r.body).contains(name), "\(query): \(String(buffer: r.body))")
                #expect(!String(buffer: r.body).contains("証明書"))
            }
        }
    }

    // MARK: item 13 — administrators cannot lock everyone out

    @Test("an administrator cannot disable their own account, nor the last administrator be disabled")
    func lastAdministrator() async throws {
        try await StaffHarness.run { harness, client in
            let cookie = try await client.login("admin.user", StaffHarness.password("admin.user")).1
            let own = try await client.execute(uri: "/staff/users/admin.user/disable", method: .post, headers: staffHeaders(cookie: cookie))
            #expect(own.status == .conflict)
            #expect(try await harness.store.users().first { $0.userID == "admin.user" }?.disabled == false)
            // The store refuses the last administrator whoever asks (the CLI goes through it too).
            await #expect(throws: StaffError.lastAdministrator("admin.user")) { try await harness.store.setDisabled("admin.user", true) }
            _ = try await harness.store.addUser("admin.two", role: .administrator, password: "second administrator pw")
            try await harness.store.setDisabled("admin.two", true)
            await #expect(throws: StaffError.lastAdministrator("admin.user")) { try await harness.store.setDisabled("admin.user", true) }
            try await harness.store.setDisabled("admin.two", false)
            try await harness.store.setDisabled("admin.user", true)  // admin.two is still there
            #expect(try await harness.entries().contains { $0.action == "user_change" && $0.outcome == "failure" && $0.object == "user:admin.user" })
        }
    }

    // MARK: item 14 — a lock is not revealed by timing

    @Test("a locked or disabled account does the same password work as an active one")
    func lockedAccountTiming() async throws {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-timing")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let db = try await KofuDatabase.open(.sqlite(path: dir + "/kofu.sqlite"))
        try await Migrator(KofuSchema.migrations).run(on: db)
        let store = StaffStore(database: db)  // production scrypt cost: the difference is what an attacker measures
        let policy = LockoutPolicy(threshold: 3, duration: 3600)
        _ = try await store.addUser("active.user", role: .auditor, password: "active user password")
        _ = try await store.addUser("locked.user", role: .auditor, password: "locked user password")
        _ = try await store.addUser("gone.user", role: .auditor, password: "gone user password1")
        try await store.setDisabled("gone.user", true)
        for _ in 0..<3 { _ = try await store.authenticate("locked.user", password: "wrong password!!", now: Date(), lockout: policy) }
        func median(_ id: String) async throws -> Double {
            var times: [Double] = []
            for _ in 0..<3 {
                let start = ContinuousClock.now
                _ = try await store.authenticate(id, password: "wrong password!!", now: Date(), lockout: LockoutPolicy(threshold: 1000, duration: 3600))
                let d = ContinuousClock.now - start
                times.append(Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
            }
            return times.sorted()[1]
        }
        let active = try await median("active.user")
        let locked = try await median("locked.user")
        let disabled = try await median("gone.user")
        await db.close()
        // Before the fix a locked account answered in ~3 % of the time; the same work keeps it near 100 %.
        #expect(locked > active * 0.5, "locked \(locked) s vs active \(active) s")
        #expect(disabled > active * 0.5, "disabled \(disabled) s vs active \(active) s")
    }

    // MARK: item 15 — one audit entry per issuance voided by a restart

    @Test("a restart that voids undelivered issuances writes one audit entry per issuance")
    func restartVoidsAreAuditedEach() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, _ in
            for n in 0..<2 {
                let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: Kiosk.issueBody("R\(n)", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
                #expect(r.status == .created)
            }
        }
        let services = try await h.openServices()  // the restart
        try await services.audit.flush()
        let entries = try await services.audit.entries(limit: 10_000)
        var ids: [String] = []
        for n in 0..<2 {
            let record = try #require(try await services.issuance.ledger.get(requestID: "R\(n)"))
            #expect(record.status == .expired)
            ids.append(record.id)
        }
        await services.close()
        for id in ids {
            #expect(entries.contains { $0.action == "kiosk_expire" && $0.object == "issuance:\(id)" && $0.reason == "restart" }, "\(id)")
        }
    }

    // MARK: item 16 — a rotated key is used without a restart

    @Test("after kofu keys rotate, the running server signs with the new key within seconds")
    func keyRotationWithoutRestart() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let before = services.sealKeys.signingKeyID
            let settings = try h.configuration().sealSettings()
            let config = try h.configuration()
            let entry = try SealKeyInstall.install(settings: settings, municipality: config.municipality.code,
                                                   validFrom: LocalDate.todayInJapan().adding(days: -1), replace: true)
            #expect(entry.keyIDHex != before)
            // The watcher looks every 5 s.
            var waited = 0
            while services.sealKeys.signingKeyID == before && waited < 100 {
                try await Task.sleep(for: .milliseconds(100))
                waited += 1
            }
            #expect(services.sealKeys.signingKeyID == entry.keyIDHex)
            let headers = Kiosk.pdfHeaders
            let pdf = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                               body: Kiosk.issueBody("K1", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear)) {
                Array(buffer: $0.body)
            }
            let seal = try #require(try PDFTools.qrCodes(pdf).first)
            let v = services.verifier.verify(seal, at: JapanTime.localDate(h.clock.now()))
            #expect(v.isValid)
            #expect(v.key?.keyIDHex == entry.keyIDHex)
            // The published keyring now lists both keys.
            let ring = try await client.execute(uri: "/.well-known/kofu/seal-keys.json", method: .get) { String(buffer: $0.body) }
            #expect(ring.contains(entry.keyIDHex) && ring.contains(before))
        }
    }
}

/// Issue #12 (fees): a fee is per copy — two copies record twice the fee, and each page prints one copy's.
@Suite("Fees per copy")
struct FeePerCopyTests {
    @Test func twoCopiesRecordTwiceTheFee() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let headers = Kiosk.pdfHeaders
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                             body: Kiosk.issueBody("FEE-2", card: h.card("ordinary"), kind: "income_taxation",
                                                                   year: h.latestYear, copies: 2))
            #expect(r.status == .created)
            #expect(r.headers[HTTPField.Name("Kofu-Fee-Yen")!] == "600")
            let pdf = Array(buffer: r.body)
            for page in 1...2 {
                let text = PDFTools.compact(try PDFTools.text(pdf, page: page))
                #expect(text.contains("手数料300円") && !text.contains("600"), "page \(page): \(text)")
            }
            #expect(try await services.issuance.ledger.get(requestID: "FEE-2")?.feeYen == 600)
        }
    }
}

/// The console's per-node count of 503 answers, by minute over 24 hours.
@Suite("Rejection log")
struct RejectionLogTests {
    @Test func countsByWindow() {
        let log = RejectionLog()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        log.record(.shed, at: now.addingTimeInterval(-30))
        log.record(.shed, at: now.addingTimeInterval(-2 * 3600))
        log.record(.closed, at: now.addingTimeInterval(-25 * 3600))  // outside the day
        log.record(.closed, at: now)
        #expect(log.counts(last: 3600, now: now) == (shed: 1, closed: 1))
        #expect(log.counts(last: 86_400, now: now) == (shed: 2, closed: 1))
        // A minute reused a day later starts from zero.
        log.record(.shed, at: now.addingTimeInterval(86_400 - 30))
        #expect(log.counts(last: 3600, now: now.addingTimeInterval(86_400)) == (shed: 1, closed: 0))
    }
}
