import Foundation
import Logging
import NIOCore
import NIOPosix
import PostgresKit
import SQLiteKit
import SQLKit
import Synchronization

/// Where Kofu keeps its data: one SQLite file under the data directory (the default), or a PostgreSQL
/// server shared by several nodes.
public enum DatabaseLocation: Sendable, Hashable {
    case sqlite(path: String)
    /// A `postgres://user:password@host:port/database` URL.
    case postgres(url: String)
}

/// Which SQL dialect a store is talking to, for the few statements that differ.
public enum DatabaseBackend: String, Sendable {
    case sqlite
    case postgres
}

/// Errors opening or migrating the database.
public enum DatabaseError: Error, CustomStringConvertible {
    case invalidPostgresURL(String)
    case migrationFailed(name: String, underlying: any Error)
    /// The database server cannot be reached now (down, restarting, refusing connections, or no connection
    /// within `KofuDatabase.leaseTimeout`). Kiosk calls answer 503 with Retry-After; nothing was changed.
    case unavailable
    /// The database holds migrations this binary does not know: it was upgraded by a newer Kofu.
    case schemaNewer(applied: String, known: String)

    public var description: String {
        switch self {
        case .invalidPostgresURL: "the PostgreSQL URL is not of the form postgres://user:password@host:port/database"
        case .migrationFailed(let name, let underlying): "migration \(name) failed: \(String(reflecting: underlying))"
        case .unavailable: "the database is unavailable (not reachable, restarting or refusing connections)"
        case .schemaNewer(let applied, let known):
            "database schema \(applied) is newer than this kofu (knows up to \(known)): upgrade kofu"
        }
    }

    /// True for errors that mean "the server is not there right now" rather than "this statement is wrong":
    /// connection failures and closes, and the server's own shutdown / start-up answers (SQLSTATE classes 08
    /// and 57: admin_shutdown, cannot_connect_now, …). A unique violation or syntax error is never one.
    public static func isUnavailability(_ error: any Error) -> Bool {
        if case .unavailable? = error as? DatabaseError { return true }
        if let psql = error as? PSQLError {
            switch psql.code {
            case .server:
                let state = psql.serverInfo?[.sqlState] ?? ""
                return state.hasPrefix("08") || state.hasPrefix("57")
            case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed:
                return true
            default:
                return false
            }
        }
        return error is ChannelError || error is IOError || error is NIOConnectionError
    }
}

/// The database handle every store is built on.
///
/// Writes go through `transaction`, which runs its body atomically: on SQLite one writer connection,
/// serialized by an async lock (`BEGIN IMMEDIATE … COMMIT`); on PostgreSQL one pooled connection
/// (`BEGIN … COMMIT`). Any error thrown from the body rolls the whole transaction back.
/// Reads that need no transaction use `read`.
///
/// SQLite connections are `DirectSQLite`: the C API with prepared statements kept per connection. The body of
/// a transaction or read runs its statements inline on the calling thread, one after another, instead of each
/// hopping to the NIO thread pool and back (sqlite-nio prepares every statement anew and hops per statement; a
/// kiosk issuance runs a few dozen statements); `exclusive` runs on the connection's own serial queue.
public final class KofuDatabase: Sendable {
    public let backend: DatabaseBackend
    public let logger: Logger
    private let impl: Impl

    private enum Impl: Sendable {
        case sqlite(writer: DirectSQLite, readers: ReaderPool, lock: AsyncLock, path: String)
        case postgres(client: PostgresClient, runTask: Task<Void, Never>)
    }

    /// PostgreSQL: how long a statement or transaction may run before its connection is closed under it (see
    /// `leased`); nil: no limit (command-line tools, whose imports and exports may take long).
    public let statementWatchdog: Duration?
    /// PostgreSQL: how long a call waits for a pooled connection before failing with `unavailable`; nil: as long
    /// as PostgresNIO keeps it queued (command-line tools). The server sets both (`KofuServices.open`).
    public let leaseTimeout: Duration?

    private init(backend: DatabaseBackend, logger: Logger, impl: Impl, statementWatchdog: Duration? = nil,
                 leaseTimeout: Duration? = nil) {
        self.backend = backend
        self.logger = logger
        self.impl = impl
        self.statementWatchdog = statementWatchdog
        self.leaseTimeout = leaseTimeout
    }

    /// Opens (creating if needed) the database. Migrations are run separately by `Migrator`.
    public static func open(_ location: DatabaseLocation, logger: Logger = Logger(label: "kofu.db"),
                            statementWatchdog: Duration? = nil, leaseTimeout: Duration? = nil) async throws -> KofuDatabase {
        switch location {
        case .sqlite(let path):
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o700])
            }
            // The writer first: it creates the file and switches it to WAL (see SQLiteBulkConnection.open).
            let direct = try await DirectSQLite.open(path: path, label: "kofu.sqlite.writer", logger: logger)
            var readers: [DirectSQLite] = []
            for i in 0..<4 {
                readers.append(try await DirectSQLite.open(path: path, label: "kofu.sqlite.reader\(i)", logger: logger))
            }
            _ = chmod(path, 0o600)
            return KofuDatabase(backend: .sqlite, logger: logger,
                                impl: .sqlite(writer: direct, readers: ReaderPool(readers), lock: AsyncLock(), path: path))
        case .postgres(let url):
            guard let config = try? SQLPostgresConfiguration(url: url) else { throw DatabaseError.invalidPostgresURL(url) }
            var clientConfig = PostgresClient.Configuration(
                host: config.coreConfiguration.host ?? "127.0.0.1",
                port: config.coreConfiguration.port ?? 5432,
                username: config.coreConfiguration.username,
                password: config.coreConfiguration.password,
                database: config.coreConfiguration.database,
                tls: .disable)
            clientConfig.options.maximumConnections = 16
            let client = PostgresClient(configuration: clientConfig, backgroundLogger: logger)
            // Started immediately, so that run() has begun before the first query leases a connection (PostgresNIO
            // warns about a lease before run() otherwise).
            let runTask = Task.immediate { await client.run() }
            return KofuDatabase(backend: .postgres, logger: logger, impl: .postgres(client: client, runTask: runTask),
                                statementWatchdog: statementWatchdog, leaseTimeout: leaseTimeout)
        }
    }

    /// The SQLite file, when the backend is SQLite.
    public var sqlitePath: String? {
        if case .sqlite(_, _, _, let path) = impl { return path }
        return nil
    }

    /// Runs `body` in one transaction. Throwing rolls everything back.
    public func transaction<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch impl {
        case .sqlite(let writer, _, let lock, _):
            return try await lock.withLock {
                try await writer.run { db in try await Self.atomically(db, begin: "BEGIN IMMEDIATE", body) }
            }
        case .postgres(let client, _):
            return try await leased(client) { conn in try await Self.atomically(OpenConnectionSQL(conn), begin: "BEGIN", body) }
        }
    }


    /// `body` on a pooled PostgreSQL connection, leased within `leaseTimeout`; errors that mean the server is
    /// gone become `DatabaseError.unavailable` (the statement did not commit).
    ///
    /// The lease is taken by a task of its own that hands the connection over and holds it until `body` is
    /// done: a lease that PostgresNIO keeps queued past the deadline (while it reconnects) is abandoned, not
    /// awaited, and given back at once if it is granted later. `body` itself only ever runs here, before
    /// this function returns.
    private func leased<R: Sendable>(_ client: PostgresClient, limited: Bool = true,
                                     _ body: @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        let handoff = LeaseHandoff()
        let holder = Task {
            do {
                try await client.withConnection { connection in await handoff.hold(connection) }
            } catch {
                handoff.fail(error)
            }
        }
        let connection: PostgresConnection
        do {
            connection = try await handoff.take(within: leaseTimeout)
        } catch {
            holder.cancel()
            throw Self.isWrappedUnavailability(error) || error is CancellationError ? DatabaseError.unavailable : error
        }
        defer { handoff.release() }
        // PostgresNIO can hand out a connection that has just closed (the server went down); a statement sent on
        // it never completes, and closing it again does nothing. Such a lease is an outage, not a wait.
        guard !connection.isClosed else { throw DatabaseError.unavailable }
        // A statement on a connection the server dropped at the wrong moment was seen never to complete (one
        // in a few hundred requests when PostgreSQL stopped under load). Closing the connection fails it: when
        // the caller is cancelled (a kiosk request past its deadline), or after `watchdog`.
        let watchdog = (limited ? statementWatchdog : nil).map { limit in
            Task {
                try await Task.sleep(for: limit)
                try? await connection.close()
            }
        }
        defer { watchdog?.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await body(connection)
            } onCancel: {
                Task { try? await connection.close() }
            }
        } catch let error where Self.isWrappedUnavailability(error) {
            throw DatabaseError.unavailable
        }
    }


    private static func isWrappedUnavailability(_ error: any Error) -> Bool {
        if error is DatabaseError { return false }
        return DatabaseError.isUnavailability(error)
    }

    /// Runs the linkage import's `body` in one transaction, with a bulk writer for its millions of rows.
    /// Throwing rolls everything back.
    ///
    /// SQLite: under the writer lock, on a private connection with prepared statements reused for every row
    /// (`SQLiteBulkConnection`) and a large page cache that goes away with it; afterwards the write-ahead log is
    /// folded back into the database file and truncated (also after a rollback, which removes the rejected
    /// batch's page images from it). PostgreSQL: one pooled connection, rows loaded with `COPY`.
    func importTransaction<R: Sendable>(
        _ body: @Sendable (any SQLDatabase, any TaxDataBulkWriter) async throws -> R
    ) async throws -> R {
        switch impl {
        case .sqlite(_, _, let lock, let path):
            let logger = self.logger
            return try await lock.withLock {
                let connection = try await SQLiteBulkConnection.open(path: path, logger: logger)
                let result: Result<R, any Error>
                do {
                    let db = SQLiteBulkDatabase(connection)
                    result = .success(try await Self.atomically(db, begin: "BEGIN IMMEDIATE") { db in
                        try await body(db, SQLiteBulkWriter(connection: connection))
                    })
                } catch {
                    result = .failure(error)
                }
                do {
                    try await connection.threadPool.runIfActive { try connection.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
                } catch {
                    await connection.close()
                    // A failed batch's own error is what the operator needs; the checkpoint is retried by
                    // SQLite's automatic checkpoints and the next import.
                    if case .failure = result {
                        logger.warning("WAL checkpoint after a rejected import failed", metadata: ["error": "\(error)"])
                        return try result.get()
                    }
                    throw error
                }
                await connection.close()
                return try result.get()
            }
        case .postgres(let client, _):
            let logger = self.logger
            return try await leased(client, limited: false) { conn in
                try await Self.atomically(conn.sql(), begin: "BEGIN") { db in
                    try await body(db, PostgresCopyWriter(connection: conn, logger: logger))
                }
            }
        }
    }

    /// `begin`, then `body`, then COMMIT — or ROLLBACK when anything throws.
    private static func atomically<R: Sendable>(_ db: any SQLDatabase, begin: SQLQueryString,
                                                _ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await db.raw(begin).run()
        do {
            let r = try await body(db)
            try await db.raw("COMMIT").run()
            return r
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    /// Runs `body` with a connection for reading (outside any write transaction).
    public func read<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch impl {
        case .sqlite(_, let readers, _, _):
            // One task per reader connection at a time: SQLite shares one read snapshot among the
            // statements active on a connection, so sharing it could show a read older than a commit
            // that already returned. Checked out alone, every read sees every finished transaction.
            let connection = await readers.checkOut()
            do {
                let r = try await connection.run(body)
                await readers.checkIn(connection)
                return r
            } catch {
                await readers.checkIn(connection)
                throw error
            }
        case .postgres(let client, _):
            return try await leased(client) { conn in try await body(OpenConnectionSQL(conn)) }
        }
    }

    /// Runs `body`'s reads in one read-only transaction: every statement sees the same snapshot, so a commit in
    /// between (an import, another request's transition) cannot show half of itself. On SQLite it is also cheaper
    /// than separate reads: a connection re-validates its page cache once per transaction, not per statement.
    public func snapshot<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let begin: SQLQueryString = backend == .sqlite ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
        return try await read { db in try await Self.atomically(db, begin: begin, body) }
    }

    /// Runs `body` on the writer without a transaction (for statements like VACUUM that cannot run inside one).
    public func exclusive<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        switch impl {
        case .sqlite(let writer, _, let lock, _):
            return try await lock.withLock { try await writer.runOffPool(body) }
        case .postgres(let client, _):
            return try await leased(client, limited: false) { conn in try await body(OpenConnectionSQL(conn)) }
        }
    }

    /// Closes every connection.
    public func close() async {
        switch impl {
        case .sqlite(let writer, let readers, _, _):
            for r in await readers.all() { await r.close() }
            await writer.close()
        case .postgres(_, let runTask):
            runTask.cancel()
            if await !Self.finished(runTask, within: Self.poolStopLimit) {
                logger.warning("the PostgreSQL connection pool did not stop in time; closing without it",
                               metadata: ["limit_seconds": "\(Self.poolStopLimit.components.seconds)"])
            }
        }
    }

    /// How long `close` waits for PostgresNIO's pool to stop. Its `run()` was seen (1.33.2, about one run in
    /// three of the 500-resident concurrency test) never to return after cancellation although every connection
    /// was back and every socket closed; a caller closing the database must not hang on that.
    static let poolStopLimit: Duration = .seconds(10)

    /// Whether `task` finishes within `limit` (it is not awaited any longer after that).
    static func finished(_ task: Task<Void, Never>, within limit: Duration) async -> Bool {
        await value(of: task, within: limit) != nil
    }

    /// `task`'s value if it finishes within `limit`, else nil (the task is not awaited any longer after that).
    public static func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration) async -> T? {
        let first = FirstAnswer<T?>()
        return await withCheckedContinuation { (continuation: CheckedContinuation<T?, Never>) in
            first.wait(continuation)
            let timer = Task { try? await Task.sleep(for: limit); first.settle(nil) }
            Task { let value = await task.value; timer.cancel(); first.settle(value) }
        }
    }
}

/// A leased PostgreSQL connection as an `SQLDatabase` whose statements fail with `DatabaseError.unavailable`
/// once the connection has closed, instead of never completing.
///
/// PostgresNIO (1.33.2) sends a statement with `channel.write(…, promise: nil)`. Once the server has dropped the
/// connection, NIO removes the channel's handlers shortly after it goes inactive, and a statement written after
/// that reaches no handler: its write fails silently and its answer never comes. A transaction's `ROLLBACK` after
/// a statement failed because PostgreSQL stopped is exactly such a statement; on an idle machine it was usually
/// written before the handlers went, under load after, and the request hung (issue 16). So each statement is
/// sent from the connection's event loop, where the check that the channel is still active and the write happen
/// in one step: an active channel still has its handler, which answers or fails every statement it is given.
struct OpenConnectionSQL: SQLDatabase {
    let connection: PostgresConnection
    private let base: any SQLDatabase

    init(_ connection: PostgresConnection) {
        self.connection = connection
        self.base = connection.sql()
    }

    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let connection = self.connection, base = self.base
        return eventLoop.flatSubmit {
            // On the event loop: the channel cannot close between this check and the write below.
            guard !connection.isClosed else { return connection.eventLoop.makeFailedFuture(DatabaseError.unavailable) }
            return base.execute(sql: query, onRow)
        }
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let future: EventLoopFuture<Void> = execute(sql: query, onRow)
        try await future.get()
    }
}

/// Resumes a waiting caller with the first answer given; later answers are ignored.
final class FirstAnswer<Value: Sendable>: Sendable {
    private let waiter = Mutex<CheckedContinuation<Value, Never>?>(nil)
    func wait(_ continuation: CheckedContinuation<Value, Never>) { waiter.withLock { $0 = continuation } }
    func settle(_ value: Value) { waiter.withLock { $0.take() }?.resume(returning: value) }
}

/// Hands a leased PostgreSQL connection from the task holding the lease to the caller, with a deadline.
/// Each continuation is resumed exactly once: by the connection, the lease's failure or the deadline,
/// whichever comes first; a connection that comes after the deadline is given back at once.
final class LeaseHandoff: Sendable {
    private enum State {
        case idle
        case waiting(CheckedContinuation<PostgresConnection, any Error>)
        case offered(PostgresConnection)
        case failed(any Error)
        /// The caller has the connection, or gave up; nothing more is handed over.
        case closed
    }
    private let state = Mutex<State>(.idle)
    /// Resumed when the caller is done with the connection (or gave up).
    private let done = Mutex<(released: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    /// The caller: the connection, or `DatabaseError.unavailable` after `timeout`.
    func take(within timeout: Duration?) async throws -> PostgresConnection {
        let timer = timeout.map { timeout in
            Task {
                try? await Task.sleep(for: timeout)
                self.expire()
            }
        }
        defer { timer?.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            let ready: Result<PostgresConnection, any Error>? = state.withLock { s in
                switch s {
                case .idle: s = .waiting(continuation); return nil
                case .offered(let c): s = .closed; return .success(c)
                case .failed(let e): s = .closed; return .failure(e)
                case .waiting, .closed: s = .closed; return .failure(DatabaseError.unavailable)
                }
            }
            if let ready { continuation.resume(with: ready) }
        }
    }

    /// The lease task, with the connection: hands it over, then holds it until `release`.
    func hold(_ connection: PostgresConnection) async {
        // Decided under the lock: handed over now, offered for `take`, or refused (the caller gave up).
        let (waiter, handed): (CheckedContinuation<PostgresConnection, any Error>?, Bool) = state.withLock { s in
            switch s {
            case .idle: s = .offered(connection); return (nil, true)
            case .waiting(let c): s = .closed; return (c, true)
            default: return (nil, false)
            }
        }
        waiter?.resume(returning: connection)
        guard handed else { return }
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = done.withLock { d -> Bool in
                if d.released { return true }
                d.waiter = c
                return false
            }
            if now { c.resume() }
        }
    }

    /// The lease failed (the pool gave up, or the task was cancelled).
    func fail(_ error: any Error) {
        let waiter: CheckedContinuation<PostgresConnection, any Error>? = state.withLock { s in
            switch s {
            case .idle: s = .failed(error); return nil
            case .waiting(let c): s = .closed; return c
            default: return nil
            }
        }
        waiter?.resume(throwing: error)
    }

    /// The deadline: the caller stops waiting; a connection granted later is given back at once.
    private func expire() {
        let waiter: CheckedContinuation<PostgresConnection, any Error>? = state.withLock { s in
            switch s {
            case .waiting(let c): s = .closed; return c
            case .idle: s = .closed; return nil
            default: return nil
            }
        }
        if let waiter {
            waiter.resume(throwing: DatabaseError.unavailable)
            release()
        }
    }

    /// The caller is done with the connection: the lease task gives it back to the pool.
    func release() {
        let waiter = done.withLock { d -> CheckedContinuation<Void, Never>? in
            d.released = true
            defer { d.waiter = nil }
            return d.waiter
        }
        waiter?.resume()
    }
}

/// SQLite reader connections, each lent to one task at a time.
actor ReaderPool {
    private let connections: [DirectSQLite]
    private var idle: [DirectSQLite]
    private var waiters: [CheckedContinuation<DirectSQLite, Never>] = []

    init(_ connections: [DirectSQLite]) {
        self.connections = connections
        self.idle = connections
    }

    func checkOut() async -> DirectSQLite {
        if let c = idle.popLast() { return c }
        return await withCheckedContinuation { waiters.append($0) }
    }

    func checkIn(_ connection: DirectSQLite) {
        if waiters.isEmpty { idle.append(connection) } else { waiters.removeFirst().resume(returning: connection) }
    }

    func all() -> [DirectSQLite] { connections }
}

/// One SQLite connection on the C API (`SQLiteBulkConnection`, prepared statements kept) with a serial queue
/// of its own. `run` executes its body's statements inline on the caller's thread; `runOffPool` with that queue
/// as the task executor, for work that may block long. Used by one task at a time (the writer lock or the
/// reader pool).
final class DirectSQLite: Sendable {
    let connection: SQLiteBulkConnection
    private let executor: DispatchTaskExecutor

    private init(connection: SQLiteBulkConnection, executor: DispatchTaskExecutor) {
        self.connection = connection
        self.executor = executor
    }

    static func open(path: String, label: String, logger: Logger) async throws -> DirectSQLite {
        // An 8 MiB page cache per connection (sqlite's default is 2 MiB). No memory map: tried, and reads got
        // 2-3x slower under issuance load (the file grows with each checkpoint, and the map is redone).
        let connection = try await SQLiteBulkConnection.open(path: path, logger: logger, pageCacheKiB: 8192)
        return DirectSQLite(connection: connection, executor: DispatchTaskExecutor(queue: DispatchQueue(label: label)))
    }

    /// Runs `body`'s statements inline on the calling thread. A kiosk request's reads and transactions take
    /// tens to a few hundred microseconds of CPU; moving each to the connection's queue and back cost two thread
    /// wake-ups and context switches (`perf`: about as much CPU as the statements themselves, docs/perf/http.md).
    /// What may block for long (a checkpoint's fsync aside) runs with `runOffPool`.
    func run<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        try await body(SQLiteBulkDatabase(connection, inline: true))
    }

    /// Runs `body` on the connection's own serial queue, off Swift's cooperative pool (`VACUUM` and the like).
    func runOffPool<R: Sendable>(_ body: @Sendable (any SQLDatabase) async throws -> R) async throws -> R {
        let db = SQLiteBulkDatabase(connection, inline: true)
        return try await withTaskExecutorPreference(executor) { try await body(db) }
    }

    func close() async { await connection.close() }
}

/// A task executor over a dispatch queue: a serial queue runs its jobs one at a time (a SQLite connection),
/// a concurrent one side by side (blocking file work). Either way on threads outside Swift's cooperative pool,
/// which has only as many threads as cores.
public final class DispatchTaskExecutor: TaskExecutor {
    private let queue: DispatchQueue

    public init(queue: DispatchQueue) { self.queue = queue }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        queue.async { job.runSynchronously(on: executor) }
    }
}

/// A FIFO async mutex: callers wait their turn without blocking a thread.
public actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func withLock<R: Sendable>(_ body: @Sendable () async throws -> R) async throws -> R {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty {
            locked = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
