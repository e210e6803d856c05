import Foundation
import KofuDomain
@testable import KofuStorage
import KofuStorageTestSupport
import SQLKit
import Testing

/// A database to back up, and how to back it up and restore the backup into a fresh database.
private struct BackupSubject {
    var database: KofuDatabase
    var backup: @Sendable (_ dir: String) async throws -> String
    /// Restores the file into a new database and runs `body` on it.
    var restore: @Sendable (_ file: String, _ body: @Sendable (KofuDatabase) async throws -> Void) async throws -> Void
}

/// A fresh migrated source database per backend, with its backup and restore (SQLite: the online backup API;
/// PostgreSQL: pg_dump / pg_restore into a new database on the test server).
private func withSubject(_ backend: TestBackend, _ body: (BackupSubject) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        try await StorageTestSupport.withDatabase(.sqlite) { t in
            let source = try #require(t.database.sqlitePath)
            try await body(BackupSubject(database: t.database, backup: { dir in
                let file = (dir as NSString).appendingPathComponent("kofu.sqlite")
                try await DatabaseBackup.copySQLite(from: source, to: file)
                return file
            }, restore: { file, body in
                let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-restore")
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let path = (dir as NSString).appendingPathComponent("kofu.sqlite")
                try await DatabaseBackup.copySQLite(from: file, to: path)
                try await withOpen(.sqlite(path: path), body)
            }))
        }
    case .postgres:
        let admin = try #require(StorageTestSupport.postgresURL, "KOFU_TEST_POSTGRES_URL")
        try await withPostgresDatabase(admin) { sourceURL in
            try await withOpen(.postgres(url: sourceURL)) { database in
                try await Migrator(KofuSchema.migrations).run(on: database)
                try await body(BackupSubject(database: database, backup: { dir in
                    let file = (dir as NSString).appendingPathComponent("kofu.pgdump")
                    try DatabaseBackup.dumpPostgres(url: sourceURL, to: file)
                    return file
                }, restore: { file, body in
                    try await withPostgresDatabase(admin) { targetURL in
                        try DatabaseBackup.restorePostgres(dump: file, url: targetURL)
                        try await withOpen(.postgres(url: targetURL), body)
                    }
                }))
            }
        }
    }
}

private func withOpen(_ location: DatabaseLocation, _ body: (KofuDatabase) async throws -> Void) async throws {
    let database = try await KofuDatabase.open(location)
    do {
        try await body(database)
        await database.close()
    } catch {
        await database.close()
        throw error
    }
}

/// A new empty database `kofu_b_<random>` on the test server, dropped after `body`.
private func withPostgresDatabase(_ adminURL: String, _ body: (String) async throws -> Void) async throws {
    let name = "kofu_b_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
    var components = try #require(URLComponents(string: adminURL))
    components.path = "/" + name
    let url = try #require(components.string)
    let admin = try await KofuDatabase.open(.postgres(url: adminURL))
    defer { Task { await admin.close() } }
    try await admin.exclusive { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
    do {
        try await body(url)
    } catch {
        _ = try? await admin.exclusive { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
        throw error
    }
    _ = try? await admin.exclusive { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
}

@Suite("Backup and restore")
struct BackupTests {
    /// The restore drill of docs/deployment.md: back up after batch 12-07, import 12-08 (a support measure added),
    /// restore the backup into a fresh database: it holds 12-07 without the measure. Then the ordering rule:
    /// a batch older than the restored one is refused, and 12-08 — the one the restore took away — is accepted
    /// again by the ordinary daily import.
    @Test("a backup restored into a fresh database is the backup's state; the next import must be newer than it",
          arguments: StorageTestSupport.backends)
    func restoreThenImport(_ backend: TestBackend) async throws {
        try await withSubject(backend) { subject in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-backup")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let first = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(first) }
            _ = try await importer(subject.database).importBatch(at: first)
            let before = try await StorageTestSupport.dump(subject.database, tables: StorageTestSupport.taxTables)

            let file = try await subject.backup(dir)
            let attributes = try FileManager.default.attributesOfItem(atPath: file)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

            let second = try fixtureBatch("20261208-01", extracted: "2026-12-08T02:00:00")
            defer { LinkageBatchFixture.remove(second) }
            try LinkageBatchFixture.replace(second, "restrictions.csv", "000000000101,issuance_stop",
                                            with: "000000000101,support_measure,2026-12-01,\n000000000101,issuance_stop")
            try LinkageBatchFixture.rewriteManifest(second, rows: ["restrictions.csv": 3])
            _ = try await importer(subject.database).importBatch(at: second)
            #expect(try await SQLTaxDataStore(database: subject.database).restrictions(for: id("000000000101"))
                .contains { $0.kind == .supportMeasure })

            try await subject.restore(file) { restored in
                #expect(try await StorageTestSupport.dump(restored, tables: StorageTestSupport.taxTables) == before)
                let store = SQLTaxDataStore(database: restored)
                #expect(try await store.importedBatches() == ["20261207-01"])
                #expect(try await !store.restrictions(for: id("000000000101")).contains { $0.kind == .supportMeasure })
                let contents = try await BackupContents.read(restored)
                #expect(contents.newestBatchID == "20261207-01")
                #expect(!contents.fiscalYears.isEmpty)
                #expect(contents.migrations.contains("0100_tax_data"))

                // Older than the restored data: refused, the data unchanged.
                let older = try fixtureBatch("20261206-01", extracted: "2026-12-06T02:00:00")
                defer { LinkageBatchFixture.remove(older) }
                let rejection = try await expectRefused(restored, older)
                #expect(rejection.problems.first?.message.contains("is not later than the data in force, batch 20261207-01") == true)
                // Newer: the daily import brings the restored node forward again.
                let report = try await importer(restored).importBatch(at: second)
                #expect(!report.restored)
                #expect(try await store.restrictions(for: id("000000000101")).contains { $0.kind == .supportMeasure })
                #expect(try await store.importedBatches() == ["20261207-01", "20261208-01"])
            }
        }
    }

    @Test("a backup never overwrites an existing file", arguments: StorageTestSupport.backends)
    func refusesExistingDestination(_ backend: TestBackend) async throws {
        try await withSubject(backend) { subject in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-backup")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let file = try await subject.backup(dir)
            let size = try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber
            let error = await #expect(throws: BackupError.self) { _ = try await subject.backup(dir) }
            guard case .destinationExists = error else { Issue.record("expected destinationExists, got \(String(describing: error))"); return }
            #expect(try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber == size)
        }
    }

    @Test("SQLite: the online backup is consistent while a write transaction is open, and holds only committed data")
    func sqliteBackupDuringWrite() async throws {
        try await StorageTestSupport.withDatabase(.sqlite) { t in
            let source = try #require(t.database.sqlitePath)
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-backup")
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let batch = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(batch) }
            _ = try await importer(t.database).importBatch(at: batch)
            let committed = try await StorageTestSupport.dump(t.database, tables: StorageTestSupport.taxTables)
            let file = (dir as NSString).appendingPathComponent("kofu.sqlite")
            struct Rollback: Error {}
            await #expect(throws: Rollback.self) {
                try await t.database.transaction { db in
                    try await db.raw("DELETE FROM tax_restrictions").run()
                    // The writer holds an uncommitted change; the backup (a reader in WAL mode) is not blocked by it.
                    try await DatabaseBackup.copySQLite(from: source, to: file)
                    throw Rollback()
                }
            }
            try await withOpen(.sqlite(path: file)) { copy in
                let copied = try await StorageTestSupport.dump(copy, tables: StorageTestSupport.taxTables)
                #expect(copied == committed)
            }
        }
    }

    @Test("pg_dump gets the password in its environment, not on its command line; a wrong one is a clear error")
    func postgresArguments() async throws {
        let args = try PostgresConnectionArguments(url: "postgres://kofu:s%40cret@db.example:6543/kofu_city")
        #expect(args.arguments == ["--host=db.example", "--port=6543", "--no-password", "--username=kofu"])
        #expect(args.database == "kofu_city")
        #expect(args.password == "s@cret")
        #expect(!args.arguments.joined().contains("s@cret") && !args.arguments.joined().contains("s%40cret"))
        #expect(throws: BackupError.self) { try PostgresConnectionArguments(url: "mysql://x@y/z") }
        #expect(throws: BackupError.self) { try PostgresConnectionArguments(url: "postgres://x@y") }
        guard let admin = StorageTestSupport.postgresURL, var c = URLComponents(string: admin) else { return }
        // The test server trusts loopback, so a wrong password alone would pass: name a missing database too.
        c.password = "definitely-wrong-password"
        c.path = "/kofu_no_such_database"
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-backup")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let file = (dir as NSString).appendingPathComponent("kofu.pgdump")
        let error = #expect(throws: BackupError.self) { try DatabaseBackup.dumpPostgres(url: try #require(c.string), to: file) }
        #expect(String(describing: error).contains("pg_dump exited with status"))
        #expect(String(describing: error).contains("kofu_no_such_database"))
        #expect(!String(describing: error).contains("definitely-wrong-password"))
        #expect(!FileManager.default.fileExists(atPath: file))
    }

    @Test("the rollover rule: a backup holding a fiscal year outside the retention window has expired")
    func retentionRule() {
        let window = RetentionWindow(years: 4, latest: FiscalYear(2026))
        #expect(!BackupRetention.expired(fiscalYears: [2026, 2025, 2024, 2023], window: window))
        #expect(BackupRetention.expired(fiscalYears: [2025, 2024, 2023, 2022], window: window))
        #expect(!BackupRetention.expired(fiscalYears: [], window: window))
    }
}
