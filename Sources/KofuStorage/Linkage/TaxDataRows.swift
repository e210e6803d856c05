/// Checked rows on their way to a table, row-major, without a `String` or an enum per value: one `Int` per cell
/// and the text of all text cells back to back. Millions of rows pass through here, so the layout matters.
struct TaxDataRows: Sendable {
    /// Cells per row.
    let width: Int
    /// Per cell: the integer, or for text `offset << 20 | length` into `text`, or `TaxDataRows.null`.
    private(set) var cells: [Int] = []
    private(set) var text: [UInt8] = []

    /// SQL NULL. Every stored integer is non-negative and every text reference is too.
    static let null = -1

    /// Which columns hold text (the others hold integers).
    let textColumns: [Bool]

    init(textColumns: [Bool], reservingRows rows: Int = 0) {
        self.textColumns = textColumns
        width = textColumns.count
        cells.reserveCapacity(rows * width)
        text.reserveCapacity(rows * 16)
    }

    var count: Int { cells.count / width }
    var isEmpty: Bool { cells.isEmpty }

    /// Where the row being appended starts, to drop it again when one of its fields is bad.
    var mark: (cells: Int, text: Int) { (cells.count, text.count) }

    mutating func rollBack(to mark: (cells: Int, text: Int)) {
        cells.removeSubrange(mark.cells...)
        text.removeSubrange(mark.text...)
    }

    mutating func removeAll() {
        cells.removeAll(keepingCapacity: true)
        text.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    mutating func appendInteger(_ v: Int) { cells.append(v) }

    @inline(__always)
    mutating func appendNull() { cells.append(Self.null) }

    @inline(__always)
    mutating func appendText(_ bytes: UnsafeBufferPointer<UInt8>) {
        cells.append(text.count << 20 | bytes.count)
        text.append(contentsOf: bytes)
    }

    /// Appends `[0-9A-Fa-f]` bytes lower-cased.
    mutating func appendLowercasedHex(_ bytes: UnsafeBufferPointer<UInt8>) {
        cells.append(text.count << 20 | bytes.count)
        for b in bytes { text.append(b >= 65 && b <= 70 ? b + 32 : b) }
    }

    /// Appends row `row` of `other` (same width).
    mutating func append(row: Int, of other: TaxDataRows) {
        for c in 0..<width {
            let v = other.cells[row * width + c]
            if v == Self.null || !other.isText(row * width + c) {
                cells.append(v)
            } else {
                other.text.withUnsafeBufferPointer { appendText(UnsafeBufferPointer(rebasing: $0[Self.range(v)])) }
            }
        }
    }

    func isText(_ cell: Int) -> Bool { textColumns[cell % width] }

    /// The byte range in `text` of a text cell's value.
    @inline(__always)
    static func range(_ v: Int) -> Range<Int> { (v >> 20)..<((v >> 20) + (v & 0xFFFFF)) }

    /// One cell as a Swift value (for the rare single-row queries, not the bulk path).
    enum Value: Sendable, Hashable {
        case text(String)
        case integer(Int)
        case null
    }

    func value(_ cell: Int) -> Value {
        let v = cells[cell]
        if v == Self.null { return .null }
        if !isText(cell) { return .integer(v) }
        return .text(String(decoding: text[Self.range(v)], as: UTF8.self))
    }

    /// A 64-bit hash of the given columns of row `row`, for duplicate-key detection (seeded per process).
    func keyHash(row: Int, columns: [Int]) -> UInt64 {
        var h = KeyHash.seed
        text.withUnsafeBufferPointer { t in
            for c in columns {
                let v = cells[row * width + c]
                if v == Self.null || !textColumns[c] {
                    h = KeyHash.mix(h ^ UInt64(bitPattern: Int64(v)))
                } else {
                    h = KeyHash.bytes(UnsafeBufferPointer(rebasing: t[Self.range(v)]), into: h)
                }
            }
        }
        return KeyHash.finish(h)
    }
}

/// A small fast non-cryptographic hash (multiply–xorshift), seeded per process.
enum KeyHash {
    static let seed: UInt64 = UInt64.random(in: 1...UInt64.max)

    @inline(__always)
    static func mix(_ x: UInt64) -> UInt64 {
        var z = x &* 0x9E37_79B9_7F4A_7C15
        z ^= z >> 32
        return z &* 0xD6E8_FEB8_6659_FD93
    }

    @inline(__always)
    static func bytes(_ b: UnsafeBufferPointer<UInt8>, into h: UInt64) -> UInt64 {
        var h = mix(h ^ UInt64(b.count))
        guard let base = b.baseAddress else { return h }
        let raw = UnsafeRawPointer(base)
        var i = 0
        while i + 8 <= b.count {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            i += 8
        }
        if i < b.count {
            var last: UInt64 = 0
            var shift: UInt64 = 0
            while i < b.count {
                last |= UInt64(b[i]) << shift
                shift += 8
                i += 1
            }
            h = mix(h ^ last)
        }
        return h
    }

    @inline(__always)
    static func finish(_ h: UInt64) -> UInt64 {
        var z = h
        z ^= z >> 33
        z = z &* 0xFF51_AFD7_ED55_8CCD
        z ^= z >> 33
        return z
    }
}

/// A set of non-zero 64-bit values (packed addressee numbers, key hashes): open addressing with linear
/// probing in one flat array, sized up front from the expected count so filling it causes no rehash spike.
/// 8 bytes a slot at a load of at most 3/4.
struct UInt64Set {
    private var slots: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(expected: Int = 0) {
        let capacity = Self.capacity(for: expected)
        slots = [UInt64](repeating: 0, count: capacity)
        mask = capacity - 1
    }

    private static func capacity(for n: Int) -> Int {
        var c = 16
        while c / 4 * 3 < n { c <<= 1 }
        return c
    }

    @inline(__always)
    private func slot(_ v: UInt64) -> Int { Int(truncatingIfNeeded: KeyHash.finish(v)) & mask }

    func contains(_ value: UInt64) -> Bool {
        let v = value == 0 ? 1 : value
        var i = slot(v)
        while true {
            let s = slots[i]
            if s == v { return true }
            if s == 0 { return false }
            i = (i + 1) & mask
        }
    }

    /// Inserts `value` (0 is stored as 1: callers use hashes or values that are never 0); false when present.
    @discardableResult
    mutating func insert(_ value: UInt64) -> Bool {
        let v = value == 0 ? 1 : value
        if (count + 1) > slots.count / 4 * 3 { grow() }
        var i = slot(v)
        while true {
            let s = slots[i]
            if s == v { return false }
            if s == 0 {
                slots[i] = v
                count += 1
                return true
            }
            i = (i + 1) & mask
        }
    }

    mutating func removeAll() {
        slots = [UInt64](repeating: 0, count: 16)
        mask = 15
        count = 0
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        mask = slots.count - 1
        count = 0
        for v in old where v != 0 { insert(v) }
    }
}

/// levies.csv: the installment numbers (期別) seen for each notice (通知書), to check that they are 0 alone or
/// 1 to n without gaps, whatever order the rows come in.
///
/// Keyed by a 64-bit hash of the notice's key columns; per notice one more 64-bit word holds the numbers as a
/// bit mask and where its first row's installment field is. Open addressing like `UInt64Set`: 16 bytes a slot.
/// A hash collision merges two notices' numbers; `LinkageFileImport` confirms an irregular set against the rows
/// in the table before reporting it, so a collision can never reject a valid batch.
struct NoticeInstallments {
    /// One notice whose installment numbers are not 0 alone or 1…n.
    struct Irregular {
        var hash: UInt64
        /// Bit k set: installment k is present.
        var mask: UInt16
        var line: Int
        var column: Int
    }

    private var keys: [UInt64]
    /// Bits 0–12: the installment mask; 13–31: column; 32–63: line (both clamped).
    private var values: [UInt64]
    private var mask: Int
    private(set) var count = 0

    init(expected: Int = 0) {
        var c = 16
        while c / 4 * 3 < expected { c <<= 1 }
        keys = [UInt64](repeating: 0, count: c)
        values = [UInt64](repeating: 0, count: c)
        mask = c - 1
    }

    /// Whether a set of installment numbers is 0 alone, or 1 to n without gaps.
    static func isRegular(_ m: UInt16) -> Bool {
        if m == 1 { return true }
        let numbered = m >> 1
        return m & 1 == 0 && numbered != 0 && numbered & (numbered &+ 1) == 0
    }

    /// Records installment `installment` (0–12) of the notice hashed to `notice`, first seen at `line`:`column`.
    mutating func add(notice: UInt64, installment: Int, line: Int, column: Int) {
        let key = notice == 0 ? 1 : notice
        if (count + 1) > keys.count / 4 * 3 { grow() }
        let bit = UInt64(1) << UInt64(installment)
        var i = Int(truncatingIfNeeded: KeyHash.finish(key)) & mask
        while true {
            if keys[i] == key {
                values[i] |= bit
                return
            }
            if keys[i] == 0 {
                keys[i] = key
                values[i] = bit | UInt64(min(column, 0x7FFFF)) << 13 | UInt64(min(line, Int(UInt32.max))) << 32
                count += 1
                return
            }
            i = (i + 1) & mask
        }
    }

    /// The notices whose numbers are irregular, in file order of their first row.
    func irregular() -> [Irregular] {
        var found: [Irregular] = []
        for (i, key) in keys.enumerated() where key != 0 {
            let v = values[i]
            let m = UInt16(truncatingIfNeeded: v & 0x1FFF)
            if !Self.isRegular(m) {
                found.append(Irregular(hash: key, mask: m, line: Int(v >> 32), column: Int(v >> 13 & 0x7FFFF)))
            }
        }
        return found.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
    }

    /// The hash a notice key is stored under (as `add` normalizes it).
    static func normalized(_ notice: UInt64) -> UInt64 { notice == 0 ? 1 : notice }

    private mutating func grow() {
        let oldKeys = keys
        let oldValues = values
        keys = [UInt64](repeating: 0, count: oldKeys.count * 2)
        values = [UInt64](repeating: 0, count: oldKeys.count * 2)
        mask = keys.count - 1
        for (k, key) in oldKeys.enumerated() where key != 0 {
            var i = Int(truncatingIfNeeded: KeyHash.finish(key)) & mask
            while keys[i] != 0 { i = (i + 1) & mask }
            keys[i] = key
            values[i] = oldValues[k]
        }
    }
}
