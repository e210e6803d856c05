import Foundation
import KofuCrypto
import SQLKit

/// A staff role (役割). Each user has exactly one, so duties stay separate (an auditor cannot administer
/// users, an administrator cannot look up residents). What each role may do is decided by the server's
/// role → permission table.
public enum StaffRole: String, Sendable, Codable, CaseIterable {
    /// 窓口担当: looks up and issues certificates at the counter.
    case counterClerk = "counter_clerk"
    /// 窓口責任者: a clerk who may also approve restricted issuance.
    case counterSupervisor = "counter_supervisor"
    /// 運用担当: watches the service and pauses/resumes kiosk intake.
    case `operator`
    /// 監査担当: reads, exports and verifies the audit log.
    case auditor
    /// 管理者: users, configuration and keys.
    case administrator
}

/// A staff account as stored (never with its password hash).
public struct StaffUser: Sendable, Equatable, Codable {
    public var userID: String
    public var role: StaffRole
    public var disabled: Bool
    public var failedLogins: Int
    /// Set while the account is locked out after repeated failures.
    public var lockedUntil: Date?
    public var createdAt: Date
    public var passwordChangedAt: Date
    /// The last successful sign-in; nil if the user never signed in.
    public var lastLoginAt: Date? = nil

    public func isLocked(at now: Date) -> Bool { lockedUntil.map { $0 > now } ?? false }
}

/// Errors administering staff accounts. They never carry a password.
public enum StaffError: Error, Equatable, CustomStringConvertible {
    /// User IDs are 1–64 characters of a–z, 0–9, `.`, `_`, `-`.
    case invalidUserID
    case userExists(String)
    case unknownUser(String)
    /// Passwords need at least `StaffStore.minimumPasswordLength` characters.
    case passwordTooShort
    /// Disabling this account would leave no enabled administrator, and so nobody to manage accounts.
    case lastAdministrator(String)
    /// An administrator may not disable their own account (another administrator must).
    case cannotDisableSelf(String)

    public var description: String {
        switch self {
        case .invalidUserID: "a user ID is 1–64 characters of a–z, 0–9, '.', '_' or '-'"
        case .userExists(let id): "user \(id) already exists"
        case .unknownUser(let id): "no user \(id)"
        case .passwordTooShort: "the password must have at least \(StaffStore.minimumPasswordLength) characters"
        case .lastAdministrator(let id): "\(id) is the last enabled administrator and cannot be disabled or lose the role"
        case .cannotDisableSelf(let id): "\(id) cannot disable their own account"
        }
    }
}

/// When to lock an account out.
public struct LockoutPolicy: Sendable, Equatable {
    /// Consecutive failures that lock the account.
    public var threshold: Int
    public var duration: TimeInterval
    public init(threshold: Int, duration: TimeInterval) {
        self.threshold = threshold; self.duration = duration
    }
}

/// The result of a login attempt.
public enum LoginResult: Sendable, Equatable {
    case success(StaffUser)
    case unknownUser
    case disabled(userID: String)
    /// The account is (still) locked; the password was not checked.
    case locked(userID: String)
    /// Wrong password; `lockedNow` when this failure reached the threshold.
    case wrongPassword(userID: String, lockedNow: Bool)
}

/// A new session: `token` goes into the cookie and is never stored; `replaced` when an older session of
/// the same user was ended by this login.
public struct NewSession: Sendable {
    public var token: String
    public var user: StaffUser
    public var replaced: Bool
}

/// Looking up a session token.
public enum SessionLookup: Sendable, Equatable {
    case valid(StaffUser)
    /// Idle too long: the session has been deleted.
    case expired(userID: String)
    /// No such session (never existed, logged out, or replaced by a newer login), or the user is disabled.
    case invalid
}

/// Staff accounts and their sessions, on SQLite or PostgreSQL.
public struct StaffStore: Sendable {
    public static let minimumPasswordLength = 12
    public let database: KofuDatabase
    public let passwordParameters: Scrypt.Parameters
    /// Checked for unknown user IDs so that a login takes as long whether or not the ID exists.
    private let decoyHash: String

    public init(database: KofuDatabase, passwordParameters: Scrypt.Parameters = .interactive) {
        self.database = database
        self.passwordParameters = passwordParameters
        decoyHash = (try? Scrypt.hashPassword(Hex.encode(SecureRandom.bytes(16)), parameters: passwordParameters)) ?? ""
    }

    public static func isValidUserID(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= 64 && id.utf8.allSatisfy { c in
            (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 46 || c == 95 || c == 45
        }
    }

    private static func millis(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    private static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    private static let userColumns = "user_id, role, disabled, failed_logins, locked_until, created_at, password_changed_at, last_login_at"

    private static func decodeUser(_ row: any SQLRow) throws -> StaffUser {
        let roleText = try row.decode(column: "role", as: String.self)
        return StaffUser(userID: try row.decode(column: "user_id", as: String.self),
                         role: StaffRole(rawValue: roleText) ?? .counterClerk,
                         disabled: try row.decode(column: "disabled", as: Int.self) != 0,
                         failedLogins: try row.decode(column: "failed_logins", as: Int.self),
                         lockedUntil: try row.decode(column: "locked_until", as: Int64?.self).map(date),
                         createdAt: date(try row.decode(column: "created_at", as: Int64.self)),
                         passwordChangedAt: date(try row.decode(column: "password_changed_at", as: Int64.self)),
                         lastLoginAt: try row.decode(column: "last_login_at", as: Int64?.self).map(date))
    }

    private func checkPassword(_ password: String) throws {
        guard password.count >= Self.minimumPasswordLength else { throw StaffError.passwordTooShort }
    }

    /// Creates a user with `role` and `password`.
    public func addUser(_ id: String, role: StaffRole, password: String, now: Date = Date()) async throws -> StaffUser {
        guard Self.isValidUserID(id) else { throw StaffError.invalidUserID }
        try checkPassword(password)
        let hash = try Scrypt.hashPassword(password, parameters: passwordParameters)
        let ms = Self.millis(now)
        try await database.transaction { db in
            if try await db.raw("SELECT user_id FROM staff_users WHERE user_id = \(bind: id)").first() != nil {
                throw StaffError.userExists(id)
            }
            try await db.raw("INSERT INTO staff_users (user_id, role, password_hash, disabled, failed_logins, locked_until, created_at, password_changed_at) VALUES (\(bind: id), \(bind: role.rawValue), \(bind: hash), 0, 0, NULL, \(bind: ms), \(bind: ms))").run()
        }
        return StaffUser(userID: id, role: role, disabled: false, failedLogins: 0, lockedUntil: nil,
                         createdAt: Self.date(ms), passwordChangedAt: Self.date(ms))
    }

    public func user(_ id: String) async throws -> StaffUser? {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM staff_users WHERE user_id = \(bind: id)").first().map(Self.decodeUser)
        }
    }

    public func users() async throws -> [StaffUser] {
        try await database.read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM staff_users ORDER BY user_id").all().map(Self.decodeUser)
        }
    }

    /// Disables or re-enables a user. Disabling ends the user's session; enabling clears a lockout.
    public func setDisabled(_ id: String, _ disabled: Bool) async throws {
        try await database.transaction { db in
            guard try await db.raw("SELECT user_id FROM staff_users WHERE user_id = \(bind: id)").first() != nil else {
                throw StaffError.unknownUser(id)
            }
            if disabled {
                // Checked in the same transaction as the change: SQLite has one writer, and on PostgreSQL the
                // administrators' rows are locked, so two administrators disabling each other at once cannot
                // both succeed.
                let lock = database.backend == .postgres ? " FOR UPDATE" : ""
                let admins = try await db.raw("SELECT user_id FROM staff_users WHERE role = 'administrator' AND disabled = 0\(unsafeRaw: lock)").all()
                    .compactMap { try? $0.decode(column: "user_id", as: String.self) }
                if admins == [id] { throw StaffError.lastAdministrator(id) }
                try await db.raw("UPDATE staff_users SET disabled = 1 WHERE user_id = \(bind: id)").run()
                try await db.raw("DELETE FROM staff_sessions WHERE user_id = \(bind: id)").run()
            } else {
                try await db.raw("UPDATE staff_users SET disabled = 0, failed_logins = 0, locked_until = NULL WHERE user_id = \(bind: id)").run()
            }
        }
    }

    /// Gives a user another role and ends their session (the new role applies from their next sign-in).
    /// Refuses to take the role from the last enabled administrator, checked in the same transaction as the
    /// change (see `setDisabled`).
    public func setRole(_ id: String, _ role: StaffRole) async throws {
        try await database.transaction { db in
            guard let row = try await db.raw("SELECT role FROM staff_users WHERE user_id = \(bind: id)").first() else {
                throw StaffError.unknownUser(id)
            }
            let current = try row.decode(column: "role", as: String.self)
            guard current != role.rawValue else { return }
            if current == StaffRole.administrator.rawValue {
                let lock = database.backend == .postgres ? " FOR UPDATE" : ""
                let admins = try await db.raw("SELECT user_id FROM staff_users WHERE role = 'administrator' AND disabled = 0\(unsafeRaw: lock)").all()
                    .compactMap { try? $0.decode(column: "user_id", as: String.self) }
                if admins == [id] { throw StaffError.lastAdministrator(id) }
            }
            try await db.raw("UPDATE staff_users SET role = \(bind: role.rawValue) WHERE user_id = \(bind: id)").run()
            try await db.raw("DELETE FROM staff_sessions WHERE user_id = \(bind: id)").run()
        }
    }

    /// Sets a new password, clears any lockout and ends the user's session.
    public func setPassword(_ id: String, password: String, now: Date = Date()) async throws {
        try checkPassword(password)
        let hash = try Scrypt.hashPassword(password, parameters: passwordParameters)
        try await database.transaction { db in
            guard try await db.raw("SELECT user_id FROM staff_users WHERE user_id = \(bind: id)").first() != nil else {
                throw StaffError.unknownUser(id)
            }
            try await db.raw("UPDATE staff_users SET password_hash = \(bind: hash), password_changed_at = \(bind: Self.millis(now)), failed_logins = 0, locked_until = NULL WHERE user_id = \(bind: id)").run()
            try await db.raw("DELETE FROM staff_sessions WHERE user_id = \(bind: id)").run()
        }
    }

    /// Checks a login attempt and updates the failure counter and lockout.
    public func authenticate(_ id: String, password: String, now: Date, lockout: LockoutPolicy) async throws -> LoginResult {
        // The typed ID is matched in memory rather than bound into a query: the database driver logs
        // bound values at debug level, and a password typed into the ID field must not reach a log.
        // The table holds one row per staff member, so reading it whole is cheap.
        guard Self.isValidUserID(id),
              let row = try await database.read({ db in
                  try await db.raw("SELECT password_hash, \(unsafeRaw: Self.userColumns) FROM staff_users").all()
                      .first { (try? $0.decode(column: "user_id", as: String.self)) == id }
              })
        else {
            _ = try? Scrypt.verifyPassword(password, against: decoyHash)
            return .unknownUser
        }
        let user = try Self.decodeUser(row)
        let stored = try row.decode(column: "password_hash", as: String.self)
        // The password is checked even for a disabled or locked account, and its result ignored: answering
        // those without the scrypt work would tell by timing alone that an account is locked.
        let matches = try Scrypt.verifyPassword(password, against: stored)
        if user.disabled { return .disabled(userID: id) }
        if user.isLocked(at: now) { return .locked(userID: id) }
        if matches {
            try await database.transaction { db in
                try await db.raw("UPDATE staff_users SET failed_logins = 0, locked_until = NULL, last_login_at = \(bind: Self.millis(now)) WHERE user_id = \(bind: id)").run()
            }
            var ok = user
            ok.failedLogins = 0
            ok.lockedUntil = nil
            ok.lastLoginAt = Self.date(Self.millis(now))
            return .success(ok)
        }
        let until = Self.millis(now.addingTimeInterval(lockout.duration))
        let lockedNow = try await database.transaction { db -> Bool in
            let failures = (try await db.raw("SELECT failed_logins FROM staff_users WHERE user_id = \(bind: id)").first()?
                .decode(column: "failed_logins", as: Int.self) ?? 0) + 1
            if failures >= lockout.threshold {
                try await db.raw("UPDATE staff_users SET failed_logins = 0, locked_until = \(bind: until) WHERE user_id = \(bind: id)").run()
                try await db.raw("DELETE FROM staff_sessions WHERE user_id = \(bind: id)").run()
                return true
            }
            try await db.raw("UPDATE staff_users SET failed_logins = \(bind: failures) WHERE user_id = \(bind: id)").run()
            return false
        }
        return .wrongPassword(userID: id, lockedNow: lockedNow)
    }

    /// Starts a session for `user`, ending any session the user already had (one live session per user).
    public func createSession(for user: StaffUser, now: Date) async throws -> NewSession {
        let token = Self.base64URL(SecureRandom.bytes(32))
        let tokenHash = SHA256.hex(Array(token.utf8))
        let ms = Self.millis(now)
        let replaced = try await database.transaction { db -> Bool in
            let old = try await db.raw("SELECT token_hash FROM staff_sessions WHERE user_id = \(bind: user.userID)").first()
            try await db.raw("DELETE FROM staff_sessions WHERE user_id = \(bind: user.userID)").run()
            try await db.raw("INSERT INTO staff_sessions (token_hash, user_id, created_at, last_seen) VALUES (\(bind: tokenHash), \(bind: user.userID), \(bind: ms), \(bind: ms))").run()
            return old != nil
        }
        return NewSession(token: token, user: user, replaced: replaced)
    }

    /// Finds the session for `token`; a live one has its idle clock reset (unless `touch` is false: a page's
    /// background refresh is not the user's activity), an idle one is deleted.
    public func session(token: String, now: Date, idleTimeout: TimeInterval, touch: Bool = true) async throws -> SessionLookup {
        let tokenHash = SHA256.hex(Array(token.utf8))
        let ms = Self.millis(now)
        return try await database.transaction { db -> SessionLookup in
            guard let row = try await db.raw("SELECT s.last_seen, u.user_id, u.role, u.disabled, u.failed_logins, u.locked_until, u.created_at, u.password_changed_at, u.last_login_at FROM staff_sessions s JOIN staff_users u ON u.user_id = s.user_id WHERE s.token_hash = \(bind: tokenHash)").first() else {
                return .invalid
            }
            let user = try Self.decodeUser(row)
            let lastSeen = try row.decode(column: "last_seen", as: Int64.self)
            if Double(ms - lastSeen) / 1000 > idleTimeout {
                try await db.raw("DELETE FROM staff_sessions WHERE token_hash = \(bind: tokenHash)").run()
                return .expired(userID: user.userID)
            }
            if user.disabled { return .invalid }
            guard touch else { return .valid(user) }
            try await db.raw("UPDATE staff_sessions SET last_seen = \(bind: ms) WHERE token_hash = \(bind: tokenHash)").run()
            return .valid(user)
        }
    }

    /// Ends the session for `token`; returns the user it belonged to, if any.
    @discardableResult
    public func endSession(token: String) async throws -> String? {
        let tokenHash = SHA256.hex(Array(token.utf8))
        return try await database.transaction { db -> String? in
            let user = try await db.raw("SELECT user_id FROM staff_sessions WHERE token_hash = \(bind: tokenHash)").first()?
                .decode(column: "user_id", as: String.self)
            try await db.raw("DELETE FROM staff_sessions WHERE token_hash = \(bind: tokenHash)").run()
            return user
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
