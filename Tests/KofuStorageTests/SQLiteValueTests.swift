import Foundation
import SQLiteKit
import SQLiteNIO
import Testing
@testable import KofuStorage

/// The SQLite connection reads strings and integers straight from the value and binds them without
/// SQLiteKit's encoder (issue 17, docs/perf/http.md): for every type and storage class the answer must be the
/// one SQLiteKit's `SQLiteDataDecoder` / `SQLiteDataEncoder` give, mismatches and NULLs included.
@Suite struct SQLiteValueTests {
    static let values: [SQLiteData] = [.text("abc"), .text(""), .text("12"), .integer(7), .integer(-1), .integer(0),
                                       .float(1.5), .float(2), .null, .blob(ByteBuffer(bytes: [1, 2]))]

    /// The row's answer and SQLiteKit's for `T`, as text (a thrown error as "error").
    func both<T: Decodable>(_ value: SQLiteData, as type: T.Type) -> (row: String, kit: String) {
        let row = SQLiteBulkRow(columns: SQLiteColumns(["c"]), values: [value])
        let mine = (try? row.decode(column: "c", as: T.self)).map { String(describing: $0) } ?? "error"
        let kit = (try? SQLiteDataDecoder().decode(T.self, from: value)).map { String(describing: $0) } ?? "error"
        return (mine, kit)
    }

    @Test(arguments: values)
    func decodesAsSQLiteKit(_ value: SQLiteData) {
        let answers = [both(value, as: String.self), both(value, as: String?.self), both(value, as: Int.self),
                       both(value, as: Int?.self), both(value, as: Int64.self), both(value, as: Int64?.self),
                       both(value, as: Double.self), both(value, as: Bool.self), both(value, as: Int32.self)]
        for (i, answer) in answers.enumerated() {
            #expect(answer.row == answer.kit, "type #\(i), value \(value)")
        }
    }

    @Test func bindsAsSQLiteKit() throws {
        let values: [any Encodable & Sendable] = ["a", "", 5, -5, Int64(7), String?.none, String?("x"), Int?.none, Int?(3),
                                                  Int64?.none, Int64?(9), true, 1.5, Int32(4)]
        for value in values {
            #expect(try SQLiteBulkDatabase.bind(value) == SQLiteDataEncoder().encode(value), "\(value)")
        }
    }

    @Test func columnsByNameKeepTheFirstOfTwoAndMissingOnesThrow() throws {
        let row = SQLiteBulkRow(columns: SQLiteColumns(["a", "b", "a"]), values: [.integer(1), .text("x"), .integer(3)])
        #expect(try row.decode(column: "a", as: Int.self) == 1)
        #expect(row.contains(column: "b") && !row.contains(column: "c"))
        #expect(throws: SQLiteBulkRow.MissingColumn.self) { try row.decode(column: "c", as: Int.self) }
        #expect(row.allColumns == ["a", "b", "a"])
    }
}
