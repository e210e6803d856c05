import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// The administrator's pages: the account list, adding users, roles, disabling, password resets and the
/// seal key rotation — all through the forms a browser posts.
@Suite("Admin pages")
struct AdminPagesTests {
    static let newPassword = "a-fresh-password-42"

    @Test("adding a user through the form: PRG to the list, audited, and the new user can sign in; bad input changes nothing",
          arguments: StorageTestSupport.backends)
    func addUser(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            let cookie = try await h.signIn(client, "admin.user")
            let csrf = PagesHarness.csrf(cookie)
            let list = try await client.page("/staff/admin/users", cookie: cookie)
            #expect(list.status == .ok && list.html.contains("アカウント一覧") && list.html.contains("clerk.user"))
            let mismatch = try await client.formPost("/staff/admin/users",
                                                     "_csrf=\(csrf)&userID=new.clerk&role=counter_clerk&password=\(Self.newPassword)&passwordConfirm=other-password-1",
                                                     cookie: cookie)
            #expect(mismatch.status == .seeOther && mismatch.location == "/staff/admin/users?error=password_mismatch")
            #expect(try await client.page(mismatch.location!, cookie: cookie).html.contains("一致しません"))
            let short = try await client.formPost("/staff/admin/users", "_csrf=\(csrf)&userID=new.clerk&role=counter_clerk&password=short&passwordConfirm=short", cookie: cookie)
            #expect(short.location == "/staff/admin/users?error=password_too_short")
            #expect(try await h.store.user("new.clerk") == nil)

            let added = try await client.formPost("/staff/admin/users",
                                                  "_csrf=\(csrf)&userID=new.clerk&role=counter_clerk&password=\(Self.newPassword)&passwordConfirm=\(Self.newPassword)",
                                                  cookie: cookie)
            #expect(added.status == .seeOther && added.location == "/staff/admin/users?done=created&user=new.clerk")
            #expect(try await h.store.user("new.clerk")?.role == .counterClerk)
            #expect(try await client.formLogin("new.clerk", Self.newPassword).status == .seeOther)
            let changes = try await h.entries().filter { $0.action == "user_change" }
            #expect(changes.map(\.outcome) == ["failure", "success"])
            #expect(changes.last?.reason == "created role=counter_clerk" && changes.last?.object == "user:new.clerk")
            #expect(!changes.contains { $0.reason.contains(Self.newPassword) })
            // The review list shows the last sign-in and the failures.
            _ = try await client.formLogin("clerk.user", "wrong password!!")
            let review = try await client.page("/staff/admin/users", cookie: cookie).html
            #expect(review.contains("<td>\(JapanTimeForTests.display(h.clock.function()))</td>"))
            #expect(try await h.store.user("clerk.user")?.failedLogins == 1)
            #expect(try await h.store.user("admin.user")?.lastLoginAt != nil)
            #expect(try await h.store.user("oper.user")?.lastLoginAt == nil)
            // Without the token: refused.
            #expect(try await client.formPost("/staff/admin/users", "userID=x.y&role=auditor&password=\(Self.newPassword)&passwordConfirm=\(Self.newPassword)",
                                              cookie: cookie).status == .forbidden)
            // Other roles may not.
            let auditor = try await h.signIn(client, "audit.user")
            #expect(try await client.page("/staff/admin/users", cookie: auditor).status == .forbidden)
        }
    }

    @Test("changing a role through the form; never one's own; the store keeps the last administrator", arguments: StorageTestSupport.backends)
    func changeRole(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            let cookie = try await h.signIn(client, "admin.user")
            let csrf = PagesHarness.csrf(cookie)
            let clerk = try await h.signIn(client, "clerk.user")
            let r = try await client.formPost("/staff/admin/users/clerk.user/role", "_csrf=\(csrf)&role=auditor", cookie: cookie)
            #expect(r.status == .seeOther && r.location == "/staff/admin/users/clerk.user?done=role_changed")
            #expect(try await h.store.user("clerk.user")?.role == .auditor)
            // The old session (with the old role) is ended.
            #expect(try await client.page("/staff", cookie: clerk).location == "/staff/login")
            let own = try await client.formPost("/staff/admin/users/admin.user/role", "_csrf=\(csrf)&role=auditor", cookie: cookie)
            #expect(own.location == "/staff/admin/users/admin.user?error=own_role")
            #expect(try await h.store.user("admin.user")?.role == .administrator)
            let selfDisable = try await client.formPost("/staff/admin/users/admin.user/disable", "_csrf=\(csrf)", cookie: cookie)
            #expect(selfDisable.location == "/staff/admin/users/admin.user?error=own_account")
            let changes = try await h.entries().filter { $0.action == "user_change" }.map { "\($0.object) \($0.outcome) \($0.reason)" }
            #expect(changes == ["user:clerk.user success role=auditor", "user:admin.user failure role=auditor refused=own_role",
                                "user:admin.user failure disabled refused=own_account"])

            // The last enabled administrator keeps the role; with a second one it may go.
            await #expect(throws: StaffError.lastAdministrator("admin.user")) { try await h.store.setRole("admin.user", .auditor) }
            _ = try await h.store.addUser("admin.two", role: .administrator, password: StaffHarness.password("admin.two"))
            try await h.store.setDisabled("admin.two", true)
            await #expect(throws: StaffError.lastAdministrator("admin.user")) { try await h.store.setRole("admin.user", .auditor) }
            try await h.store.setDisabled("admin.two", false)
            try await h.store.setRole("admin.user", .auditor)
            #expect(try await h.store.user("admin.user")?.role == .auditor)
        }
    }

    @Test("disable, enable and reset a password through the forms", arguments: StorageTestSupport.backends)
    func disableEnableReset(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend) { h, client in
            let cookie = try await h.signIn(client, "admin.user")
            let csrf = PagesHarness.csrf(cookie)
            let page = try await client.page("/staff/admin/users/oper.user", cookie: cookie)
            #expect(page.status == .ok && page.html.contains("無効にする") && page.html.contains("パスワードの再設定"))
            #expect(try await client.page("/staff/admin/users/no.such.user", cookie: cookie).status == .notFound)
            _ = try await client.formPost("/staff/admin/users/oper.user/disable", "_csrf=\(csrf)", cookie: cookie)
            #expect(try await h.store.user("oper.user")?.disabled == true)
            _ = try await client.formPost("/staff/admin/users/oper.user/enable", "_csrf=\(csrf)", cookie: cookie)
            #expect(try await h.store.user("oper.user")?.disabled == false)
            let reset = try await client.formPost("/staff/admin/users/oper.user/password",
                                                  "_csrf=\(csrf)&password=\(Self.newPassword)&passwordConfirm=\(Self.newPassword)", cookie: cookie)
            #expect(reset.location == "/staff/admin/users/oper.user?done=password_reset")
            #expect(try await client.formLogin("oper.user", StaffHarness.password("oper.user")).status == .unauthorized)
            #expect(try await client.formLogin("oper.user", Self.newPassword).status == .seeOther)
            let reasons = try await h.entries().filter { $0.action == "user_change" }.map(\.reason)
            #expect(reasons == ["disabled", "enabled", "password_reset"])
        }
    }

    @Test("rotating the seal key from the page, after a confirmation, changes the signing key at once and is audited",
          arguments: StorageTestSupport.backends)
    func rotateKey(_ backend: TestBackend) async throws {
        try await PagesHarness.run(backend, sealKeys: true) { h, client in
            let keys = try #require(h.sealKeys)
            let before = keys.signingKeyID
            let cookie = try await h.signIn(client, "admin.user")
            let csrf = PagesHarness.csrf(cookie)
            let page = try await client.page("/staff/admin/keys", cookie: cookie)
            #expect(page.status == .ok && page.html.contains(before) && page.html.contains("鍵を更新"))
            #expect(try await client.page("/staff/admin/keys/rotate", cookie: cookie).html.contains("よろしいですか"))
            let unconfirmed = try await client.formPost("/staff/admin/keys/rotate", "_csrf=\(csrf)", cookie: cookie)
            #expect(unconfirmed.location == "/staff/admin/keys/rotate" && keys.signingKeyID == before)
            let done = try await client.formPost("/staff/admin/keys/rotate", "_csrf=\(csrf)&confirm=yes", cookie: cookie)
            #expect(done.status == .seeOther && done.location == "/staff/admin/keys?done=rotated")
            let after = keys.signingKeyID
            #expect(after != before)
            #expect(keys.keyring.entries.count == 2)
            let shown = try await client.page(done.location!, cookie: cookie).html
            #expect(shown.contains("公印鍵を更新しました") && shown.contains(after))
            let ops = try await h.entries().filter { $0.action == "key_operation" }
            #expect(ops.count == 1 && ops[0].actor == "admin.user" && ops[0].object == "seal_key:\(after)"
                    && ops[0].reason.hasPrefix("rotate previous=\(before) "))
            let auditor = try await h.signIn(client, "audit.user")
            #expect(try await client.page("/staff/admin/keys", cookie: auditor).status == .forbidden)
        }
    }
}

/// Japan time as the pages show it (UTC+9), computed independently of the code under test.
enum JapanTimeForTests {
    static func display(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(secondsFromGMT: 9 * 3600)
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: date)
    }
}
