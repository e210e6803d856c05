import ArgumentParser
import Foundation
import KofuConfig
import KofuCrypto
import KofuServer
import KofuStorage

/// What the staff and audit commands share: the configuration, the migrated database, the audit log.
struct StaffCLIEnvironment {
    let configuration: KofuConfiguration
    let settings: AuthSettings
    let database: KofuDatabase
    let signer: HMACCheckpointSigner
    let audit: AuditLog

    static func open(configuration: KofuConfiguration? = nil) async throws -> StaffCLIEnvironment {
        let configuration = try configuration ?? KofuConfiguration.load()
        let settings = try configuration.authSettings()
        let location: DatabaseLocation = configuration.databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: configuration.sqlitePath)
        let database = try await KofuDatabase.open(location)
        try await Migrator.all.run(on: database)
        let signer = try HMACCheckpointSigner.loadOrCreate(path: settings.checkpointKeyPath)
        let audit = AuditLog(database: database, signer: signer, checkpointInterval: settings.checkpointInterval,
                             anchors: try AuditAnchorer.open(settings))
        return StaffCLIEnvironment(configuration: configuration, settings: settings, database: database, signer: signer, audit: audit)
    }

    /// Opens the environment, runs `body`, and closes the database whether `body` succeeds or throws.
    static func with<R>(configuration: KofuConfiguration? = nil, _ body: (StaffCLIEnvironment) async throws -> R) async throws -> R {
        let env = try await open(configuration: configuration)
        do {
            let r = try await body(env)
            await env.finish()
            await env.database.close()
            return r
        } catch {
            await env.finish()
            await env.database.close()
            throw error
        }
    }

    /// Reads a password without echo from a terminal (asked twice), or one line from piped standard input.
    static func readPassword() throws -> String {
        if isatty(STDIN_FILENO) != 0 {
            guard let first = getpass("Password: ").map({ String(cString: $0) }),
                  let second = getpass("Again: ").map({ String(cString: $0) }) else { throw ValidationError("no password given") }
            guard first == second else { throw ValidationError("the two passwords differ") }
            return first
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw ValidationError("no password on standard input") }
        return line
    }
}

extension StaffRole: ExpressibleByArgument {}

/// `kofu users`: staff accounts (職員アカウント). Passwords are read from the terminal or standard input,
/// never from the command line (which other users can see).
struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage staff accounts: add, disable, enable, passwd, list, roles.",
        subcommands: [Add.self, Disable.self, Enable.self, Passwd.self, List.self, Roles.self])

    struct Actor: ParsableArguments {
        @Option(help: "The administrator's user ID, recorded as who made the change (default: system).")
        var by: String?

        var auditActor: AuditActor { by.map { .staff($0) } ?? .system }
    }

    static func change(_ env: StaffCLIEnvironment, _ actor: Actor, _ id: String, _ reason: String,
                       _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as StaffError {
            try await env.audit.record(AuditEvent(actor: actor.auditActor, action: .userChange, object: .user(id),
                                                  outcome: .failure, reason: reason + " via cli"))
            throw ValidationError(error.description)
        }
        try await env.audit.record(AuditEvent(actor: actor.auditActor, action: .userChange, object: .user(id), reason: reason + " via cli"))
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a user; the password is read from the terminal or standard input.")
        @Argument(help: "Personal user ID (a–z, 0–9, '.', '_', '-').") var userID: String
        @Option(help: "One of: \(StaffRole.allCases.map(\.rawValue).joined(separator: ", ")).") var role: StaffRole
        @OptionGroup var actor: Actor

        func run() async throws {
            let password = try StaffCLIEnvironment.readPassword()
            try await StaffCLIEnvironment.with { env in
                try await UsersCommand.change(env, actor, userID, "created role=\(role.rawValue)") {
                    _ = try await StaffStore(database: env.database).addUser(userID, role: role, password: password)
                }
            }
            print("added \(userID) (\(role.rawValue))")
        }
    }

    /// `users disable` / `users enable`: one change, audited, and a line saying what was done.
    static func setDisabled(_ userID: String, _ disabled: Bool, by actor: Actor) async throws {
        let what = disabled ? "disabled" : "enabled"
        try await StaffCLIEnvironment.with { env in
            try await UsersCommand.change(env, actor, userID, what) {
                try await StaffStore(database: env.database).setDisabled(userID, disabled)
            }
        }
        print("\(what) \(userID)")
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Disable a user and end its session.")
        @Argument var userID: String
        @OptionGroup var actor: Actor

        func run() async throws { try await UsersCommand.setDisabled(userID, true, by: actor) }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Enable a user (also lifts a lockout).")
        @Argument var userID: String
        @OptionGroup var actor: Actor

        func run() async throws { try await UsersCommand.setDisabled(userID, false, by: actor) }
    }

    struct Passwd: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Set a user's password (read from the terminal or standard input).")
        @Argument var userID: String
        @OptionGroup var actor: Actor

        func run() async throws {
            let password = try StaffCLIEnvironment.readPassword()
            try await StaffCLIEnvironment.with { env in
                try await UsersCommand.change(env, actor, userID, "password_reset") {
                    try await StaffStore(database: env.database).setPassword(userID, password: password)
                }
            }
            print("password set for \(userID)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List users with role and status.")

        func run() async throws {
            let users = try await StaffCLIEnvironment.with { env in try await StaffStore(database: env.database).users() }
            let now = Date()
            for u in users {
                let status = u.disabled ? "disabled" : u.isLocked(at: now) ? "locked" : "active"
                print("\(u.userID.padding(toLength: 24, withPad: " ", startingAt: 0)) \(u.role.rawValue.padding(toLength: 20, withPad: " ", startingAt: 0)) \(status)")
            }
        }
    }

    struct Roles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show each role and its permissions.")

        func run() async throws {
            for role in StaffRole.allCases {
                print("\(role.rawValue): \(role.permissions.map(\.rawValue).sorted().joined(separator: ", "))")
            }
        }
    }
}
