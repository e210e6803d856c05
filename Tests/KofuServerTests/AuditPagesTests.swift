import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import SQLKit
import Testing

/// The auditor's pages: the log with filters and paging, the CSV/JSON Lines export, the verify result.
@Suite("Audit pages")
struct AuditPagesTests {
    @Test("filtering by staff member shows only that member's entries, and the view is audited", arguments: StorageTestSupport.backends)
    func filterByStaffMember(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            for i in 0..<3 {
                try await h.audit.record(AuditEvent(actor: .staff("clerk.user"), action: .lookup, object: .addressee("10\(i)")))
                try await h.audit.record(AuditEvent(actor: .staff("oper.user"), action: .intakePause, reason: "r\(i)"))
            }
            let cookie = try await h.signIn(client, "audit.user")
            let page = try await client.page("/staff/audit?actor=clerk.user", cookie: cookie)
            #expect(page.status == .ok)
            let actors = PagesHarness.cells(page.html, "actor")
            #expect(actors.count == 3 && Set(actors) == ["clerk.user"], "\(actors)")
            #expect(page.html.contains("<option value=\"clerk.user\" selected>"))
            let all = try await client.page("/staff/audit", cookie: cookie)
            #expect(Set(PagesHarness.cells(all.html, "actor")).isSuperset(of: ["clerk.user", "oper.user", "audit.user"]))
            let views = try await h.entries().filter { $0.action == "export" && $0.object == "audit_log:page" }
            #expect(views.count == 2 && views[0].actor == "audit.user" && views[0].reason.contains("actor=clerk.user"))
            // A bad date is a 400 page, not a crash.
            #expect(try await client.page("/staff/audit?from=2027-13-01", cookie: cookie).status == .badRequest)
            // A clerk may not read the log.
            let clerk = try await h.signIn(client, "clerk.user")
            #expect(try await client.page("/staff/audit", cookie: clerk).status == .forbidden)
        }
    }

    @Test("the log pages through the filtered entries, newest first, keeping the filter in the links", arguments: StorageTestSupport.backends)
    func paging(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend, pageSize: 5) { h, client in
            for i in 0..<12 { try await h.audit.record(AuditEvent(actor: .staff("clerk.user"), action: .lookup, object: .addressee("\(i)"))) }
            let cookie = try await h.signIn(client, "audit.user")
            let first = try await client.page("/staff/audit?action=lookup", cookie: cookie)
            #expect(PagesHarness.cells(first.html, "object") == ["addressee:11", "addressee:10", "addressee:9", "addressee:8", "addressee:7"])
            #expect(first.html.contains(#"href="/staff/audit?action=lookup&amp;page=2""#) || first.html.contains(#"href="/staff/audit?action=lookup&page=2""#))
            #expect(!first.html.contains("前へ"))
            let third = try await client.page("/staff/audit?action=lookup&page=3", cookie: cookie)
            #expect(PagesHarness.cells(third.html, "object") == ["addressee:1", "addressee:0"])
            #expect(third.html.contains("前へ") && !third.html.contains("次へ"))
        }
    }

    @Test("the CSV export has a BOM, the filter's rows and a dated file name; JSON Lines keeps every field", arguments: StorageTestSupport.backends)
    func export(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            try await h.audit.record(AuditEvent(actor: .staff("clerk.user"), action: .lookup, object: .addressee("1"), reason: "=cmd,\"x\""))
            try await h.audit.record(AuditEvent(actor: .staff("oper.user"), action: .intakePause))
            let cookie = try await h.signIn(client, "audit.user")
            let csv = try await client.execute(uri: "/staff/audit/download?format=csv&actor=clerk.user&from=2027-01-01&to=2027-01-31",
                                               method: .get, headers: [.cookie: cookie])
            #expect(csv.status == .ok)
            #expect(csv.headers[.contentDisposition] == #"attachment; filename="kofu-audit-20270101-20270131.csv""#)
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8")
            let bytes = Array(csv.body.readableBytesView)
            #expect(bytes.prefix(3) == [0xEF, 0xBB, 0xBF])
            let lines = String(decoding: bytes.dropFirst(3), as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.count == 2 && lines[0] == AuditCSV.header.joined(separator: ","))
            #expect(lines[1].contains(",clerk.user,lookup,addressee:1,success,\"'=cmd,\"\"x\"\"\","))
            let jsonl = try await client.execute(uri: "/staff/audit/download?format=jsonl&actor=clerk.user", method: .get, headers: [.cookie: cookie])
            let name = try #require(jsonl.headers[.contentDisposition])
            #expect(name.range(of: #"^attachment; filename="kofu-audit-\d{8}-\d{8}\.jsonl"$"#, options: .regularExpression) != nil, "\(name)")
            let entry = try JSONDecoder().decode(AuditEntry.self, from: Data(String(buffer: jsonl.body).split(separator: "\n")[0].utf8))
            #expect(entry.reason == "=cmd,\"x\"" && entry.expectedHash == entry.hash)
            let exports = try await h.entries().filter { $0.action == "export" }.map(\.object)
            #expect(exports == ["audit_log:csv", "audit_log:jsonl"])
            #expect(try await client.execute(uri: "/staff/audit/download?format=xml", method: .get, headers: [.cookie: cookie]).status == .badRequest)
        }
    }

    @Test("the verify button reports an intact chain, then a tampered one, and is audited", arguments: StorageTestSupport.backends)
    func verify(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            for i in 0..<4 { try await h.audit.record(AuditEvent(actor: .staff("clerk.user"), action: .lookup, object: .addressee("\(i)"))) }
            let cookie = try await h.signIn(client, "audit.user")
            let token = StaffAuth.csrfToken(forSession: String(cookie.dropFirst("kofu_staff=".count)))
            #expect(try await client.formPost("/staff/audit/verify", "", cookie: cookie).status == .forbidden)
            let ok = try await client.formPost("/staff/audit/verify", "_csrf=\(token)", cookie: cookie)
            #expect(ok.status == .ok && ok.html.contains("改ざんなし") && !ok.html.contains("問題があります"))
            try await h.db.transaction { db in try await db.raw("UPDATE audit_log SET reason = 'edited' WHERE seq = 2").run() }
            let bad = try await client.formPost("/staff/audit/verify", "_csrf=\(token)", cookie: cookie)
            #expect(bad.status == .ok && bad.html.contains("問題があります") && bad.html.contains("seq 2"))
            let results = try await h.entries().filter { $0.action == "audit_verify" }.map(\.outcome)
            #expect(results == ["success", "failure"])
        }
    }
}

/// The staff routes with the shell, the audit and the admin pages mounted as `buildApplication` mounts them,
/// on a fresh database of either backend, with optional seal keys in a temporary directory.
struct PagesHarness: Sendable {
    let db: KofuDatabase
    let store: StaffStore
    let audit: AuditLog
    let clock: StaffTestClock
    let sealKeys: SealKeys?

    static func run(_ backend: TestBackend, pageSize: Int = 100, sealKeys: Bool = false,
                    _ body: @escaping @Sendable (PagesHarness, any TestClientProtocol) async throws -> Void) async throws {
        try await StorageTestSupport.withDatabase(backend) { test in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-pages")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let clock = StaffTestClock()
            let store = StaffStore(database: test.database, passwordParameters: .testing)
            let signer = HMACCheckpointSigner(key: Array(repeating: 3, count: 32))
            let audit = AuditLog(database: test.database, signer: signer, checkpointInterval: 10, clock: clock.function)
            for (role, id) in StaffHarness.roleUsers {
                _ = try await store.addUser(id, role: role, password: StaffHarness.password(id))
            }
            var keys: SealKeys?
            if sealKeys {
                let settings = SealSettings(privateKeyFile: dir + "/seal.pem", keyringFile: dir + "/keyring.json", signingYears: 1, verifyGraceYears: 5)
                _ = try SealKeyInstall.install(settings: settings, municipality: "131016",
                                               validFrom: LocalDate.todayInJapan(now: clock.function()).adding(days: -30), replace: false)
                keys = try SealKeys(settings: settings, municipalityCode: "131016")
            }
            let auth = StaffAuth(store: store, audit: audit, idleTimeout: StaffHarness.idleTimeout, lockout: StaffHarness.lockout,
                                 clock: clock.function)
            let pages = try StaffPageRenderer(directory: TestSupport.templatesDirectory + "/staff")
            let router = Router(context: BasicStaffRequestContext.self)
            let staff = StaffController(auth: auth, checkpointSigner: signer, pages: pages).addRoutes(to: router.group("staff"))
            StaffShellController(pages: pages).addRoutes(to: staff)
            AuditPages(auth: auth, checkpointSigner: signer, pages: pages, pageSize: pageSize).addRoutes(to: staff)
            AdminPages(auth: auth, pages: pages, sealKeys: keys).addRoutes(to: staff)
            let harness = PagesHarness(db: test.database, store: store, audit: audit, clock: clock, sealKeys: keys)
            try await Application(router: router).test(.router) { client in try await body(harness, client) }
        }
    }

    func entries() async throws -> [AuditEntry] {
        try await audit.flush()
        return try await audit.entries(limit: 100_000)
    }

    /// Signs `id` in through the form; returns the cookie pair.
    func signIn(_ client: any TestClientProtocol, _ id: String, password: String? = nil) async throws -> String {
        try #require(try await client.formLogin(id, password ?? StaffHarness.password(id)).cookie)
    }

    static func csrf(_ cookie: String) -> String { StaffAuth.csrfToken(forSession: String(cookie.dropFirst("kofu_staff=".count))) }

    /// The texts of the table cells `<td class="name">…</td>` on a page, in order.
    static func cells(_ html: String, _ name: String) -> [String] {
        html.components(separatedBy: "<td class=\"\(name)\">").dropFirst().map { String($0.prefix { $0 != "<" }) }
    }
}
