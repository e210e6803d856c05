import Foundation
import KofuCrypto
import KofuStorage
import SQLKit
import Testing

@Suite("Staff store")
struct StaffStoreTests {
    static let password = "correct horse battery"
    let lockout = LockoutPolicy(threshold: 3, duration: 600)

    @Test("users are created once, with valid IDs and long enough passwords", arguments: AuditTestBackend.available)
    func users(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            _ = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            await #expect(throws: StaffError.userExists("clerk.a")) { try await store.addUser("clerk.a", role: .auditor, password: Self.password) }
            await #expect(throws: StaffError.invalidUserID) { try await store.addUser("Clerk A", role: .auditor, password: Self.password) }
            await #expect(throws: StaffError.passwordTooShort) { try await store.addUser("clerk.b", role: .auditor, password: "short") }
            #expect(try await store.users().map(\.userID) == ["clerk.a"])
            let stored = try await db.read { db in
                try await db.raw("SELECT password_hash FROM staff_users").first()!.decode(column: "password_hash", as: String.self)
            }
            #expect(stored.hasPrefix("scrypt$10$8$1$"))
            #expect(!stored.contains(Self.password))
            #expect(try Scrypt.verifyPassword(Self.password, against: stored))
            #expect(try !Scrypt.verifyPassword(Self.password + "x", against: stored))
        }
    }

    @Test("repeated failures lock the account, even against the right password, until the lockout ends", arguments: AuditTestBackend.available)
    func lockoutAfterFailures(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            _ = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            let now = Date(timeIntervalSince1970: 1_800_000_000)
            #expect(try await store.authenticate("clerk.a", password: "wrong-1", now: now, lockout: lockout) == .wrongPassword(userID: "clerk.a", lockedNow: false))
            #expect(try await store.authenticate("clerk.a", password: "wrong-2", now: now, lockout: lockout) == .wrongPassword(userID: "clerk.a", lockedNow: false))
            #expect(try await store.authenticate("clerk.a", password: "wrong-3", now: now, lockout: lockout) == .wrongPassword(userID: "clerk.a", lockedNow: true))
            #expect(try await store.authenticate("clerk.a", password: Self.password, now: now.addingTimeInterval(599), lockout: lockout) == .locked(userID: "clerk.a"))
            guard case .success = try await store.authenticate("clerk.a", password: Self.password, now: now.addingTimeInterval(601), lockout: lockout) else {
                Issue.record("the lockout should have ended")
                return
            }
            #expect(try await store.authenticate("nobody", password: Self.password, now: now, lockout: lockout) == .unknownUser)
        }
    }

    @Test("a success resets the failure count")
    func successResets() async throws {
        try await AuditTestBackend.sqlite.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            _ = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            let now = Date()
            for _ in 0..<2 { _ = try await store.authenticate("clerk.a", password: "wrong", now: now, lockout: lockout) }
            _ = try await store.authenticate("clerk.a", password: Self.password, now: now, lockout: lockout)
            for _ in 0..<2 { _ = try await store.authenticate("clerk.a", password: "wrong", now: now, lockout: lockout) }
            #expect(try await store.user("clerk.a")?.isLocked(at: now) == false)
        }
    }

    @Test("a second login ends the first session; tokens are stored only as hashes", arguments: AuditTestBackend.available)
    func oneSessionPerUser(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            let user = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            let now = Date()
            let first = try await store.createSession(for: user, now: now)
            #expect(!first.replaced)
            let second = try await store.createSession(for: user, now: now)
            #expect(second.replaced)
            #expect(try await store.session(token: first.token, now: now, idleTimeout: 900) == .invalid)
            #expect(try await store.session(token: second.token, now: now, idleTimeout: 900) == .valid(user))
            let hashes = try await db.read { db in
                try await db.raw("SELECT token_hash FROM staff_sessions").all().map { try $0.decode(column: "token_hash", as: String.self) }
            }
            #expect(hashes == [SHA256.hex(Array(second.token.utf8))])
            #expect(Data(base64Encoded: second.token.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") + "=")?.count == 32)
        }
    }

    @Test("an idle session expires; activity keeps it alive", arguments: AuditTestBackend.available)
    func idle(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            let user = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            let s = try await store.createSession(for: user, now: t0)
            #expect(try await store.session(token: s.token, now: t0.addingTimeInterval(800), idleTimeout: 900) == .valid(user))
            #expect(try await store.session(token: s.token, now: t0.addingTimeInterval(1600), idleTimeout: 900) == .valid(user))
            #expect(try await store.session(token: s.token, now: t0.addingTimeInterval(2501), idleTimeout: 900) == .expired(userID: "clerk.a"))
            #expect(try await store.session(token: s.token, now: t0.addingTimeInterval(2502), idleTimeout: 900) == .invalid)
        }
    }

    @Test("disabling ends the session and blocks login; a password reset ends the session", arguments: AuditTestBackend.available)
    func disableAndReset(_ backend: AuditTestBackend) async throws {
        try await backend.withDatabase { db in
            let store = StaffStore(database: db, passwordParameters: .testing)
            let user = try await store.addUser("clerk.a", role: .counterClerk, password: Self.password)
            let now = Date()
            let s = try await store.createSession(for: user, now: now)
            try await store.setDisabled("clerk.a", true)
            #expect(try await store.session(token: s.token, now: now, idleTimeout: 900) == .invalid)
            #expect(try await store.authenticate("clerk.a", password: Self.password, now: now, lockout: lockout) == .disabled(userID: "clerk.a"))
            try await store.setDisabled("clerk.a", false)
            let s2 = try await store.createSession(for: user, now: now)
            try await store.setPassword("clerk.a", password: "another long password")
            #expect(try await store.session(token: s2.token, now: now, idleTimeout: 900) == .invalid)
            #expect(try await store.authenticate("clerk.a", password: Self.password, now: now, lockout: lockout) == .wrongPassword(userID: "clerk.a", lockedNow: false))
            await #expect(throws: StaffError.unknownUser("ghost")) { try await store.setDisabled("ghost", true) }
        }
    }
}
