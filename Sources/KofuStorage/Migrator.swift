import SQLKit

/// One versioned schema change. Names are unique and ordered: `0001_tax_data`, `0002_ledger`, …
public struct Migration: Sendable {
    public let name: String
    /// Statements for each backend; most are the same SQL for both.
    public let statements: @Sendable (DatabaseBackend) -> [String]

    public init(name: String, statements: @escaping @Sendable (DatabaseBackend) -> [String]) {
        self.name = name
        self.statements = statements
    }
}

/// Runs migrations that have not run yet, each in its own transaction, at start.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(_ migrations: [Migration]) {
        self.migrations = migrations.sorted { $0.name < $1.name }
    }

    /// Every migration Kofu has, in order. Each store contributes its own.
    public static var all: Migrator {
        Migrator(KofuSchema.migrations)
    }

    /// Applies the pending migrations; returns the names applied.
    @discardableResult
    public func run(on database: KofuDatabase) async throws -> [String] {
        try await database.exclusive { db in
            try await db.raw("CREATE TABLE IF NOT EXISTS kofu_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").run()
        }
        let done = try await database.read { db in
            try await db.raw("SELECT name FROM kofu_migrations").all().map { try $0.decode(column: "name", as: String.self) }
        }
        var applied: [String] = []
        for migration in migrations where !done.contains(migration.name) {
            do {
                try await database.transaction { db in
                    for sql in migration.statements(database.backend) {
                        try await db.raw(SQLQueryString(sql)).run()
                    }
                    try await db.raw("INSERT INTO kofu_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: ISO8601.now()))").run()
                }
            } catch {
                throw DatabaseError.migrationFailed(name: migration.name, underlying: error)
            }
            applied.append(migration.name)
        }
        return applied
    }
}

enum ISO8601 {
    static func now() -> String { TaxDataTime.format(Date()) }
}

import Foundation
