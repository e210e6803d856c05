import Foundation
import KofuStorage
import KofuTestSupport
import SQLKit

/// The database backends a contract test runs against.
public enum TestBackend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }
}

/// Test databases are misconfigured (for example CI without a PostgreSQL server).
public enum StorageTestSupportError: Error, CustomStringConvertible {
    case postgresRequired
    case badPostgresURL(String)

    public var description: String {
        switch self {
        case .postgresRequired:
            "CI=true but KOFU_TEST_POSTGRES_URL is not set: the PostgreSQL contract tests must run in CI "
                + "(start a server with scripts/postgres-test-server.sh and export its URL)"
        case .badPostgresURL(let url): "KOFU_TEST_POSTGRES_URL is not a postgres:// URL: \(url)"
        }
    }
}

/// A fresh, migrated database for one test, and where it lives.
public struct TestDatabase: Sendable {
    public let backend: TestBackend
    public let database: KofuDatabase
    /// The directory holding the SQLite file and its -wal/-shm (SQLite only).
    public let directory: String?
}

/// Gives each test a fresh migrated `KofuDatabase`: a new SQLite file in its own temporary directory, or a
/// new PostgreSQL database `kofu_t_<random>` on the server named by `KOFU_TEST_POSTGRES_URL`, dropped after.
///
/// Run one contract test against both backends with
/// `@Test(arguments: StorageTestSupport.backends) func x(_ backend: TestBackend) async throws`.
/// Without `KOFU_TEST_POSTGRES_URL` only SQLite runs, except when `CI=true`: then the PostgreSQL case is
/// still listed and fails loudly instead of being skipped.
public enum StorageTestSupport {
    public static var postgresURL: String? {
        let v = ProcessInfo.processInfo.environment["KOFU_TEST_POSTGRES_URL"]
        return v?.isEmpty == false ? v : nil
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"]?.lowercased() == "true" }

    /// The backends to test here: SQLite always, PostgreSQL when configured (or required by CI).
    public static var backends: [TestBackend] {
        postgresURL != nil || isCI ? [.sqlite, .postgres] : [.sqlite]
    }

    /// A new empty directory under the system temporary directory.
    public static func makeTemporaryDirectory(prefix: String = "kofu-test") throws -> String {
        let path = (NSTemporaryDirectory() as NSString)
            .appendingPathComponent("\(prefix)-\(UUID().uuidString.lowercased())")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Runs `body` with a fresh database migrated with `migrations`, then closes and removes it.
    public static func withDatabase<R: Sendable>(
        _ backend: TestBackend, migrations: [Migration] = KofuSchema.migrations,
        _ body: (TestDatabase) async throws -> R
    ) async throws -> R {
        switch backend {
        case .sqlite:
            let dir = try makeTemporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let db = try await KofuDatabase.open(.sqlite(path: (dir as NSString).appendingPathComponent("kofu.sqlite")))
            do {
                try await Migrator(migrations).run(on: db)
                let r = try await body(TestDatabase(backend: .sqlite, database: db, directory: dir))
                await db.close()
                return r
            } catch {
                await db.close()
                throw error
            }
        case .postgres:
            guard let adminURL = postgresURL else { throw StorageTestSupportError.postgresRequired }
            let name = "kofu_t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            guard var components = URLComponents(string: adminURL) else { throw StorageTestSupportError.badPostgresURL(adminURL) }
            components.path = "/" + name
            guard let testURL = components.string else { throw StorageTestSupportError.badPostgresURL(adminURL) }
            let admin = try await KofuDatabase.open(.postgres(url: adminURL))
            try await admin.exclusive { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            let db: KofuDatabase
            do { db = try await KofuDatabase.open(.postgres(url: testURL)) } catch {
                await admin.close()
                throw error
            }
            func drop() async {
                await db.close()
                _ = try? await admin.exclusive { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                await admin.close()
            }
            do {
                try await Migrator(migrations).run(on: db)
                let r = try await body(TestDatabase(backend: .postgres, database: db, directory: nil))
                await drop()
                return r
            } catch {
                await drop()
                throw error
            }
        }
    }

    /// A deterministic text dump of `tables` (every row, every column, in primary-key order), for proving
    /// that a failed operation left the data exactly as it was.
    public static func dump(_ database: KofuDatabase, tables: [String]) async throws -> String {
        try await database.read { db in
            var out = ""
            for table in tables {
                out += "## \(table)\n"
                let rows = try await db.raw("SELECT * FROM \(unsafeRaw: table)").all()
                var lines: [String] = []
                for row in rows {
                    var cells: [String] = []
                    for column in row.allColumns.sorted() {
                        if let s = try? row.decode(column: column, as: String?.self) {
                            cells.append("\(column)=\(s ?? "NULL")")
                        } else if let i = try? row.decode(column: column, as: Int?.self) {
                            cells.append("\(column)=\(i)")
                        } else {
                            cells.append("\(column)=?")
                        }
                    }
                    lines.append(cells.joined(separator: "|"))
                }
                out += lines.sorted().joined(separator: "\n") + "\n"
            }
            return out
        }
    }

    /// Every tax-data table, for `dump`.
    public static let taxTables = ["tax_residents", "tax_cards", "tax_restrictions", "tax_assessments", "tax_levies",
                                   "tax_vehicles", "tax_batches", "tax_freshness"]
}
