import CQRencode
import Foundation
import Synchronization

/// The modules of a QR code (error correction M, automatic version, mixed modes as `QRcode_encodeString`
/// chooses them, so Base45 text uses the alphanumeric mode), with the mask chosen here rather than by
/// libqrencode.
///
/// libqrencode picks the mask the standard way: it applies each of the eight masks and scores the symbol for
/// runs, 2 × 2 blocks, finder-like patterns and the dark/light balance (ISO/IEC 18004 §7.8.3). Its scoring
/// walked every row and column eight times through run-length arrays and was 40 % of a page's render time.
/// Here libqrencode builds the unmasked symbol (`QRcode_encodeMask` with its "no mask" value -2, exported by
/// the library though not in its header) and the same scores are computed over packed rows, with the same rules
/// and the same ties, so the chosen mask and every module are the same as `QRcode_encodeString` gives
/// (`QRSymbolTests` compares them on many texts). When the library lacks those two entry points the symbol
/// comes from `QRcode_encodeString` itself.
enum QRSymbol {
    /// Width in modules and the modules row by row, 1 = dark.
    struct Modules: Equatable { let width: Int; let dark: [UInt8] }

    /// Whether the mask is chosen here (libqrencode has the entry points), not by `QRcode_encodeString`.
    static var choosesMask: Bool { Entry.shared != nil }

    static func encode(_ text: String) throws -> Modules {
        if let fast = Entry.shared {
            return try fast.encode(text)
        }
        return try libraryEncode(text)
    }

    /// The symbol exactly as `QRcode_encodeString` makes it (the reference, and the fallback).
    static func libraryEncode(_ text: String) throws -> Modules {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw RenderError.qrEncodingFailed(length: text.utf8.count)
        }
        defer { QRcode_free(code) }
        let n = Int(code.pointee.width)
        let data = code.pointee.data!
        return Modules(width: n, dark: (0..<n * n).map { data[$0] & 1 })
    }

    /// libqrencode's entry points below its public API, found once.
    private struct Entry: @unchecked Sendable {
        // Safety: two C function pointers, immutable once found.
        typealias Split = @convention(c) (UnsafePointer<CChar>?, OpaquePointer?, QRencodeMode, Int32) -> Int32
        typealias EncodeMask = @convention(c) (OpaquePointer?, Int32) -> UnsafeMutablePointer<QRcode>?
        let split: Split
        let encodeMask: EncodeMask

        static let shared: Entry? = {
            guard let handle = dlopen("libqrencode.so.4", RTLD_NOW | RTLD_NOLOAD) ?? dlopen("libqrencode.so.4", RTLD_NOW),
                  let s = dlsym(handle, "Split_splitStringToQRinput"), let e = dlsym(handle, "QRcode_encodeMask") else {
                return nil
            }
            return Entry(split: unsafeBitCast(s, to: Split.self), encodeMask: unsafeBitCast(e, to: EncodeMask.self))
        }()

        func encode(_ text: String) throws -> Modules {
            guard let input = QRinput_new2(0, QR_ECLEVEL_M) else { throw RenderError.qrEncodingFailed(length: text.utf8.count) }
            defer { QRinput_free(input) }
            guard split(text, input, QR_MODE_8, 1) == 0, let code = encodeMask(input, -2) else {
                throw RenderError.qrEncodingFailed(length: text.utf8.count)
            }
            defer { QRcode_free(code) }
            let n = Int(code.pointee.width)
            return QRMasking(width: n, frame: UnsafeBufferPointer(start: code.pointee.data, count: n * n)).best()
        }
    }
}

/// Mask selection over an unmasked frame in libqrencode's layout (bit 0 dark, bit 7 a function module that no
/// mask touches), scored as libqrencode's `Mask_mask` scores (N1 = 3, N2 = 3, N3 = 40, N4 = 10).
///
/// Rows and columns are kept as bit sets (64 modules a word), so a mask is a few XORs a row, 2 × 2 blocks are
/// counted with shifts and popcounts, and runs are found from the bits where the colour changes instead of
/// module by module (a branch per module, mispredicted half the time, was most of libqrencode's cost).
struct QRMasking {
    let width: Int
    let frame: UnsafeBufferPointer<UInt8>

    /// The masked symbol with the lowest penalty (the first of equals), its format information written.
    func best() -> QRSymbol.Modules {
        let w = width, k = (w + 63) / 64, count = w * w
        // The frame's dark modules and its data modules (the ones masks flip), by row and by column.
        var base = BitLines(width: w), data = BitLines(width: w)
        base.rows.withUnsafeMutableBufferPointer { baseRows in
        base.columns.withUnsafeMutableBufferPointer { baseColumns in
        data.rows.withUnsafeMutableBufferPointer { dataRows in
        data.columns.withUnsafeMutableBufferPointer { dataColumns in
            // Without branches: which modules are dark is as good as random.
            for y in 0..<w {
                for x in 0..<w {
                    let s = frame[y * w + x]
                    let dark = UInt64(s & 1), free = UInt64(~s >> 7 & 1)
                    baseRows[y * k + x >> 6] |= dark << UInt64(x & 63)
                    baseColumns[x * k + y >> 6] |= dark << UInt64(y & 63)
                    dataRows[y * k + x >> 6] |= free << UInt64(x & 63)
                    dataColumns[x * k + y >> 6] |= free << UInt64(y & 63)
                }
            }
        }}}}
        let patterns = MaskPatterns.forWidth(w)
        var bestMask = 0, bestScore = Int.max
        var runs = [Int](repeating: 0, count: w + 2)
        var m = BitLines(width: w)
        for mask in 0..<8 {
            let p = patterns.masks[mask]
            m.rows.withUnsafeMutableBufferPointer { rows in
                for i in 0..<w * k { rows[i] = base.rows[i] ^ (p.rows[i] & data.rows[i]) }
            }
            m.columns.withUnsafeMutableBufferPointer { columns in
                for i in 0..<w * k { columns[i] = base.columns[i] ^ (p.columns[i] & data.columns[i]) }
            }
            Self.writeFormat(mask: mask, width: w) { x, y, dark in m.put(x: x, y: y, dark) }
            var blacks = 0
            for word in m.rows { blacks += word.nonzeroBitCount }
            let ratio = (200 * blacks + count) / count / 2
            var score = abs(ratio - 50) / 5 * 10
            score += m.rows.withUnsafeBufferPointer { Self.blocks($0, width: w, words: k) }
            runs.withUnsafeMutableBufferPointer { r in
                // Scores only grow and a later mask must be strictly lower to win, so a mask stops counting once
                // it has reached the best so far.
                m.rows.withUnsafeBufferPointer { rows in
                    for y in 0..<w where score < bestScore {
                        score += Self.runPenalty(rows.baseAddress! + y * k, width: w, words: k, runs: r.baseAddress!)
                    }
                }
                m.columns.withUnsafeBufferPointer { columns in
                    for x in 0..<w where score < bestScore {
                        score += Self.runPenalty(columns.baseAddress! + x * k, width: w, words: k, runs: r.baseAddress!)
                    }
                }
            }
            if score < bestScore { bestScore = score; bestMask = mask }
        }
        let p = patterns.masks[bestMask]
        var dark = [UInt8](repeating: 0, count: count)
        for y in 0..<w {
            for x in 0..<w {
                let i = y * k + x >> 6
                dark[y * w + x] = UInt8(truncatingIfNeeded: (base.rows[i] ^ (p.rows[i] & data.rows[i])) >> UInt64(x & 63) & 1)
            }
        }
        Self.writeFormat(mask: bestMask, width: w) { x, y, v in dark[y * w + x] = v ? 1 : 0 }
        return QRSymbol.Modules(width: w, dark: dark)
    }

    /// Whether mask `mask` darkens/lightens the module at (x, y) (its condition is 0 there).
    @inline(__always) static func flips(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) & 1 == 0
        case 1: y & 1 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: ((y / 2) + (x / 3)) & 1 == 0
        case 5: ((x * y) & 1) + (x * y) % 3 == 0
        case 6: (((x * y) & 1) + (x * y) % 3) & 1 == 0
        default: (((x * y) % 3) + ((x + y) & 1)) & 1 == 0
        }
    }

    /// The 15 format bits for error correction M and `mask`: BCH(15, 5) over the level and mask, XOR 0x5412.
    static func formatBits(mask: Int) -> Int {
        let data = (0b00 << 3) | mask   // level M is 00
        var v = data << 10
        for bit in stride(from: 14, through: 10, by: -1) where v & (1 << bit) != 0 { v ^= 0x537 << (bit - 10) }
        return ((data << 10) | v) ^ 0x5412
    }

    /// The format information, twice (beside the top-left finder, and split between the other two), placed as
    /// libqrencode places it: `put(x, y, dark)` for each of its 30 modules.
    static func writeFormat(mask: Int, width w: Int, _ put: (Int, Int, Bool) -> Void) {
        var format = formatBits(mask: mask)
        for i in 0..<8 {
            let v = format & 1 == 1
            put(w - 1 - i, 8, v)
            put(8, i < 6 ? i : i + 1, v)
            format >>= 1
        }
        for i in 0..<7 {
            let v = format & 1 == 1
            put(8, w - 7 + i, v)
            put(i == 0 ? 7 : 6 - i, 8, v)
            format >>= 1
        }
    }

    /// N2: 3 for each 2 × 2 block of one colour (blocks overlap).
    static func blocks(_ rows: UnsafeBufferPointer<UInt64>, width w: Int, words k: Int) -> Int {
        var n = 0
        for y in 1..<w {
            var carryV: UInt64 = 0, carryH: UInt64 = 0
            for j in 0..<k {
                let a = rows[(y - 1) * k + j], b = rows[y * k + j]
                let vertical = ~(a ^ b)                          // bit x: (x, y-1) and (x, y) alike
                let horizontal = ~(b ^ ((b << 1) | carryH))       // bit x: (x-1, y) and (x, y) alike
                var all = vertical & ((vertical << 1) | carryV) & horizontal
                carryV = vertical >> 63
                carryH = b >> 63
                if j == 0 { all &= ~1 }                           // no block ends in column 0
                let valid = w - j * 64
                if valid < 64 { all &= (UInt64(1) << UInt64(valid)) &- 1 }
                n += 3 * all.nonzeroBitCount
            }
        }
        return n
    }

    /// N1 and N3 over one row or column: 3 + (run - 5) for each run of five or more, 40 for each dark
    /// 1:1:3:1:1 pattern with four light modules (or the edge) on one side. The run array starts with a
    /// placeholder when the line starts dark, as libqrencode's does, so the pattern rules count the same.
    static func runPenalty(_ line: UnsafePointer<UInt64>, width w: Int, words k: Int, runs r: UnsafeMutablePointer<Int>) -> Int {
        var head = 0
        let first = line[0] & 1
        if first == 1 { r[0] = -1; head = 1 }
        var start = 0
        var carry = first
        var n = 0
        for j in 0..<k {
            let word = line[j]
            var changes = word ^ ((word << 1) | carry)
            carry = word >> 63
            let valid = w &- j &* 64
            if valid < 64 { changes &= (UInt64(1) << UInt64(valid)) &- 1 }
            while changes != 0 {
                let at = j &* 64 &+ changes.trailingZeroBitCount
                let run = at &- start
                r[head] = run
                n &+= run >= 5 ? run &- 2 : 0          // N1: 3 + (run - 5)
                head &+= 1
                start = at
                changes &= changes &- 1
            }
        }
        let last = w &- start
        r[head] = last
        n &+= last >= 5 ? last &- 2 : 0
        let length = head &+ 1
        // N3: the 1:1:3:1:1 pattern centres on an odd run from the fourth on (dark, after the placeholder).
        var i = 3
        while i < length &- 2 {
            let run = r[i]
            if run % 3 == 0 {
                let f = run / 3
                if r[i &- 2] == f, r[i &- 1] == f, r[i &+ 1] == f, r[i &+ 2] == f {
                    if i == 3 || r[i &- 3] >= 4 &* f { n &+= 40 } else if i &+ 4 >= length || r[i &+ 3] >= 4 &* f { n &+= 40 }
                }
            }
            i &+= 2
        }
        return n
    }
}

/// A square of modules as bit sets twice over: row by row and column by column, `(width + 63) / 64` words each.
struct BitLines {
    let width: Int, words: Int
    var rows: [UInt64]
    var columns: [UInt64]

    init(width: Int) {
        self.width = width
        words = (width + 63) / 64
        rows = [UInt64](repeating: 0, count: width * words)
        columns = rows
    }

    mutating func set(x: Int, y: Int) {
        rows[y * words + x >> 6] |= UInt64(1) << UInt64(x & 63)
        columns[x * words + y >> 6] |= UInt64(1) << UInt64(y & 63)
    }

    mutating func put(x: Int, y: Int, _ dark: Bool) {
        let r = y * words + x >> 6, rb = UInt64(1) << UInt64(x & 63)
        let c = x * words + y >> 6, cb = UInt64(1) << UInt64(y & 63)
        if dark { rows[r] |= rb; columns[c] |= cb } else { rows[r] &= ~rb; columns[c] &= ~cb }
    }
}

/// The eight mask patterns for one symbol width, as bit lines: made once per width (a version) and kept.
final class MaskPatterns: Sendable {
    let masks: [BitLines]

    private init(width w: Int) {
        masks = (0..<8).map { mask in
            var p = BitLines(width: w)
            for y in 0..<w { for x in 0..<w where QRMasking.flips(mask, x: x, y: y) { p.set(x: x, y: y) } }
            return p
        }
    }

    private static let made = Mutex<[Int: MaskPatterns]>([:])

    static func forWidth(_ w: Int) -> MaskPatterns {
        if let p = made.withLock({ $0[w] }) { return p }
        let p = MaskPatterns(width: w)
        made.withLock { $0[w] = p }
        return p
    }
}
