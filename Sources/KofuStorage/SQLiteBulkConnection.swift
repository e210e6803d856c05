import Logging
import NIOCore
import NIOPosix
import SQLiteKit
import SQLKit
// The SQLite library sqlite-nio vendors (its C target). Only this file uses it.
import VaporCSQLite

/// A statement on a `SQLiteBulkConnection` failed.
struct SQLiteBulkError: Error, CustomStringConvertible {
    let code: Int32
    let message: String

    var description: String { "SQLite error \(code): \(message)" }
}

/// A connection to the SQLite file on the C API of the SQLite that sqlite-nio vendors: Kofu's writer and
/// readers (`DirectSQLite`), and the linkage import's private connection.
///
/// sqlite-nio prepares every statement anew and converts every value through `SQLiteData`; for a kiosk
/// request's few dozen statements, and even more for the millions of rows of a batch, that costs more than
/// SQLite's own work. This connection keeps the statements of `query` prepared, and for the import one
/// `INSERT` per table bound straight from `TaxDataRows`. It is used by one caller at a time (the writer lock,
/// the reader pool, or the import under the writer lock), hence `NOMUTEX`.
final class SQLiteBulkConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    /// Prepared `INSERT`s by table name and rows per statement.
    private var inserts: [String: OpaquePointer] = [:]
    /// Prepared statements of `query` by SQL text, reset after each use (SQLKit binds values, so the texts
    /// are few; past `maximumCachedStatements` a statement is prepared and finalized per call).
    private var statements: [String: (statement: OpaquePointer, columns: SQLiteColumns)] = [:]
    private static let maximumCachedStatements = 512
    let threadPool: NIOThreadPool
    let logger: Logger

    private init(handle: OpaquePointer?, threadPool: NIOThreadPool, logger: Logger) {
        self.handle = handle
        self.threadPool = threadPool
        self.logger = logger
    }

    /// Opens (creating if needed) the database at `path`: WAL, so that readers run beside the writer;
    /// secure_delete, so that erased personal data cannot be recovered from the file (DOMAIN.md §4); foreign
    /// keys; temporary data in memory; and a page cache of `pageCacheKiB` (the import's default, 128 MiB, is for
    /// the B-tree inserts of millions of rows).
    static func open(path: String, logger: Logger, threadPool: NIOThreadPool = .singleton,
                     pageCacheKiB: Int = 131_072) async throws -> SQLiteBulkConnection {
        try await threadPool.runIfActive {
            var handle: OpaquePointer?
            let rc = sqlite_nio_sqlite3_open_v2(path, &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE, nil)
            let connection = SQLiteBulkConnection(handle: handle, threadPool: threadPool, logger: logger)
            guard rc == SQLITE_OK else {
                let error = connection.error(rc)
                connection.closeNow()
                throw error
            }
            do {
                for pragma in ["PRAGMA busy_timeout=10000", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                               "PRAGMA secure_delete=ON", "PRAGMA foreign_keys=ON", "PRAGMA cache_size=-\(pageCacheKiB)",
                               "PRAGMA temp_store=MEMORY"] {
                    try connection.execute(pragma)
                }
            } catch {
                connection.closeNow()
                throw error
            }
            return connection
        }
    }

    deinit { closeNow() }

    /// Finalizes the statements and closes the connection (on the thread pool).
    func close() async {
        _ = try? await threadPool.runIfActive { self.closeNow() }
    }

    private func closeNow() {
        for statement in inserts.values { sqlite_nio_sqlite3_finalize(statement) }
        inserts.removeAll()
        for (statement, _) in statements.values { sqlite_nio_sqlite3_finalize(statement) }
        statements.removeAll()
        if let handle { sqlite_nio_sqlite3_close_v2(handle) }
        handle = nil
    }

    private func error(_ rc: Int32) -> SQLiteBulkError {
        let message = handle.flatMap { sqlite_nio_sqlite3_errmsg($0) }.map { String(cString: $0) } ?? "cannot open the database"
        return SQLiteBulkError(code: rc, message: message)
    }

    /// Runs SQL without results (blocking; call on the thread pool).
    func execute(_ sql: String) throws {
        let rc = sqlite_nio_sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc) }
    }

    /// Runs one statement with bound values and returns its rows (blocking; call on the thread pool).
    func query(_ sql: String, _ binds: [SQLiteData]) throws -> [SQLiteBulkRow] {
        var statement: OpaquePointer?
        let cached = statements[sql]
        if let cached {
            statement = cached.statement
        } else {
            let rc = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        // Column names are read once per statement; a schema change that re-prepares it (a migration adding a
        // column to a `SELECT *`) changes the count, and the names are read again.
        var names = cached?.columns ?? SQLiteColumns.none
        let columnCount = sqlite_nio_sqlite3_column_count(statement)
        let namesChanged = names.names.count != Int(columnCount)
        if namesChanged {
            names = SQLiteColumns((0..<columnCount).map { sqlite_nio_sqlite3_column_name(statement, $0).map { String(cString: $0) } ?? "" })
        }
        let keep = cached != nil || statements.count < Self.maximumCachedStatements
        if keep, let statement, cached == nil || namesChanged { statements[sql] = (statement, names) }
        defer {
            if keep {
                // Reset ends the statement (and its read snapshot); the next call binds afresh.
                sqlite_nio_sqlite3_reset(statement)
                sqlite_nio_sqlite3_clear_bindings(statement)
            } else {
                sqlite_nio_sqlite3_finalize(statement)
            }
        }
        for (i, value) in binds.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .integer(let v): rc = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(v))
            case .float(let v): rc = sqlite_nio_sqlite3_bind_double(statement, index, v)
            case .text(let v):
                rc = sqlite_nio_sqlite3_bind_text64(statement, index, v, UInt64(v.utf8.count), Self.transient, UInt8(SQLITE_UTF8))
            case .blob(let v):
                rc = v.withUnsafeReadableBytes {
                    sqlite_nio_sqlite3_bind_blob64(statement, index, $0.baseAddress, UInt64($0.count), Self.transient)
                }
            case .null: rc = sqlite_nio_sqlite3_bind_null(statement, index)
            }
            guard rc == SQLITE_OK else { throw error(rc) }
        }
        var rows: [SQLiteBulkRow] = []
        while true {
            let rc = sqlite_nio_sqlite3_step(statement)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc) }
            var values: [SQLiteData] = []
            values.reserveCapacity(Int(columnCount))
            for c in 0..<columnCount {
                switch sqlite_nio_sqlite3_column_type(statement, c) {
                case SQLITE_INTEGER: values.append(.integer(Int(sqlite_nio_sqlite3_column_int64(statement, c))))
                case SQLITE_FLOAT: values.append(.float(sqlite_nio_sqlite3_column_double(statement, c)))
                case SQLITE_TEXT:
                    let bytes = UnsafeRawBufferPointer(start: sqlite_nio_sqlite3_column_text(statement, c),
                                                       count: Int(sqlite_nio_sqlite3_column_bytes(statement, c)))
                    values.append(.text(String(decoding: bytes, as: UTF8.self)))
                case SQLITE_BLOB:
                    let bytes = UnsafeRawBufferPointer(start: sqlite_nio_sqlite3_column_blob(statement, c),
                                                       count: Int(sqlite_nio_sqlite3_column_bytes(statement, c)))
                    values.append(.blob(ByteBuffer(bytes: bytes)))
                default: values.append(.null)
                }
            }
            rows.append(SQLiteBulkRow(columns: names, values: values))
        }
        return rows
    }

    /// Inserts `rows` into `table` (blocking; call on the thread pool). Two statements per table are prepared
    /// once and reused for every call: one of `rowsPerStatement(table)` rows, which spreads SQLite's
    /// per-statement work (opening cursors, seeking, halting) over many rows, and one of a single row for the
    /// remainder. Text is bound in place, without copies.
    func insert(_ rows: TaxDataRows, into table: TaxDataTable) throws {
        let block = Self.rowsPerStatement(table)
        let width = rows.width
        try rows.text.withUnsafeBufferPointer { text in
            // A zero-length text value still needs a pointer, or SQLite binds NULL.
            let base = text.baseAddress ?? ("" as StaticString).utf8Start
            try rows.cells.withUnsafeBufferPointer { cells in
                var cell = 0
                while cell < cells.count {
                    let n = cells.count - cell >= block * width ? block : 1
                    let statement = try preparedInsert(table, rows: n)
                    for k in 0..<(n * width) {
                        let v = cells[cell + k]
                        let index = Int32(k + 1)
                        let rc: Int32
                        if v == TaxDataRows.null {
                            rc = sqlite_nio_sqlite3_bind_null(statement, index)
                        } else if table.textColumns[k % width] {
                            rc = sqlite_nio_sqlite3_bind_text64(statement, index, UnsafeRawPointer(base + (v >> 20))
                                .assumingMemoryBound(to: CChar.self), UInt64(v & 0xFFFFF), nil, UInt8(SQLITE_UTF8))
                        } else {
                            rc = sqlite_nio_sqlite3_bind_int64(statement, index, Int64(v))
                        }
                        guard rc == SQLITE_OK else { throw error(rc) }
                    }
                    let rc = sqlite_nio_sqlite3_step(statement)
                    let failure = rc == SQLITE_DONE ? nil : error(rc)
                    sqlite_nio_sqlite3_reset(statement)
                    // The bound text points into `rows`, which goes away after this call.
                    sqlite_nio_sqlite3_clear_bindings(statement)
                    if let failure { throw failure }
                    cell += n * width
                }
            }
        }
    }

    /// Rows per multi-row `INSERT`: about 500 bound values, enough to amortise the per-statement work.
    static func rowsPerStatement(_ table: TaxDataTable) -> Int { max(1, 500 / table.columns.count) }

    private func preparedInsert(_ table: TaxDataTable, rows: Int) throws -> OpaquePointer {
        let key = "\(table.name)/\(rows)"
        if let statement = inserts[key] { return statement }
        let width = table.columns.count
        let tuples = (0..<rows).map { r in
            "(" + (1...width).map { "?\(r * width + $0)" }.joined(separator: ", ") + ")"
        }
        let sql = "INSERT INTO \(table.name) (\(table.columns.joined(separator: ", "))) VALUES "
            + tuples.joined(separator: ", ")
        var statement: OpaquePointer?
        let rc = sqlite_nio_sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc) }
        inserts[key] = statement
        return statement
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}

/// `SQLDatabase` over `SQLiteBulkConnection`, so the import's other statements (look-ups, deletes,
/// bookkeeping) are written with SQLKit exactly as on the other backends.
///
/// With `inline`, each statement runs on the calling thread instead of hopping to the NIO thread pool: for
/// callers that already run on a thread of their own (`KofuDatabase` runs its SQLite transactions and reads
/// with a task executor preference for the connection's own serial queue, never on Swift's cooperative pool).
struct SQLiteBulkDatabase: SQLDatabase {
    let connection: SQLiteBulkConnection
    let eventLoop: any EventLoop
    let inline: Bool

    init(_ connection: SQLiteBulkConnection, eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
         inline: Bool = false) {
        self.connection = connection
        self.eventLoop = eventLoop
        self.inline = inline
    }

    var logger: Logger { connection.logger }
    var dialect: any SQLDialect { SQLiteDialect() }
    var version: (any SQLDatabaseReportedVersion)? { nil }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        promise.completeWithTask { try await self.execute(sql: query, onRow) }
        return promise.futureResult
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        let (sql, rawBinds) = serialize(query)
        let binds = try rawBinds.map(Self.bind)
        let connection = self.connection
        let rows = inline ? try connection.query(sql, binds)
            : try await connection.threadPool.runIfActive { try connection.query(sql, binds) }
        for row in rows { onRow(row) }
    }
}

extension SQLiteBulkDatabase {
    /// SQLiteKit's encoder for the bound values that are not a plain string or integer (it holds a `JSONEncoder`,
    /// so it is made once, not per statement).
    private static let encoder = SQLiteDataEncoder()

    /// A bound value as SQLite data. Strings, integers and their optionals, which are nearly every value Kofu
    /// binds, are converted here as `SQLiteDataEncoder` converts them, without its dynamic casts and nested
    /// encoder; anything else goes to it.
    static func bind(_ value: any Encodable & Sendable) throws -> SQLiteData {
        switch value {
        case let v as String: return .text(v)
        case let v as Int: return .integer(v)
        case let v as Int64: return .integer(Int(v))
        case let v as String?: return v.map(SQLiteData.text) ?? .null
        case let v as Int?: return v.map(SQLiteData.integer) ?? .null
        case let v as Int64?: return v.map { .integer(Int($0)) } ?? .null
        default: return try encoder.encode(value)
        }
    }
}

/// The result columns of one prepared statement, with an index by name, shared by all its rows.
final class SQLiteColumns: Sendable {
    let names: [String]
    /// Name → position; the first column of that name, as `firstIndex(of:)` gives it.
    let positions: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var positions: [String: Int] = [:]
        for (i, name) in names.enumerated() where positions[name] == nil { positions[name] = i }
        self.positions = positions
    }

    static let none = SQLiteColumns([])
}

/// One result row of `SQLiteBulkConnection.query`.
struct SQLiteBulkRow: SQLRow {
    struct MissingColumn: Error {
        let column: String
    }

    let columns: SQLiteColumns
    let values: [SQLiteData]

    var allColumns: [String] { columns.names }

    func contains(column: String) -> Bool { columns.positions[column] != nil }

    func decodeNil(column: String) throws -> Bool { try value(column) == .null }

    /// Strings and integers (and their optionals), the columns Kofu reads, are taken straight from the value
    /// when it is of that storage class; everything else, type mismatches included, goes through SQLiteKit's
    /// decoder as before. (`SQLiteDataDecoder()` makes a `JSONDecoder`, and an optional a nested decoder of
    /// its own: a few dozen columns per kiosk request made that a measurable share of the request.)
    func decode<D: Decodable>(column: String, as type: D.Type) throws -> D {
        let value = try value(column)
        if let direct = Self.direct(value, as: D.self) { return direct }
        return try Self.decoder.decode(D.self, from: value)
    }

    private static let decoder = SQLiteDataDecoder()

    /// `value` as `D` when `D` is `String`, `Int`, `Int64` or an optional of one and the value is of the
    /// matching storage class (or NULL for an optional): what `SQLiteDataDecoder` answers for those.
    static func direct<D>(_ value: SQLiteData, as type: D.Type) -> D? {
        // Each cast below is between identical types (checked just before), so the bits are the value.
        switch value {
        case .text(let s):
            if type == String.self { return unsafeBitCast(s, to: D.self) }
            if type == String?.self { return unsafeBitCast(String?.some(s), to: D.self) }
        case .integer(let n):
            if type == Int.self { return unsafeBitCast(n, to: D.self) }
            if type == Int?.self { return unsafeBitCast(Int?.some(n), to: D.self) }
            if type == Int64.self { return unsafeBitCast(Int64(n), to: D.self) }
            if type == Int64?.self { return unsafeBitCast(Int64?.some(Int64(n)), to: D.self) }
        case .null:
            if type == String?.self { return unsafeBitCast(String?.none, to: D.self) }
            if type == Int?.self { return unsafeBitCast(Int?.none, to: D.self) }
            if type == Int64?.self { return unsafeBitCast(Int64?.none, to: D.self) }
        default:
            break
        }
        return nil
    }

    private func value(_ column: String) throws -> SQLiteData {
        guard let i = columns.positions[column] else { throw MissingColumn(column: column) }
        return values[i]
    }
}
