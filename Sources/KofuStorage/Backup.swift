import Foundation
import KofuDomain
import NIOPosix
import SQLKit
import VaporCSQLite

/// A backup could not be made or restored. Messages name files and tools, never data or passwords.
public enum BackupError: Error, CustomStringConvertible, Sendable {
    case sqlite(path: String, code: Int32, message: String)
    case destinationExists(String)
    case toolNotFound(String)
    case toolFailed(tool: String, status: Int32, message: String)
    case invalidPostgresURL

    public var description: String {
        switch self {
        case .sqlite(let path, let code, let message): "SQLite backup of \(path) failed (code \(code)): \(message)"
        case .destinationExists(let path): "\(path) already exists; a backup or restore never overwrites a file"
        case .toolNotFound(let tool):
            "\(tool) not found on PATH or under /usr/lib/postgresql/*/bin (Debian: apt-get install postgresql-client)"
        case .toolFailed(let tool, let status, let message): "\(tool) exited with status \(status): \(message)"
        case .invalidPostgresURL: "database.url is not a postgres://user:password@host:port/dbname URL"
        }
    }

    /// A short code for the audit log (the message may hold paths).
    public var auditCode: String {
        switch self {
        case .sqlite: "sqlite_backup_failed"
        case .destinationExists: "destination_exists"
        case .toolNotFound: "tool_not_found"
        case .toolFailed: "tool_failed"
        case .invalidPostgresURL: "invalid_database_url"
        }
    }
}

/// What a backup holds, read from the database at backup time (the manifest's data part). The fiscal years
/// decide when the backup must be deleted: the day `kofu rollover` erases the oldest of them from the
/// database, every backup that still holds it is past its retention too (`BackupRetention`).
public struct BackupContents: Sendable, Codable, Hashable {
    /// Migrations applied (`kofu_migrations`), in order.
    public var migrations: [String]
    /// Fiscal years of tax data held, newest first.
    public var fiscalYears: [Int]
    /// The newest linkage batch in force: what an import after a restore must be newer than.
    public var newestBatchID: String?
    public var newestBatchExtractedAt: Date?

    public init(migrations: [String], fiscalYears: [Int], newestBatchID: String?, newestBatchExtractedAt: Date?) {
        self.migrations = migrations
        self.fiscalYears = fiscalYears
        self.newestBatchID = newestBatchID
        self.newestBatchExtractedAt = newestBatchExtractedAt
    }

    /// Reads the contents of `database`.
    public static func read(_ database: KofuDatabase) async throws -> BackupContents {
        let migrations = try await database.read { db in
            try await db.raw("SELECT name FROM kofu_migrations ORDER BY name").all().map { try $0.decode(column: "name", as: String.self) }
        }
        let store = SQLTaxDataStore(database: database)
        let years = try await store.heldFiscalYears().map(\.year)
        let newest = try await store.freshness().max { ($0.extractedAt, $0.batchID) < ($1.extractedAt, $1.batchID) }
        return BackupContents(migrations: migrations, fiscalYears: years, newestBatchID: newest?.batchID,
                              newestBatchExtractedAt: newest?.extractedAt)
    }
}

/// The rollover rule for backups: a backup may be kept only while every fiscal year of tax data it holds is
/// still inside the retention window, since data erased from the database at rollover must not live on in
/// a backup. A backup with no tax data is not bound by it.
public enum BackupRetention {
    /// Whether a backup holding `fiscalYears` must be deleted under `window`.
    public static func expired(fiscalYears: [Int], window: RetentionWindow) -> Bool {
        fiscalYears.contains { !window.contains(FiscalYear($0)) }
    }
}

/// Consistent backups of the Kofu database, taken while the server runs.
///
/// SQLite: the online backup API copies every page of the live database inside one read transaction (WAL mode:
/// the server's writer is not blocked, and the copy is the state of one commit). PostgreSQL: `pg_dump
/// --format=custom`, which reads in one `REPEATABLE READ` snapshot; the password goes to the child in
/// `PGPASSWORD`, never on its command line (which `ps` shows to every user).
public enum DatabaseBackup {
    /// Copies the SQLite database at `source` into the new file `destination` (mode 0600) with the online
    /// backup API, then checks the copy with `PRAGMA quick_check`. Also the restore: copy a backup file into a
    /// fresh path while no server has it open.
    public static func copySQLite(from source: String, to destination: String) async throws {
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw BackupError.destinationExists(destination) }
            throw BackupError.sqlite(path: destination, code: errno, message: String(cString: strerror(errno)))
        }
        close(fd)
        do {
            try await NIOThreadPool.singleton.runIfActive { try copyNow(from: source, to: destination) }
        } catch {
            for suffix in ["", "-wal", "-shm", "-journal"] { try? FileManager.default.removeItem(atPath: destination + suffix) }
            throw error
        }
    }

    private static func copyNow(from source: String, to destination: String) throws {
        var src: OpaquePointer?
        var dst: OpaquePointer?
        defer {
            if let dst { sqlite_nio_sqlite3_close_v2(dst) }
            if let src { sqlite_nio_sqlite3_close_v2(src) }
        }
        func fail(_ handle: OpaquePointer?, _ path: String, _ rc: Int32) -> BackupError {
            .sqlite(path: path, code: rc, message: handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open")
        }
        var rc = sqlite_nio_sqlite3_open_v2(source, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else { throw fail(src, source, rc) }
        sqlite_nio_sqlite3_busy_timeout(src, 10_000)
        rc = sqlite_nio_sqlite3_open_v2(destination, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else { throw fail(dst, destination, rc) }
        guard let backup = sqlite_nio_sqlite3_backup_init(dst, "main", src, "main") else { throw fail(dst, destination, sqlite_nio_sqlite3_errcode(dst)) }
        // One step of all pages: one read transaction, so the copy is one commit's state. In WAL mode that
        // read does not hold up the server's writer; a busy source (a checkpoint in progress) is retried.
        var attempts = 0
        repeat {
            rc = sqlite_nio_sqlite3_backup_step(backup, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED {
                attempts += 1
                usleep(50_000)
            }
        } while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempts < 200
        let finish = sqlite_nio_sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else { throw fail(dst, destination, rc) }
        guard finish == SQLITE_OK else { throw fail(dst, destination, finish) }
        // The copy is checked before it counts as a backup.
        var statement: OpaquePointer?
        rc = sqlite_nio_sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &statement, nil)
        guard rc == SQLITE_OK else { throw fail(dst, destination, rc) }
        defer { sqlite_nio_sqlite3_finalize(statement) }
        guard sqlite_nio_sqlite3_step(statement) == SQLITE_ROW,
              let text = sqlite_nio_sqlite3_column_text(statement, 0).map({ String(cString: $0) }), text == "ok" else {
            throw BackupError.sqlite(path: destination, code: SQLITE_CORRUPT, message: "the copy fails PRAGMA quick_check")
        }
    }

    /// Dumps the PostgreSQL database at `url` into the new file `destination` (mode 0600) with
    /// `pg_dump --format=custom`.
    public static func dumpPostgres(url: String, to destination: String, binDir: String? = nil) throws {
        guard !FileManager.default.fileExists(atPath: destination) else { throw BackupError.destinationExists(destination) }
        let connection = try PostgresConnectionArguments(url: url)
        let fd = open(destination, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw BackupError.destinationExists(destination) }
        close(fd)
        do {
            try run(tool("pg_dump", binDir: binDir),
                    connection.arguments + ["--format=custom", "--no-owner", "--file=\(destination)", connection.database],
                    password: connection.password)
        } catch {
            try? FileManager.default.removeItem(atPath: destination)
            throw error
        }
    }

    /// Restores a `pg_dump --format=custom` file into the (empty, existing) PostgreSQL database at `url` with
    /// `pg_restore --exit-on-error --single-transaction`: all or nothing.
    public static func restorePostgres(dump: String, url: String, binDir: String? = nil) throws {
        let connection = try PostgresConnectionArguments(url: url)
        try run(tool("pg_restore", binDir: binDir),
                connection.arguments + ["--no-owner", "--exit-on-error", "--single-transaction", "--dbname=\(connection.database)", dump],
                password: connection.password)
    }

    /// `binDir/name`, else `name` on `PATH`, else the newest `/usr/lib/postgresql/*/bin/name` (Debian installs
    /// the versioned tools there; pg_dump must be at least the server's version, so the newest is taken).
    public static func tool(_ name: String, binDir: String? = nil) throws -> String {
        let fm = FileManager.default
        if let binDir {
            let path = (binDir as NSString).appendingPathComponent(name)
            guard fm.isExecutableFile(atPath: path) else { throw BackupError.toolNotFound(path) }
            return path
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for version in versions {
            let path = "/usr/lib/postgresql/\(version)/bin/\(name)"
            if fm.isExecutableFile(atPath: path) { return path }
        }
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if fm.isExecutableFile(atPath: path) { return path }
        }
        throw BackupError.toolNotFound(name)
    }

    /// Runs `path` with `arguments`, the password in the child's environment only; stderr is kept for the error.
    private static func run(_ path: String, _ arguments: [String], password: String?) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["PGPASSWORD"] = password
        // Only what this run says: no ~/.pgpass or service file of the account may redirect it.
        environment["PGPASSFILE"] = "/dev/null"
        environment.removeValue(forKey: "PGSERVICE")
        process.environment = environment
        let stderr = Pipe()
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let message = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: message.prefix(2000), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw BackupError.toolFailed(tool: (path as NSString).lastPathComponent, status: process.terminationStatus, message: text)
        }
    }
}

/// `postgres://user:password@host:port/dbname` as libpq command-line options, the password kept apart.
struct PostgresConnectionArguments {
    var arguments: [String]
    var database: String
    var password: String?

    init(url: String) throws {
        guard let c = URLComponents(string: url), c.scheme == "postgres" || c.scheme == "postgresql",
              let host = c.host, !host.isEmpty else { throw BackupError.invalidPostgresURL }
        let database = String(c.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw BackupError.invalidPostgresURL }
        arguments = ["--host=\(host)", "--port=\(c.port ?? 5432)", "--no-password"]
        if let user = c.user, !user.isEmpty { arguments.append("--username=\(user.removingPercentEncoding ?? user)") }
        self.database = database.removingPercentEncoding ?? database
        password = c.password.map { $0.removingPercentEncoding ?? $0 }
    }
}
