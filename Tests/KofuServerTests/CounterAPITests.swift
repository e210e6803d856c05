import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// Issue #12: the counter's JSON API on both backends — look-up with a purpose, counter issuance after an
/// identity check, the second-person approval for restricted residents, printing and its wipe.
@Suite("Counter API", .serialized)
struct CounterAPITests {
    static let staff: [(String, StaffRole)] = [("clerk.a", .counterClerk), ("super.a", .counterSupervisor), ("super.b", .counterSupervisor)]
    static func password(_ id: String) -> String { "counter password \(id)" }

    /// Signs every counter user in; returns id → cookie.
    static func signIn(_ client: any TestClientProtocol) async throws -> [String: String] {
        var cookies: [String: String] = [:]
        for (id, _) in staff {
            let (status, cookie, _) = try await client.login(id, password(id))
            try #require(status == .ok)
            cookies[id] = cookie
        }
        return cookies
    }

    static func withCounter(_ backend: TestBackend, _ body: @escaping @Sendable (KioskHarness, any TestClientProtocol, KofuServices) async throws -> Void) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            for (id, role) in staff { _ = try await services.staffAuth.store.addUser(id, role: role, password: password(id)) }
            try await body(h, client, services)
        }
    }

    static func issueBody(_ addressee: String, kind: String, year: Int, copies: Int = 1, applicant: String = "self",
                          poa: Bool = false, plate: String? = nil) -> ByteBuffer {
        var o: [String: Any] = ["addressee_id": addressee, "kind": kind, "fiscal_year": year, "copies": copies,
                                "identity": ["document": "driver_license", "applicant": applicant, "power_of_attorney": poa]]
        if let plate { o["vehicle_plate"] = plate }
        return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: o))
    }

    @Test("a clerk looks a resident up with a purpose, issues at the counter, prints, and the document is wiped",
          arguments: StorageTestSupport.backends)
    func lookUpIssuePrint(_ backend: TestBackend) async throws {
        try await Self.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let clerk = staffHeaders(cookie: cookies["clerk.a"])
            let addressee = h.cards["ordinary"]!.addresseeID
            // A purpose is required.
            let noPurpose = try await client.execute(uri: "/staff/api/v1/counter/residents/\(addressee)", method: .get, headers: clerk)
            #expect(noPurpose.status == .badRequest)
            let found = try await client.execute(uri: "/staff/api/v1/counter/residents/\(addressee)?purpose=certificate_request",
                                                 method: .get, headers: clerk)
            #expect(found.status == .ok)
            let json = Kiosk.json(found.body)
            let resident = try #require(json["resident"] as? [String: Any])
            let name = try #require(resident["name"] as? String)
            let answers = try #require(json["answers"] as? [[String: Any]])
            let income = try #require(answers.first { $0["kind"] as? String == "income_taxation" && $0["fiscal_year"] as? Int == h.latestYear })
            #expect(income["kiosk"] as? String == "issue" && income["counter"] as? String == "issue")
            let nonTax = try #require(answers.first { $0["kind"] as? String == "non_taxation" && $0["fiscal_year"] as? Int == h.latestYear })
            #expect(nonTax["kiosk_code"] as? String == "NOT_ASSESSED")

            // Identity check: a proxy without a power of attorney is refused.
            let proxy = try await client.execute(uri: "/staff/api/v1/counter/issuances", method: .post, headers: clerk,
                                                 body: Self.issueBody(addressee, kind: "income_taxation", year: h.latestYear, applicant: "proxy"))
            #expect(proxy.status == .badRequest && String(buffer: proxy.body).contains("power_of_attorney"))

            let issued = try await client.execute(uri: "/staff/api/v1/counter/issuances", method: .post, headers: clerk,
                                                  body: Self.issueBody(addressee, kind: "income_taxation", year: h.latestYear, copies: 2))
            #expect(issued.status == .created)
            let record = Kiosk.json(issued.body)
            let id = try #require(record["issuance_id"] as? String)
            #expect(record["fee_yen"] as? Int == 600)
            #expect((record["certificate_numbers"] as? [String])?.count == 2)
            // The kiosk can never reach a counter issuance.
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get).status == .notFound)
            let pdf = try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get, headers: clerk)
            #expect(pdf.status == .ok && pdf.headers[.contentType] == "application/pdf")
            let bytes = Array(buffer: pdf.body)
            #expect(try PDFTools.qpdfCheck(bytes) == nil)
            #expect(PDFTools.compact(try PDFTools.text(bytes)).contains(PDFTools.compact(name)))
            #expect(try PDFTools.pageCount(bytes) == 2)
            let printed = try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/printed", method: .post, headers: clerk)
            #expect(printed.status == .ok && Kiosk.json(printed.body)["status"] as? String == "delivered")
            #expect(try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get, headers: clerk).status == .gone)
            #expect(services.issuance.spool.count() == 0)
            let ledger = try #require(try await services.issuance.ledger.get(id: id))
            #expect(ledger.channel == .counter && ledger.status == .delivered)

            try await services.audit.flush()
            let entries = try await services.audit.entries(limit: 10_000)
            #expect(entries.contains { $0.actor == "clerk.a" && $0.action == "lookup" && $0.object == "addressee:\(addressee)" && $0.reason == "certificate_request" })
            #expect(entries.contains { $0.actor == "clerk.a" && $0.action == "issue" && $0.object == "issuance:\(id)" && $0.reason == "printed" })
            #expect(!entries.contains { $0.reason.contains(name) })
        }
    }

    @Test("a support-measure resident: the clerk cannot issue alone, the requester cannot approve, another supervisor can",
          arguments: StorageTestSupport.backends)
    func approvalForRestrictedResident(_ backend: TestBackend) async throws {
        try await Self.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let addressee = h.cards["support_measure"]!.addresseeID
            let lookup = try await client.execute(uri: "/staff/api/v1/counter/residents/\(addressee)?purpose=kiosk_refusal",
                                                  method: .get, headers: staffHeaders(cookie: cookies["clerk.a"]))
            let view = Kiosk.json(lookup.body)
            #expect(view["approval_needed"] as? Bool == true)
            #expect((view["restrictions"] as? [[String: Any]])?.contains { $0["label"] as? String == "DV等支援措置" } == true)
            let income = (view["answers"] as? [[String: Any]])?.first { $0["kind"] as? String == "income_taxation" && $0["fiscal_year"] as? Int == h.latestYear }
            #expect(income?["kiosk_code"] as? String == "COUNTER_ONLY" && income?["kiosk_reason"] as? String == "DV等支援措置")
            #expect(income?["counter"] as? String == "approval")

            let requested = try await client.execute(uri: "/staff/api/v1/counter/issuances", method: .post, headers: staffHeaders(cookie: cookies["super.a"]),
                                                     body: Self.issueBody(addressee, kind: "income_taxation", year: h.latestYear))
            #expect(requested.status == .accepted)
            let approvalID = try #require(Kiosk.json(requested.body)["approval_id"] as? String)
            #expect(services.issuance.spool.count() == 0)
            #expect(try await services.issuance.ledger.statusCounts(since: .distantPast).isEmpty, "nothing rendered before approval")

            // A clerk may not approve; the requester may not approve their own request.
            let byClerk = try await client.execute(uri: "/staff/api/v1/counter/approvals/\(approvalID)/approve", method: .post,
                                                   headers: staffHeaders(cookie: cookies["clerk.a"]))
            #expect(byClerk.status == .forbidden)
            let bySelf = try await client.execute(uri: "/staff/api/v1/counter/approvals/\(approvalID)/approve", method: .post,
                                                  headers: staffHeaders(cookie: cookies["super.a"]))
            #expect(bySelf.status == .forbidden && Kiosk.errorCode(bySelf.body) == "SELF_APPROVAL")
            let pending = try await client.execute(uri: "/staff/api/v1/counter/approvals", method: .get, headers: staffHeaders(cookie: cookies["super.b"]))
            #expect((Kiosk.json(pending.body)["approvals"] as? [[String: Any]])?.count == 1)

            let approved = try await client.execute(uri: "/staff/api/v1/counter/approvals/\(approvalID)/approve", method: .post,
                                                    headers: staffHeaders(cookie: cookies["super.b"]))
            #expect(approved.status == .created)
            let issuance = try #require(Kiosk.json(approved.body)["issuance"] as? [String: Any])
            let id = try #require(issuance["issuance_id"] as? String)
            let pdf = try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get, headers: staffHeaders(cookie: cookies["super.a"]))
            #expect(pdf.status == .ok)
            // Decided once only.
            let again = try await client.execute(uri: "/staff/api/v1/counter/approvals/\(approvalID)/approve", method: .post,
                                                 headers: staffHeaders(cookie: cookies["super.b"]))
            #expect(again.status == .conflict)
            let record = try #require(try await services.issuance.ledger.get(id: id))
            #expect(record.terminal?.contains("counter:super.a") == true && record.terminal?.contains("approved_by:super.b") == true)
            try await services.audit.flush()
            let entries = try await services.audit.entries(limit: 10_000)
            #expect(entries.contains { $0.actor == "super.b" && $0.action == "approval" && $0.reason.contains("approved/requested_by=super.a") })
            #expect(entries.contains { $0.actor == "super.a" && $0.action == "approval" && $0.outcome == "denied" })
            #expect(entries.contains { $0.actor == "super.a" && $0.action == "issue" && $0.object == "issuance:\(id)" })
        }
    }

    @Test("an approval not given within the time limit expires; nothing is rendered", arguments: StorageTestSupport.backends)
    func approvalExpires(_ backend: TestBackend) async throws {
        try await Self.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let addressee = h.cards["issuance_stop"]!.addresseeID
            let requested = try await client.execute(uri: "/staff/api/v1/counter/issuances", method: .post, headers: staffHeaders(cookie: cookies["clerk.a"]),
                                                     body: Self.issueBody(addressee, kind: "income_taxation", year: h.latestYear))
            #expect(requested.status == .accepted)
            let approvalID = try #require(Kiosk.json(requested.body)["approval_id"] as? String)
            h.clock.advance(31 * 60)
            let cookie = try await client.login("super.b", Self.password("super.b")).1  // the old session went idle
            let late = try await client.execute(uri: "/staff/api/v1/counter/approvals/\(approvalID)/approve", method: .post, headers: staffHeaders(cookie: cookie))
            #expect(late.status == .conflict && Kiosk.errorCode(late.body) == "APPROVAL_EXPIRED")
            #expect(try await services.issuance.ledger.statusCounts(since: .distantPast).isEmpty)
            #expect(try await services.counter.approvals.get(approvalID)?.status == .expired)
        }
    }

    @Test("a moved-out resident is served at the counter; search finds people by kana name and birth date",
          arguments: StorageTestSupport.backends)
    func movedOutAndSearch(_ backend: TestBackend) async throws {
        try await Self.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let clerk = staffHeaders(cookie: cookies["clerk.a"])
            let movedOut = h.cards["moved_out"]!.addresseeID
            let view = Kiosk.json(try await client.execute(uri: "/staff/api/v1/counter/residents/\(movedOut)?purpose=certificate_request",
                                                           method: .get, headers: clerk).body)
            let person = try #require(view["resident"] as? [String: Any])
            #expect(person["status_ja"] as? String == "転出")
            let answer = (view["answers"] as? [[String: Any]])?.first { $0["kind"] as? String == "income_taxation" && $0["fiscal_year"] as? Int == h.latestYear }
            #expect(answer?["kiosk_code"] as? String == "COUNTER_ONLY")

            let kana = try #require(person["name_kana"] as? String)
            let birth = try #require(person["birth_date"] as? String)
            let query = "name=\(kana.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)&birth_date=\(birth)&purpose=inquiry"
            let search = Kiosk.json(try await client.execute(uri: "/staff/api/v1/counter/residents?\(query)", method: .get, headers: clerk).body)
            #expect((search["residents"] as? [[String: Any]])?.contains { $0["addressee_id"] as? String == movedOut } == true)
            let wrongBirth = Kiosk.json(try await client.execute(uri: "/staff/api/v1/counter/residents?name=x&birth_date=1900-01-01&purpose=inquiry",
                                                                 method: .get, headers: clerk).body)
            #expect((wrongBirth["residents"] as? [Any])?.isEmpty == true)
            _ = services
        }
    }

    @Test("a kiosk certificate reprinted at the counter: new number, the old one superseded on /verify, history and takings",
          arguments: StorageTestSupport.backends)
    func reprintSupersedes(_ backend: TestBackend) async throws {
        try await Self.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let clerk = staffHeaders(cookie: cookies["clerk.a"])
            let headers = Kiosk.pdfHeaders
            let kiosk = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                                 body: Kiosk.issueBody("RP-1", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
            let oldNumber = try #require(kiosk.headers[HTTPField.Name("Kofu-Certificate-Numbers")!])
            let oldID = try #require(kiosk.headers[HTTPField.Name("Kofu-Issuance-Id")!])
            let seal = try #require(try PDFTools.qrCodes(Array(buffer: kiosk.body)).first)
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(oldID)/delivered", method: .post).status == .ok)

            func reprint(_ body: [String: Any]) async throws -> TestResponse {
                try await client.execute(uri: "/staff/api/v1/counter/reprints", method: .post, headers: clerk,
                                         body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body)))
            }
            let identity: [String: Any] = ["document": "my_number_card", "applicant": "self", "power_of_attorney": false]
            #expect(try await reprint(["certificate_number": oldNumber, "reason": "other", "identity": identity]).status == .badRequest)
            let done = try await reprint(["certificate_number": oldNumber, "reason": "paper_jam", "identity": identity])
            #expect(done.status == .created)
            let new = Kiosk.json(done.body)
            let newID = try #require(new["issuance_id"] as? String)
            let newNumber = try #require((new["certificate_numbers"] as? [String])?.first)
            #expect(newNumber != oldNumber)

            // The old seal still verifies offline, but online it is superseded.
            let verify = Kiosk.json(try await client.execute(uri: "/verify/api/v1", method: .post, headers: Kiosk.jsonHeaders,
                                                             body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["seal": seal]))).body)
            #expect(verify["status"] as? String == "superseded" && verify["genuine"] as? Bool == false, "\(verify)")
            #expect(try await services.issuance.ledger.numberStatus(oldNumber)?.status == .superseded)

            // History: both, linked, without amounts.
            let addressee = h.cards["ordinary"]!.addresseeID
            let historyResponse = try await client.execute(uri: "/staff/api/v1/history/residents/\(addressee)", method: .get, headers: clerk)
            let history = try #require(Kiosk.json(historyResponse.body)["issuances"] as? [[String: Any]])
            let original = try #require(history.first { $0["issuance_id"] as? String == oldID })
            #expect(original["reprints"] as? Int == 1 && original["channel"] as? String == "kiosk")
            #expect((original["numbers"] as? [[String: Any]])?.first?["superseded_by"] as? String == newNumber)
            #expect(history.first { $0["issuance_id"] as? String == newID }?["reprint_of"] as? String == oldID)
            #expect(!String(buffer: historyResponse.body).contains("fee_yen"))
            let byNumber = Kiosk.json(try await client.execute(uri: "/staff/api/v1/history/certificates/\(newNumber)", method: .get, headers: clerk).body)
            #expect(byNumber["reprint_reason"] as? String == "paper_jam")

            // Handed over: on today's takings list, with its fee, and as CSV for the cash desk.
            #expect(try await client.execute(uri: "/staff/api/v1/counter/issuances/\(newID)/printed", method: .post, headers: clerk).status == .ok)
            let takings = Kiosk.json(try await client.execute(uri: "/staff/api/v1/counter/takings", method: .get, headers: clerk).body)
            #expect(takings["count"] as? Int == 1 && takings["total_yen"] as? Int == 300)
            let csv = try await client.execute(uri: "/staff/api/v1/counter/takings?format=csv", method: .get, headers: clerk)
            #expect(Array(csv.body.readableBytesView.prefix(3)) == [0xEF, 0xBB, 0xBF])
            #expect(String(buffer: csv.body).contains("合計,,,1,300"))

            // Data that changed since: a reprint is refused, and a new issuance is the way.
            try await services.database.transaction { db in
                try await db.raw("UPDATE issuances SET content_digest = 'changed' WHERE id = \(bind: newID)").run()
            }
            let changed = try await reprint(["issuance_id": newID, "reason": "lost", "identity": identity])
            #expect(changed.status == .conflict && Kiosk.errorCode(changed.body) == "CONTENT_CHANGED")
            try await services.audit.flush()
            let entries = try await services.audit.entries(limit: 10_000)
            #expect(entries.contains { $0.actor == "clerk.a" && $0.action == "reprint" && $0.object == "issuance:\(oldID)" && $0.reason.hasPrefix("paper_jam/new=") })
            #expect(entries.contains { $0.actor == "clerk.a" && $0.action == "lookup" && $0.reason == "history" })
        }
    }
}

/// docs/staff-openapi.yaml documents every staff JSON endpoint the code serves, with its method.
@Suite("Staff OpenAPI")
struct StaffOpenAPITests {
    @Test func everyCounterEndpointIsDocumented() throws {
        let text = try String(contentsOfFile: "\(KioskHarness.packageRoot)/docs/staff-openapi.yaml", encoding: .utf8)
        let endpoints = CounterController.endpoints + [StaffController.login, StaffController.logout, StaffController.me]
        for endpoint in endpoints {
            // `:id` in the code is `{id}` in OpenAPI.
            let path = "/staff/" + endpoint.path.split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
                .joined(separator: "/")
            guard let at = text.range(of: "\n  \(path):\n") else {
                Issue.record("\(endpoint) is not in docs/staff-openapi.yaml")
                continue
            }
            let rest = text[at.upperBound...]
            let block = rest.prefix { _ in true }.components(separatedBy: "\n  /").first ?? ""
            #expect(block.contains("    \(endpoint.method.rawValue.lowercased()):"), "\(endpoint): method not documented")
        }
    }
}
