import Logging
import NIOCore
import PostgresNIO

/// A linkage table as the bulk writers see it.
struct TaxDataTable: Sendable {
    let name: String
    let columns: [String]
    /// Per column: text (otherwise integer).
    let textColumns: [Bool]
}

/// Appends checked rows to a table inside the import transaction, faster than one SQL statement per row.
protocol TaxDataBulkWriter: Sendable {
    func insert(_ rows: TaxDataRows, into table: TaxDataTable) async throws
}

/// SQLite: one prepared `INSERT` per table, executed row by row on the import's own connection.
struct SQLiteBulkWriter: TaxDataBulkWriter {
    let connection: SQLiteBulkConnection

    func insert(_ rows: TaxDataRows, into table: TaxDataTable) async throws {
        let connection = self.connection
        try await connection.threadPool.runIfActive { try connection.insert(rows, into: table) }
    }
}

/// PostgreSQL: `COPY table (columns) FROM STDIN` in text format, one `COPY` per block of rows (between blocks the
/// connection is free for the import's look-ups).
struct PostgresCopyWriter: TaxDataBulkWriter {
    let connection: PostgresConnection
    let logger: Logger

    func insert(_ rows: TaxDataRows, into table: TaxDataTable) async throws {
        guard !rows.isEmpty else { return }
        let buffer = Self.encode(rows, table: table)
        try await connection.copyFrom(table: table.name, columns: table.columns, logger: logger) { writer in
            try await writer.write(buffer)
        }
    }

    /// COPY text format: tab-separated, `\N` for NULL, backslash escapes for `\`, tab, line feed and carriage return.
    static func encode(_ rows: TaxDataRows, table: TaxDataTable) -> ByteBuffer {
        var out = ByteBuffer()
        out.reserveCapacity(rows.text.count + rows.cells.count * 8)
        let width = rows.width
        var digits = [UInt8](repeating: 0, count: 20)
        rows.text.withUnsafeBufferPointer { text in
            var cell = 0
            while cell < rows.cells.count {
                for c in 0..<width {
                    if c > 0 { out.writeInteger(UInt8(9)) }
                    let v = rows.cells[cell + c]
                    if v == TaxDataRows.null {
                        out.writeStaticString("\\N")
                    } else if table.textColumns[c] {
                        let value = UnsafeBufferPointer(rebasing: text[TaxDataRows.range(v)])
                        if !value.contains(where: { $0 == 92 || $0 == 9 || $0 == 10 || $0 == 13 }) {
                            out.writeBytes(value)
                            continue
                        }
                        for b in value {
                            switch b {
                            case 92: out.writeStaticString("\\\\")
                            case 9: out.writeStaticString("\\t")
                            case 10: out.writeStaticString("\\n")
                            case 13: out.writeStaticString("\\r")
                            default: out.writeInteger(b)
                            }
                        }
                    } else {
                        var n = v
                        var k = digits.count
                        repeat {
                            k -= 1
                            digits[k] = UInt8(48 + n % 10)
                            n /= 10
                        } while n > 0
                        out.writeBytes(digits[k...])
                    }
                }
                out.writeInteger(UInt8(10))
                cell += width
            }
        }
        return out
    }
}
