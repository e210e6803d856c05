import Foundation

/// A TrueType font (glyf outlines) read once at start-up, and subsets of it for embedding in a PDF
/// (`/FontFile2` of a CIDFontType2 font).
///
/// A subset keeps only the tables a PDF reader needs to draw a CID font (head, hhea, maxp, hmtx, loca, glyf,
/// post): no cmap, since the PDF addresses glyphs by number (`/CIDToGIDMap /Identity`), and no hinting. Glyphs
/// are renumbered in the order given: subset glyph `i` is `glyphs[i]` of the font, and glyph 0 must be
/// `.notdef`. The components of a composite glyph are added after the given glyphs and its references renumbered.
///
/// Immutable after `init` and shared by every render.
final class TrueTypeFont: Sendable {
    enum Failure: Error, Equatable { case malformed(String) }

    private let data: [UInt8]
    /// Where each table lies in `data`.
    private let tables: [String: Range<Int>]
    /// Glyph `g`'s outline is `data[glyf.lowerBound + offsets[g] ..< glyf.lowerBound + offsets[g + 1]]`.
    private let offsets: [Int]
    private let glyf: Range<Int>
    private let advances: [UInt16]
    private let sideBearings: [Int16]
    let glyphCount: Int
    let unitsPerEm: Int
    /// Font-wide metrics in 1/1000 em, as a PDF font descriptor gives them.
    let boundingBox: (Int, Int, Int, Int)
    let ascent: Int, descent: Int
    /// The PostScript name (name ID 6), reduced to the characters a PDF name may carry plainly.
    let postScriptName: String

    convenience init(path: String) throws {
        guard let contents = FileManager.default.contents(atPath: path) else { throw TemplateError.unreadableFont(file: path) }
        do { try self.init(data: Array(contents)) } catch { throw TemplateError.unreadableFont(file: path) }
    }

    init(data: [UInt8]) throws {
        self.data = data
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= data.count else { throw Failure.malformed("offset \(o) past the end") }
            return Int(data[o]) << 8 | Int(data[o + 1])
        }
        func s16(_ o: Int) throws -> Int { Int(Int16(bitPattern: UInt16(try u16(o)))) }
        func u32(_ o: Int) throws -> Int { try u16(o) << 16 | u16(o + 2) }
        let count = try u16(4)
        var tables: [String: Range<Int>] = [:]
        for i in 0..<count {
            let entry = 12 + 16 * i
            guard entry + 16 <= data.count else { throw Failure.malformed("table directory") }
            let tag = String(decoding: data[entry..<entry + 4], as: UTF8.self)
            let offset = try u32(entry + 8), length = try u32(entry + 12)
            guard offset + length <= data.count else { throw Failure.malformed("table \(tag) past the end") }
            tables[tag] = offset..<offset + length
        }
        for tag in ["head", "hhea", "maxp", "hmtx", "loca", "glyf"] where tables[tag] == nil {
            throw Failure.malformed("no \(tag) table (only TrueType outlines can be embedded)")
        }
        self.tables = tables
        let head = tables["head"]!.lowerBound, hhea = tables["hhea"]!.lowerBound
        unitsPerEm = try u16(head + 18)
        guard unitsPerEm > 0 else { throw Failure.malformed("unitsPerEm 0") }
        let longOffsets = try s16(head + 50) == 1
        glyphCount = try u16(tables["maxp"]!.lowerBound + 4)
        let loca = tables["loca"]!.lowerBound
        var offsets = [Int]()
        offsets.reserveCapacity(glyphCount + 1)
        for g in 0...glyphCount { offsets.append(longOffsets ? try u32(loca + 4 * g) : try u16(loca + 2 * g) * 2) }
        glyf = tables["glyf"]!
        guard zip(offsets, offsets.dropFirst()).allSatisfy({ $0 <= $1 }), offsets.last! <= glyf.count else {
            throw Failure.malformed("loca offsets")
        }
        self.offsets = offsets
        let longMetrics = try u16(hhea + 34)
        guard longMetrics > 0 else { throw Failure.malformed("no horizontal metrics") }
        let hmtx = tables["hmtx"]!.lowerBound
        var advances = [UInt16](), bearings = [Int16]()
        advances.reserveCapacity(glyphCount)
        bearings.reserveCapacity(glyphCount)
        for g in 0..<glyphCount {
            if g < longMetrics {
                advances.append(UInt16(try u16(hmtx + 4 * g)))
                bearings.append(Int16(try s16(hmtx + 4 * g + 2)))
            } else {
                advances.append(advances[longMetrics - 1])
                bearings.append(Int16(try s16(hmtx + 4 * longMetrics + 2 * (g - longMetrics))))
            }
        }
        self.advances = advances
        sideBearings = bearings
        let k = 1000.0 / Double(unitsPerEm)
        func scaled(_ v: Int) -> Int { Int((Double(v) * k).rounded()) }
        boundingBox = (scaled(try s16(head + 36)), scaled(try s16(head + 38)), scaled(try s16(head + 40)), scaled(try s16(head + 42)))
        ascent = scaled(try s16(hhea + 4))
        descent = scaled(try s16(hhea + 6))
        postScriptName = Self.postScriptName(data, tables["name"]) ?? "KofuFont"
    }

    /// Glyph `g`'s advance in 1/1000 em (PDF's `/W` units).
    func width(_ g: UInt32) -> Double {
        Double(advances[min(Int(g), glyphCount - 1)]) * 1000 / Double(unitsPerEm)
    }

    /// A TrueType font program holding `glyphs` (font glyph numbers) as glyphs 0, 1, 2, … in that order.
    func subset(_ glyphs: [UInt32]) throws -> [UInt8] {
        var order = glyphs.map { min(Int($0), glyphCount - 1) }
        var newNumber: [Int: Int] = [:]
        for (i, g) in order.enumerated() where newNumber[g] == nil { newNumber[g] = i }
        // Composite glyphs: their components join the subset after the requested glyphs.
        var i = 0
        while i < order.count {
            for component in try components(of: order[i]) where newNumber[component] == nil {
                newNumber[component] = order.count
                order.append(component)
            }
            i += 1
        }
        var glyphData = [UInt8]()
        var loca = [UInt8]()
        var hmtx = [UInt8]()
        glyphData.reserveCapacity(order.count * 400)
        for g in order {
            put32(&loca, glyphData.count)
            var outline = Array(data[glyf.lowerBound + offsets[g]..<glyf.lowerBound + offsets[g + 1]])
            if outline.count >= 10, Int16(bitPattern: UInt16(outline[0]) << 8 | UInt16(outline[1])) < 0 {
                try renumberComponents(&outline, newNumber)
            }
            glyphData += outline
            while glyphData.count % 4 != 0 { glyphData.append(0) }
            put16(&hmtx, Int(advances[g]))
            put16(&hmtx, Int(UInt16(bitPattern: sideBearings[g])))
        }
        put32(&loca, glyphData.count)
        var head = Array(data[tables["head"]!])
        guard head.count >= 54 else { throw Failure.malformed("head") }
        head.replaceSubrange(8..<12, with: [0, 0, 0, 0])   // checkSumAdjustment: not checked by PDF readers
        head[50] = 0; head[51] = 1                         // long loca offsets
        var hhea = Array(data[tables["hhea"]!])
        guard hhea.count >= 36 else { throw Failure.malformed("hhea") }
        hhea[34] = UInt8(order.count >> 8); hhea[35] = UInt8(order.count & 0xff)
        var maxp = Array(data[tables["maxp"]!])
        guard maxp.count >= 6 else { throw Failure.malformed("maxp") }
        maxp[4] = UInt8(order.count >> 8); maxp[5] = UInt8(order.count & 0xff)
        // post format 3: the header without glyph names.
        var post: [UInt8] = [0, 3, 0, 0] + [UInt8](repeating: 0, count: 28)
        if let original = tables["post"], original.count >= 32 { post.replaceSubrange(4..<32, with: data[original.lowerBound + 4..<original.lowerBound + 32]) }
        return Self.fontFile([("glyf", glyphData), ("head", head), ("hhea", hhea), ("hmtx", hmtx), ("loca", loca),
                              ("maxp", maxp), ("post", post)])
    }

    /// The glyphs a composite glyph refers to (empty for a simple one).
    private func components(of g: Int) throws -> [Int] {
        let start = glyf.lowerBound + offsets[g], end = glyf.lowerBound + offsets[g + 1]
        guard end - start >= 10, Int16(bitPattern: UInt16(data[start]) << 8 | UInt16(data[start + 1])) < 0 else { return [] }
        var found: [Int] = []
        try walkComponents(data, from: start + 10, to: end) { at in
            found.append(Int(data[at]) << 8 | Int(data[at + 1]))
        }
        return found
    }

    private func renumberComponents(_ outline: inout [UInt8], _ newNumber: [Int: Int]) throws {
        var places: [Int] = []
        try walkComponents(outline, from: 10, to: outline.count) { places.append($0) }
        for at in places {
            let old = Int(outline[at]) << 8 | Int(outline[at + 1])
            guard let n = newNumber[old] else { throw Failure.malformed("component \(old) not in the subset") }
            outline[at] = UInt8(n >> 8); outline[at + 1] = UInt8(n & 0xff)
        }
    }

    /// Calls `visit` with the position of each component's glyph index in a composite glyph's records.
    private func walkComponents(_ bytes: [UInt8], from start: Int, to end: Int, _ visit: (Int) -> Void) throws {
        var p = start
        while true {
            guard p + 4 <= end else { throw Failure.malformed("composite glyph record") }
            let flags = Int(bytes[p]) << 8 | Int(bytes[p + 1])
            visit(p + 2)
            p += 4 + (flags & 0x0001 != 0 ? 4 : 2)           // ARG_1_AND_2_ARE_WORDS
            if flags & 0x0008 != 0 { p += 2 }                 // WE_HAVE_A_SCALE
            else if flags & 0x0040 != 0 { p += 4 }            // WE_HAVE_AN_X_AND_Y_SCALE
            else if flags & 0x0080 != 0 { p += 8 }            // WE_HAVE_A_TWO_BY_TWO
            guard flags & 0x0020 != 0 else { return }         // MORE_COMPONENTS
        }
    }

    /// An sfnt file of `tables` (given in tag order), each 4-byte aligned, with the checksums readers verify.
    static func fontFile(_ tables: [(tag: String, bytes: [UInt8])]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(12 + 16 * tables.count + tables.reduce(0) { $0 + $1.bytes.count + 3 })
        let n = tables.count
        var power = 1, log = 0
        while power * 2 <= n { power *= 2; log += 1 }
        put32(&out, 0x0001_0000)
        put16(&out, n); put16(&out, power * 16); put16(&out, log); put16(&out, n * 16 - power * 16)
        var offset = 12 + 16 * n
        for t in tables {
            out += Array(t.tag.utf8)
            put32(&out, checksum(t.bytes))
            put32(&out, offset)
            put32(&out, t.bytes.count)
            offset += (t.bytes.count + 3) & ~3
        }
        for t in tables {
            out += t.bytes
            while out.count % 4 != 0 { out.append(0) }
        }
        return out
    }

    static func checksum(_ bytes: [UInt8]) -> Int {
        var sum: UInt32 = 0
        var i = 0
        while i < bytes.count {
            var word: UInt32 = 0
            for k in 0..<4 { word = word << 8 | UInt32(i + k < bytes.count ? bytes[i + k] : 0) }
            sum = sum &+ word
            i += 4
        }
        return Int(sum)
    }

    private static func postScriptName(_ data: [UInt8], _ table: Range<Int>?) -> String? {
        guard let table, table.count >= 6 else { return nil }
        func u16(_ o: Int) -> Int { o + 2 <= data.count ? Int(data[o]) << 8 | Int(data[o + 1]) : 0 }
        let count = u16(table.lowerBound + 2), strings = table.lowerBound + u16(table.lowerBound + 4)
        for i in 0..<count {
            let r = table.lowerBound + 6 + 12 * i
            guard r + 12 <= table.upperBound, u16(r + 6) == 6 else { continue }
            let platform = u16(r), length = u16(r + 8), start = strings + u16(r + 10)
            guard start + length <= data.count else { continue }
            let raw = data[start..<start + length]
            let text = platform == 3 || platform == 0
                ? String(decoding: stride(from: raw.startIndex, to: raw.endIndex - 1, by: 2).map { UInt16(raw[$0]) << 8 | UInt16(raw[$0 + 1]) }, as: UTF16.self)
                : String(decoding: raw, as: UTF8.self)
            let name = String(text.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") })
            if !name.isEmpty { return name }
        }
        return nil
    }
}

private func put16(_ out: inout [UInt8], _ v: Int) { out.append(UInt8((v >> 8) & 0xff)); out.append(UInt8(v & 0xff)) }
private func put32(_ out: inout [UInt8], _ v: Int) { put16(&out, (v >> 16) & 0xffff); put16(&out, v & 0xffff) }
