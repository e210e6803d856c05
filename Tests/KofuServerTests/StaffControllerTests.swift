import Foundation
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import Testing

@Suite("Staff routes")
struct StaffControllerTests {
    /// Who calls: one signed-in user per role, or nobody.
    enum Caller: CaseIterable, Sendable {
        case clerk, supervisor, op, auditor, admin, anonymous

        var userID: String? {
            switch self {
            case .clerk: "clerk.user"
            case .supervisor: "super.user"
            case .op: "oper.user"
            case .auditor: "audit.user"
            case .admin: "admin.user"
            case .anonymous: nil
            }
        }
    }

    /// Expected status per endpoint, in `Caller` order: clerk, supervisor, operator, auditor, administrator, anonymous.
    static let expected: [String: [Int]] = [
        "POST login": [200, 200, 200, 200, 200, 401],
        "POST logout": [204, 204, 204, 204, 204, 401],
        "GET me": [200, 200, 200, 200, 200, 401],
        "GET users": [403, 403, 403, 403, 200, 401],
        "POST users": [403, 403, 403, 403, 201, 401],
        "POST users/:id/disable": [403, 403, 403, 403, 204, 401],
        "POST users/:id/enable": [403, 403, 403, 403, 204, 401],
        "POST users/:id/password": [403, 403, 403, 403, 204, 401],
        "GET audit/export": [403, 403, 403, 200, 200, 401],
        "GET audit/verify": [403, 403, 403, 200, 200, 401],
    ]

    @Test("every staff endpoint × every role gives exactly the expected status, and each denial is audited")
    func endpointRoleTable() async throws {
        #expect(Set(StaffController.endpoints.map(\.description)) == Set(Self.expected.keys))
        try await StaffHarness.run { harness, client in
            var denials = 0
            var counter = 0
            for endpoint in StaffController.endpoints {
                for (column, caller) in Caller.allCases.enumerated() {
                    counter += 1
                    var cookie: String?
                    if let id = caller.userID {
                        let (status, pair, _) = try await client.login(id, StaffHarness.password(id))
                        try #require(status == .ok)
                        cookie = pair
                    }
                    let status = try await call(endpoint, caller: caller, cookie: cookie, client: client, n: counter)
                    let want = Self.expected[endpoint.description]![column]
                    #expect(status.code == want, "\(endpoint) as \(caller)")
                    if endpoint != StaffController.login && (want == 401 || want == 403) { denials += 1 }
                }
            }
            let denied = try await harness.entries().filter { $0.action == "access_denied" }
            #expect(denied.count == denials)
            #expect(denied.allSatisfy { $0.outcome == "denied" && $0.object.hasPrefix("endpoint:") })
        }
    }

    func call(_ endpoint: StaffEndpoint, caller: Caller, cookie: String?, client: any TestClientProtocol, n: Int) async throws -> HTTPResponse.Status {
        let path = "/staff/" + endpoint.path.replacingOccurrences(of: ":id", with: "target.user")
        let headers = staffHeaders(cookie: cookie)
        var body: [String: String]?
        switch endpoint {
        case StaffController.login:
            let id = caller.userID ?? "admin.user"
            body = ["userID": id, "password": caller.userID.map(StaffHarness.password) ?? "not-the-password"]
        case StaffController.createUser:
            body = ["userID": "new.user.\(n)", "role": "auditor", "password": "a fresh long password"]
        case StaffController.resetPassword:
            body = ["password": StaffHarness.password("target.user")]
        default:
            body = nil
        }
        let buffer = try body.map { ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: $0)) }
        return try await client.execute(uri: path, method: endpoint.method, headers: headers, body: buffer) { $0.status }
    }

    @Test("no role holds every permission, and only administrators administer users")
    func leastPrivilege() {
        for role in StaffRole.allCases {
            #expect(role.permissions != Set(Permission.allCases), "\(role)")
        }
        #expect(StaffRole.allCases.filter { $0.allows(.userAdministration) } == [.administrator])
        #expect(StaffRole.allCases.filter { $0.allows(.approveRestrictedIssuance) } == [.counterSupervisor])
        #expect(StaffRole.allCases.filter { $0.allows(.counterLookup) } == [.counterClerk, .counterSupervisor])
    }

    @Test("the session cookie is HttpOnly, Secure and SameSite=Strict, limited to /staff")
    func cookieAttributes() async throws {
        try await StaffHarness.run { _, client in
            let (status, _, setCookies) = try await client.login("clerk.user", StaffHarness.password("clerk.user"))
            #expect(status == .ok)
            let cookie = try #require(setCookies.first)
            #expect(cookie.contains("HttpOnly"))
            #expect(cookie.contains("Secure"))
            #expect(cookie.contains("SameSite=Strict"))
            #expect(cookie.contains("Path=/staff"))
        }
    }

    @Test("repeated failed logins lock the account out, and the lockout is audited")
    func lockout() async throws {
        try await StaffHarness.run { harness, client in
            for i in 0..<StaffHarness.lockout.threshold {
                #expect(try await client.login("clerk.user", "wrong password \(i)").0 == .unauthorized)
            }
            #expect(try await client.login("clerk.user", StaffHarness.password("clerk.user")).0 == .unauthorized)
            harness.clock.advance(StaffHarness.lockout.duration + 1)
            #expect(try await client.login("clerk.user", StaffHarness.password("clerk.user")).0 == .ok)
            let entries = try await harness.entries()
            #expect(entries.filter { $0.action == "lockout" && $0.actor == "clerk.user" }.count == 1)
            #expect(entries.filter { $0.action == "login_failed" }.map(\.reason)
                    == ["wrong_password", "wrong_password", "wrong_password", "locked"])
        }
    }

    @Test("a second login ends the first session")
    func secondLogin() async throws {
        try await StaffHarness.run { harness, client in
            let first = try await client.login("clerk.user", StaffHarness.password("clerk.user")).1
            #expect(try await client.get("/staff/me", cookie: first) == .ok)
            let second = try await client.login("clerk.user", StaffHarness.password("clerk.user")).1
            #expect(first != second)
            #expect(try await client.get("/staff/me", cookie: first) == .unauthorized)
            #expect(try await client.get("/staff/me", cookie: second) == .ok)
            #expect(try await harness.entries().contains { $0.action == "logout" && $0.reason == "replaced_by_new_login" })
        }
    }

    @Test("an idle session is logged out; activity within the timeout keeps it")
    func idleTimeout() async throws {
        try await StaffHarness.run { harness, client in
            let cookie = try await client.login("clerk.user", StaffHarness.password("clerk.user")).1
            harness.clock.advance(StaffHarness.idleTimeout - 10)
            #expect(try await client.get("/staff/me", cookie: cookie) == .ok)
            harness.clock.advance(StaffHarness.idleTimeout + 1)
            let cleared = try await client.execute(uri: "/staff/me", method: .get, headers: [.cookie: cookie!]) { response in
                (response.status, response.headers[values: .setCookie])
            }
            #expect(cleared.0 == .unauthorized)
            #expect(cleared.1.contains { $0.hasPrefix("kofu_staff=;") && $0.contains("Max-Age=0") })
            #expect(try await harness.entries().contains { $0.action == "logout" && $0.reason == "idle_timeout" && $0.actor == "clerk.user" })
        }
    }

    @Test("logout ends the session")
    func logout() async throws {
        try await StaffHarness.run { _, client in
            let cookie = try await client.login("audit.user", StaffHarness.password("audit.user")).1
            let status = try await client.execute(uri: "/staff/logout", method: .post, headers: staffHeaders(cookie: cookie)) { $0.status }
            #expect(status == .noContent)
            #expect(try await client.get("/staff/me", cookie: cookie) == .unauthorized)
        }
    }

    @Test("audit export is JSON Lines and is itself audited; verify reports an intact chain")
    func exportAndVerify() async throws {
        try await StaffHarness.run { harness, client in
            let cookie = try await client.login("audit.user", StaffHarness.password("audit.user")).1!
            let text = try await client.execute(uri: "/staff/audit/export?from=2020-01-01&to=2099-12-31", method: .get,
                                                headers: [.cookie: cookie]) { response in
                #expect(response.headers[.contentType]?.hasPrefix("application/jsonl") == true)
                #expect(response.headers[.cacheControl] == "no-store")
                return String(buffer: response.body)
            }
            let lines = text.split(separator: "\n")
            #expect(lines.count >= 1)
            for line in lines { _ = try JSONDecoder().decode(AuditEntry.self, from: Data(line.utf8)) }
            #expect(try await harness.entries().contains { $0.action == "export" && $0.actor == "audit.user" })
            let verify = try await client.execute(uri: "/staff/audit/verify", method: .get, headers: [.cookie: cookie]) { response in
                try JSONDecoder().decode(AuditVerificationResponse.self, from: response.body)
            }
            #expect(verify.intact)
            #expect(verify.problems == [])
        }
    }

    @Test("no password or session token appears in any log line or audit entry")
    func noSecretsInLogs() async throws {
        try await StaffHarness.run { harness, client in
            var secrets: [String] = []
            let (_, cookie, _) = try await client.login("admin.user", StaffHarness.password("admin.user"))
            secrets.append(StaffHarness.password("admin.user"))
            secrets.append(String(cookie!.dropFirst("kofu_staff=".count)))
            // A password typed into the user ID field, then wrong passwords.
            _ = try await client.login("pw-typed-in-the-id-field-9", "x")
            secrets.append("pw-typed-in-the-id-field-9")
            _ = try await client.login("clerk.user", "a-wrong-password-42")
            secrets.append("a-wrong-password-42")
            let newPassword = "brand new secret password 77"
            let body = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["userID": "fresh.user", "role": "operator", "password": newPassword]))
            let created = try await client.execute(uri: "/staff/users", method: .post,
                                                   headers: staffHeaders(cookie: cookie), body: body) { $0.status }
            #expect(created == .created)
            secrets.append(newPassword)
            let (_, freshCookie, _) = try await client.login("fresh.user", newPassword)
            secrets.append(String(freshCookie!.dropFirst("kofu_staff=".count)))
            _ = try await client.get("/staff/users", cookie: freshCookie)

            let logs = harness.logs.all
            #expect(logs.contains { $0.contains("staff login") })
            let audit = try await harness.entries().map(AuditExport.jsonLine)
            for secret in secrets {
                #expect(!logs.contains { $0.contains(secret) }, "a secret reached the logs: \(logs.filter { $0.contains(secret) })")
                #expect(!audit.contains { $0.contains(secret) }, "a secret reached the audit log")
            }
        }
    }
}
