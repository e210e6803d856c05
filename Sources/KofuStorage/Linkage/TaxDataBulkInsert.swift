import SQLKit

/// A multi-row `INSERT INTO t (…) VALUES (…), (…), …` from row-major cells. NULLs are written as literals;
/// everything else is a bound parameter (`?` on SQLite, `$n` on PostgreSQL).
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
                case .int(let v): serializer.write(bind: v)
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
