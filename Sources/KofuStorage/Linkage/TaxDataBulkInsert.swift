import SQLKit

/// A multi-row `INSERT INTO t (…) VALUES (…), (…), …` from row-major cells. Free text is a bound parameter
/// (`?` on SQLite, `$n` on PostgreSQL); integers, NULL and validated codes/dates (`SQLCell.literal`) are
/// written inline, which keeps the per-value cost of SQLKit's `Encodable` binds off most columns.
struct TaxDataBulkInsert: SQLExpression {
    let table: String
    let columns: [String]
    let cells: ArraySlice<SQLCell>

    func serialize(to serializer: inout SQLSerializer) {
        serializer.write("INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES ")
        let width = columns.count
        var i = cells.startIndex
        var first = true
        while i < cells.endIndex {
            serializer.write(first ? "(" : ", (")
            first = false
            for c in 0..<width {
                if c > 0 { serializer.write(", ") }
                switch cells[i + c] {
                case .text(let s): serializer.write(bind: s)
                case .literal(let s): serializer.write("'\(s)'")
                case .int(let v): serializer.write(String(v))
                case .null: serializer.write("NULL")
                }
            }
            serializer.write(")")
            i += width
        }
    }

    /// Rows per statement: large enough to amortize statement preparation, below PostgreSQL's 65,535
    /// bind parameters (SQLite as bundled by sqlite-nio allows 250,000).
    static func rowsPerStatement(columns: Int) -> Int { max(1, 32_000 / columns) }
}
