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
    ///
    /// Safe when several nodes start at once on one PostgreSQL: every step runs in a transaction that first
    /// takes a PostgreSQL advisory lock (`advisoryLockKey`, released at commit), then re-reads what is applied,
    /// so each migration runs exactly once and a node that waited sees it done. SQLite has one node; its
    /// `BEGIN IMMEDIATE` already serializes writers (also two processes on one file).
    ///
    /// Refuses (`DatabaseError.schemaNewer`) a database that holds a migration this binary does not know: a
    /// newer Kofu upgraded it, and this one would misread its tables.
    @discardableResult
    public func run(on database: KofuDatabase) async throws -> [String] {
        try await database.transaction { db in
            try await Self.lock(db, database.backend)
            try await db.raw("CREATE TABLE IF NOT EXISTS kofu_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)").run()
        }
        try checkNotNewer(try await database.read { db in try await Self.applied(db) })
        var applied: [String] = []
        for migration in migrations {
            let ran = try await database.transaction { db -> Bool in
                try await Self.lock(db, database.backend)
                guard try await !Self.applied(db).contains(migration.name) else { return false }
                do {
                    for sql in migration.statements(database.backend) {
                        try await db.raw(SQLQueryString(sql)).run()
                    }
                    try await db.raw("INSERT INTO kofu_migrations (name, applied_at) VALUES (\(bind: migration.name), \(bind: ISO8601.now()))").run()
                } catch {
                    throw DatabaseError.migrationFailed(name: migration.name, underlying: error)
                }
                return true
            }
            if ran { applied.append(migration.name) }
        }
        return applied
    }

    /// The key of the PostgreSQL advisory lock the migrator holds while it checks and migrates ("kofu" + 1).
    static let advisoryLockKey: Int64 = 0x6B6F_6675_0001

    private static func lock(_ db: any SQLDatabase, _ backend: DatabaseBackend) async throws {
        guard backend == .postgres else { return }
        try await db.raw("SELECT pg_advisory_xact_lock(\(unsafeRaw: String(advisoryLockKey)))").run()
    }

    private static func applied(_ db: any SQLDatabase) async throws -> Set<String> {
        Set(try await db.raw("SELECT name FROM kofu_migrations").all().map { try $0.decode(column: "name", as: String.self) })
    }

    /// Throws `schemaNewer` when `applied` names a migration this binary does not have.
    func checkNotNewer(_ applied: Set<String>) throws {
        let known = Set(migrations.map(\.name))
        if let unknown = applied.subtracting(known).max() {
            throw DatabaseError.schemaNewer(applied: unknown, known: migrations.last?.name ?? "none")
        }
    }
}

enum ISO8601 {
    static func now() -> String { TaxDataTime.format(Date()) }
}

import Foundation
