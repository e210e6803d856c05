import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// The staff web shell: the sign-in page and its form, logout, the home page per role, and what a browser
/// gets instead of a JSON error. JSON clients keep the JSON API exactly as before.
@Suite("Staff shell")
struct StaffShellTests {
    static let browser: HTTPFields = [.accept: "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"]

    @Test("a form sign-in answers 303 to the home page with the session cookie; next returns to a staff page only",
          arguments: StorageTestSupport.backends)
    func formLogin(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { _, client in
            let signedIn = try await client.formLogin("clerk.user", StaffHarness.password("clerk.user"))
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.location == "/staff")
            let cookie = try #require(signedIn.cookie)
            let home = try await client.page("/staff", cookie: cookie)
            #expect(home.status == .ok)
            #expect(home.contentType == "text/html; charset=utf-8")
            #expect(home.html.contains(#"<html lang="ja">"#) && home.html.contains(#"name="viewport""#))
            #expect(home.html.contains("clerk.user") && home.html.contains("窓口担当"))
            #expect(home.html.contains(#"name="_csrf" value="\#(StaffAuth.csrfToken(forSession: String(cookie.dropFirst("kofu_staff=".count))))""#))

            for (next, expected) in [("/staff/operator", "/staff/operator"), ("/staff/audit/export?from=2026-01-01", "/staff/audit/export?from=2026-01-01"),
                                     ("https://evil.example/", "/staff"), ("//evil.example/staff", "/staff"), ("/staff/../kiosk", "/staff"),
                                     ("/staffing", "/staff"), ("/staff/login", "/staff"), ("/staff/\\evil", "/staff")] {
                let r = try await client.formLogin("oper.user", StaffHarness.password("oper.user"), next: next)
                #expect(r.status == .seeOther && r.location == expected, "next=\(next)")
            }
        }
    }

    @Test("a failed form sign-in shows the page again with one Japanese message, whatever the reason, and status 401",
          arguments: StorageTestSupport.backends)
    func failedFormLogin(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { harness, client in
            try await harness.store.setDisabled("audit.user", true)
            var bodies: Set<String> = []
            for (id, password) in [("clerk.user", "a wrong password"), ("nobody.here", "whatever it is"),
                                   ("audit.user", StaffHarness.password("audit.user")), ("", "")] {
                let r = try await client.formLogin(id, password)
                #expect(r.status == .unauthorized, "\(id)")
                #expect(r.cookie == nil)
                #expect(r.html.contains("ユーザーIDまたはパスワードが正しくありません"), "\(id)")
                #expect(!r.html.contains(password) || password.isEmpty)
                bodies.insert(r.html)
            }
            // Locked out by failures: still the same page.
            for _ in 0..<StaffHarness.lockout.threshold { _ = try await client.formLogin("super.user", "not it") }
            bodies.insert(try await client.formLogin("super.user", StaffHarness.password("super.user")).html)
            #expect(bodies.count == 1, "the page differs between failure reasons")
            let reasons = try await harness.entries().filter { $0.action == "login_failed" }.map(\.reason)
            #expect(Set(reasons) == ["wrong_password", "unknown_user", "disabled", "locked"])
        }
    }

    @Test("a browser without a session is sent to the sign-in page, and back to the page it asked for; JSON clients get 401",
          arguments: StorageTestSupport.backends)
    func anonymousBrowser(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { _, client in
            let home = try await client.page("/staff", cookie: nil)
            #expect(home.status == .found && home.location == "/staff/login")
            let me = try await client.page("/staff/me", cookie: nil)
            #expect(me.status == .found && me.location == "/staff/login?next=/staff/me")
            let login = try await client.page(me.location!, cookie: nil)
            #expect(login.status == .ok)
            #expect(login.html.contains(#"<label for="userID">ユーザーID</label>"#) && login.html.contains(#"<label for="password">パスワード</label>"#))
            #expect(login.html.contains(#"name="next" value="/staff/me""#))
            #expect(!login.html.contains("ログアウト"))
            // A next that is not a staff page is dropped, not reflected.
            let offsite = try await client.page("/staff/login?next=https://evil.example", cookie: nil)
            #expect(offsite.status == .ok && !offsite.html.contains("evil"))
            let json = try await client.execute(uri: "/staff/me", method: .get, headers: [.accept: "application/json"])
            #expect(json.status == .unauthorized)
            #expect(String(buffer: json.body) == #"{"error":{"message":"sign in first"}}"#)
        }
    }

    @Test("a role without the permission gets the Japanese 403 page in the shell; a JSON client its JSON 403",
          arguments: StorageTestSupport.backends)
    func forbiddenPage(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { harness, client in
            let cookie = try #require(try await client.formLogin("clerk.user", StaffHarness.password("clerk.user")).cookie)
            let page = try await client.page("/staff/operator", cookie: cookie)
            #expect(page.status == .forbidden)
            #expect(page.contentType == "text/html; charset=utf-8")
            #expect(page.html.contains("権限がありません") && page.html.contains("clerk.user") && page.html.contains("窓口担当"))
            #expect(!page.html.contains("not permitted"))
            let json = try await client.execute(uri: "/staff/operator", method: .get, headers: [.cookie: cookie])
            #expect(json.status == .forbidden && String(buffer: json.body) == #"{"error":{"message":"not permitted"}}"#)
            let denied = try await harness.entries().filter { $0.action == "access_denied" && $0.actor == "clerk.user" }
            #expect(denied.count == 2)
            // A handler's own errors become pages too.
            let missing = try await client.page("/staff/missing", cookie: cookie)
            #expect(missing.status == .notFound && missing.html.contains("ページが見つかりません"))
            let broken = try await client.page("/staff/broken", cookie: cookie)
            #expect(broken.status == .internalServerError && broken.html.contains("エラーが発生しました"))
        }
    }

    @Test("the home page offers each role exactly what its permissions allow", arguments: StorageTestSupport.backends)
    func homeMenuPerRole(_ backend: TestBackend) async throws {
        #expect(StaffMenu.items.map(\.permission).sorted { $0.rawValue < $1.rawValue } == Permission.allCases.sorted { $0.rawValue < $1.rawValue })
        try await ShellHarness.run(backend) { _, client in
            for (role, id) in StaffHarness.roleUsers {
                let cookie = try #require(try await client.formLogin(id, StaffHarness.password(id)).cookie)
                let html = try await client.page("/staff", cookie: cookie).html
                #expect(html.contains(role.japaneseName))
                for item in StaffMenu.items {
                    #expect(html.contains(">\(item.label)<") == role.allows(item.permission), "\(role): \(item.label)")
                }
                #expect(html.contains(#"href="/staff/operator""#) == role.allows(.operatorDashboard), "\(role)")
                #expect(html.contains(#"href="/staff/audit""#) == role.allows(.auditExport), "\(role)")
            }
        }
    }

    @Test("the logout form ends the session and returns to the sign-in page, which says so; without its token it is refused",
          arguments: StorageTestSupport.backends)
    func logoutForm(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { _, client in
            let cookie = try #require(try await client.formLogin("oper.user", StaffHarness.password("oper.user")).cookie)
            let token = StaffAuth.csrfToken(forSession: String(cookie.dropFirst("kofu_staff=".count)))
            let forged = try await client.formPost("/staff/logout", "", cookie: cookie)
            #expect(forged.status == .forbidden && forged.html.contains("この操作は受け付けられませんでした"))
            #expect(try await client.page("/staff", cookie: cookie).status == .ok)

            let out = try await client.formPost("/staff/logout", "_csrf=\(token)", cookie: cookie)
            #expect(out.status == .seeOther && out.location == "/staff/login?notice=logged_out")
            #expect(out.setCookies.contains { $0.hasPrefix("kofu_staff=;") && $0.contains("Max-Age=0") })
            #expect(try await client.page(out.location!, cookie: nil).html.contains("ログアウトしました"))
            #expect(try await client.page("/staff", cookie: cookie).location == "/staff/login")
        }
    }

    @Test("an idle session sends the browser to the sign-in page with a notice", arguments: StorageTestSupport.backends)
    func idleSession(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { harness, client in
            let cookie = try #require(try await client.formLogin("audit.user", StaffHarness.password("audit.user")).cookie)
            harness.clock.advance(StaffHarness.idleTimeout + 1)
            let r = try await client.page("/staff/audit/verify", cookie: cookie)
            #expect(r.status == .found && r.location == "/staff/login?notice=expired&next=/staff/audit/verify")
            #expect(try await client.page(r.location!, cookie: nil).html.contains("一定時間操作がなかったため"))
        }
    }

    @Test("JSON clients get the JSON API unchanged when the pages are mounted", arguments: StorageTestSupport.backends)
    func jsonUnchanged(_ backend: TestBackend) async throws {
        try await ShellHarness.run(backend) { _, client in
            let (status, cookie, _) = try await client.login("admin.user", StaffHarness.password("admin.user"))
            #expect(status == .ok)
            let me = try await client.execute(uri: "/staff/me", method: .get, headers: [.cookie: cookie!]) { response in
                (response.headers[.contentType], try JSONDecoder().decode(StaffUserResponse.self, from: response.body))
            }
            #expect(me.0 == "application/json; charset=utf-8" && me.1.userID == "admin.user" && me.1.csrfToken != nil)
            let failed = try await client.execute(uri: "/staff/login", method: .post, headers: [.contentType: "application/json", .accept: "text/html"],
                                                  body: ByteBuffer(string: #"{"userID":"admin.user","password":"wrong one"}"#))
            #expect(failed.status == .unauthorized && String(buffer: failed.body) == #"{"error":{"message":"login failed"}}"#)
            let out = try await client.execute(uri: "/staff/logout", method: .post, headers: staffHeaders(cookie: cookie))
            #expect(out.status == .noContent)
        }
    }

    @Test("a template that does not parse, or a missing one, stops the start with the file's name")
    func brokenTemplates() throws {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-staff-templates")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let shipped = TestSupport.templatesDirectory + "/staff"
        for name in StaffPageRenderer.requiredTemplates {
            try FileManager.default.copyItem(atPath: "\(shipped)/\(name).mustache", toPath: "\(dir)/\(name).mustache")
        }
        _ = try StaffPageRenderer(directory: dir)
        try "<h1>{{#page}}\n<p>{{title}}</p>\n".write(toFile: "\(dir)/home.mustache", atomically: true, encoding: .utf8)
        #expect {
            try StaffPageRenderer(directory: dir)
        } throws: { error in
            guard case .invalid(let file, _, _, _) = error as? StaffTemplateError else { return false }
            return file == "\(dir)/home.mustache" && "\(error)".hasPrefix("\(dir)/home.mustache:")
        }
        try FileManager.default.removeItem(atPath: "\(dir)/home.mustache")
        #expect(throws: StaffTemplateError.missing("\(dir)/home.mustache")) { try StaffPageRenderer(directory: dir) }
        #expect(throws: StaffTemplateError.noDirectory("\(dir)/none")) { try StaffPageRenderer(directory: "\(dir)/none") }
    }
}

/// The staff routes with the pages mounted, as `buildApplication` mounts them, on a fresh database of
/// either backend; plus three routes of its own to see how errors reach a browser.
struct ShellHarness: Sendable {
    let store: StaffStore
    let audit: AuditLog
    let clock: StaffTestClock

    static func run(_ backend: TestBackend, _ body: @escaping @Sendable (ShellHarness, any TestClientProtocol) async throws -> Void) async throws {
        try await StorageTestSupport.withDatabase(backend) { test in
            let clock = StaffTestClock()
            let store = StaffStore(database: test.database, passwordParameters: .testing)
            let signer = HMACCheckpointSigner(key: Array(repeating: 3, count: 32))
            let audit = AuditLog(database: test.database, signer: signer, checkpointInterval: 10, clock: clock.function)
            for (role, id) in StaffHarness.roleUsers {
                _ = try await store.addUser(id, role: role, password: StaffHarness.password(id))
            }
            let auth = StaffAuth(store: store, audit: audit, idleTimeout: StaffHarness.idleTimeout, lockout: StaffHarness.lockout,
                                 clock: clock.function)
            let pages = try StaffPageRenderer(directory: TestSupport.templatesDirectory + "/staff")
            let router = Router(context: BasicStaffRequestContext.self)
            let staff = StaffController(auth: auth, checkpointSigner: signer, pages: pages).addRoutes(to: router.group("staff"))
            StaffShellController(pages: pages).addRoutes(to: staff)
            staff.add(StaffEndpoint(.get, "operator", .permission(.operatorDashboard))) { _, _, _ in "dashboard" }
            staff.add(StaffEndpoint(.get, "missing", .signedIn)) { _, _, _ -> String in throw HTTPError(.notFound) }
            staff.add(StaffEndpoint(.get, "broken", .signedIn)) { _, _, _ -> String in throw Broken() }
            let harness = ShellHarness(store: store, audit: audit, clock: clock)
            try await Application(router: router).test(.router) { client in try await body(harness, client) }
        }
    }

    func entries() async throws -> [AuditEntry] {
        try await audit.flush()
        return try await audit.entries(limit: 100_000)
    }

    /// A failure that is no HTTP error (a database going away, say).
    struct Broken: Error {}
}

/// A response as a browser sees it.
struct BrowserResponse: Sendable {
    var status: HTTPResponse.Status
    var location: String?
    var contentType: String?
    var setCookies: [String]
    var html: String

    /// The `kofu_staff=<token>` pair a sign-in set, if any.
    var cookie: String? {
        setCookies.first { $0.hasPrefix(StaffAuth.cookieName + "=") && !$0.hasPrefix(StaffAuth.cookieName + "=;") }
            .map { String($0.split(separator: ";")[0]) }
    }

    init(_ response: TestResponse) {
        status = response.status
        location = response.headers[.location]
        contentType = response.headers[.contentType]
        setCookies = response.headers[values: .setCookie]
        html = String(buffer: response.body)
    }
}

extension TestClientProtocol {
    /// A page as a browser asks for it.
    func page(_ path: String, cookie: String?) async throws -> BrowserResponse {
        var headers = StaffShellTests.browser
        if let cookie { headers[.cookie] = cookie }
        return BrowserResponse(try await execute(uri: path, method: .get, headers: headers))
    }

    /// A form post as a browser sends it.
    func formPost(_ path: String, _ body: String, cookie: String?) async throws -> BrowserResponse {
        var headers = StaffShellTests.browser
        headers[.contentType] = "application/x-www-form-urlencoded"
        if let cookie { headers[.cookie] = cookie }
        return BrowserResponse(try await execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: body)))
    }

    /// The sign-in page's form.
    func formLogin(_ id: String, _ password: String, next: String? = nil) async throws -> BrowserResponse {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: allowed)! }
        var body = "userID=\(encode(id))&password=\(encode(password))"
        if let next { body += "&next=\(encode(next))" }
        return try await formPost("/staff/login", body, cookie: nil)
    }
}
