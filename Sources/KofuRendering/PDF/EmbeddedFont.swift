/// One embedded subset of the font as the five PDF objects a CID-keyed TrueType font takes (Type0 font,
/// CIDFontType2 descendant, font descriptor, `/FontFile2` program, `/ToUnicode` map), with everything that does
/// not depend on object numbers finished in `init`.
///
/// Codes are two-byte CIDs (`/Identity-H`), CID = subset glyph number (`/CIDToGIDMap /Identity`). Each CID is
/// one Unicode scalar: CID 0 is `.notdef`, CID `i` the `i`th of `scalars`, so text extraction gets back exactly
/// the characters drawn (`/ToUnicode`), even when two characters share an outline.
struct EmbeddedFont {
    /// The object numbers of one font in one document.
    struct Numbers {
        let font: Int, descendant: Int, descriptor: Int, program: Int, toUnicode: Int
        init(allocate: () -> Int) {
            font = allocate(); descendant = allocate(); descriptor = allocate(); program = allocate(); toUnicode = allocate()
        }
    }

    let name: String
    let program: [UInt8]
    let programDeflated: Bool
    let programLength: Int
    let toUnicode: [UInt8]
    let toUnicodeDeflated: Bool
    /// `/W [ 0 [ w0 w1 … ] ]` and the descriptor's metrics, ready to copy.
    let widths: [UInt8]
    let metrics: [UInt8]

    /// `tag` is the six capital letters that mark a subset's name (PDF 9.6.4), different for each subset in a
    /// document.
    init(tag: String, scalars: [Unicode.Scalar], glyphs: GlyphMap, font: TrueTypeFont, deflater: Deflater?) throws {
        name = "\(tag)+\(font.postScriptName)"
        let glyphNumbers = [0] + scalars.map { glyphs[$0].index }
        let raw = try font.subset(glyphNumbers)
        programLength = raw.count
        if let packed = deflater?.compress(raw) { program = packed; programDeflated = true } else { program = raw; programDeflated = false }
        let map = Self.toUnicodeMap(scalars)
        if let packed = deflater?.compress(map) { toUnicode = packed; toUnicodeDeflated = true } else { toUnicode = map; toUnicodeDeflated = false }
        var w = PDFBytes(capacity: 8 * glyphNumbers.count + 16)
        w.append(" /W [ 0 [" as StaticString)
        for g in glyphNumbers { w.space(font.width(g), decimals: 3) }
        w.append(" ] ]" as StaticString)
        widths = w.bytes
        var m = PDFBytes(capacity: 160)
        let b = font.boundingBox
        m.append(" /Flags 4 /FontBBox [" as StaticString)
        for v in [b.0, b.1, b.2, b.3] { m.append(" " as StaticString); m.append(v) }
        m.append(" ] /ItalicAngle 0 /Ascent " as StaticString); m.append(font.ascent)
        m.append(" /Descent " as StaticString); m.append(font.descent)
        m.append(" /CapHeight " as StaticString); m.append(font.ascent)
        m.append(" /StemV 80" as StaticString)
        metrics = m.bytes
    }

    /// Writes the five objects under `numbers`.
    func write(to doc: inout ObjectSink, numbers n: Numbers) {
        doc.begin(n.font)
        doc.out.append("<< /Type /Font /Subtype /Type0 /BaseFont /\(name) /Encoding /Identity-H /DescendantFonts [ \(n.descendant) 0 R ] /ToUnicode \(n.toUnicode) 0 R >>")
        doc.end()
        doc.begin(n.descendant)
        doc.out.append("<< /Type /Font /Subtype /CIDFontType2 /BaseFont /\(name) /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /FontDescriptor \(n.descriptor) 0 R /CIDToGIDMap /Identity")
        doc.out.append(widths)
        doc.out.append(" >>" as StaticString)
        doc.end()
        doc.begin(n.descriptor)
        doc.out.append("<< /Type /FontDescriptor /FontName /\(name)")
        doc.out.append(metrics)
        doc.out.append(" /FontFile2 \(n.program) 0 R >>")
        doc.end()
        doc.begin(n.program)
        doc.out.appendPrepared(program, deflated: programDeflated, extra: " /Length1 \(programLength)")
        doc.end()
        doc.begin(n.toUnicode)
        doc.out.appendPrepared(toUnicode, deflated: toUnicodeDeflated)
        doc.end()
    }

    /// The CMap from CIDs to the characters they stand for.
    static func toUnicodeMap(_ scalars: [Unicode.Scalar]) -> [UInt8] {
        var out = PDFBytes(capacity: 300 + 16 * scalars.count)
        out.append("""
            /CIDInit /ProcSet findresource begin
            12 dict begin
            begincmap
            /CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def
            /CMapName /Adobe-Identity-UCS def
            /CMapType 2 def
            1 begincodespacerange
            <0000> <FFFF>
            endcodespacerange

            """ as StaticString)
        var start = 0
        while start < scalars.count {
            let chunk = scalars[start..<min(scalars.count, start + 100)]
            out.append(chunk.count)
            out.append(" beginbfchar\n" as StaticString)
            for (i, scalar) in zip(chunk.indices, chunk) {
                out.append(UInt8(ascii: "<"))
                out.appendHex16(UInt16(i + 1))
                out.append("> <" as StaticString)
                for unit in String(Character(scalar)).utf16 { out.appendHex16(unit) }
                out.append(">\n" as StaticString)
            }
            out.append("endbfchar\n" as StaticString)
            start += 100
        }
        out.append("""
            endcmap
            CMapName currentdict /CMap defineresource pop
            end
            end

            """ as StaticString)
        return out.bytes
    }
}

/// The characters a kind's template always prints (its literal text) and the common ones of every certificate
/// (digits, Latin letters, punctuation, the era names), with the finished subset for them: built once at load,
/// copied into each document as it is. What a certificate adds (names, addresses) goes into a small subset of
/// the document's own (`PDFWriter`).
final class PrebuiltFont: Sendable {
    let font: EmbeddedFont
    /// CID of each Basic Multilingual Plane scalar in this subset, 0 when it is not in it (a flat table: the
    /// lookup runs for every character drawn).
    private let cids: [UInt16]

    init(tag: String, text: Set<Unicode.Scalar>, glyphs: GlyphMap, font: TrueTypeFont) throws {
        let scalars = text.filter { $0.value < 0x10000 && glyphs[$0].index != 0 }.sorted { $0.value < $1.value }
        precondition(scalars.count < 0xFFFF)
        var table = [UInt16](repeating: 0, count: 0x10000)
        for (i, s) in scalars.enumerated() { table[Int(s.value)] = UInt16(i + 1) }
        cids = table
        self.font = try EmbeddedFont(tag: tag, scalars: scalars, glyphs: glyphs, font: font, deflater: Deflater(level: 9))
    }

    @inline(__always) func cid(_ scalar: Unicode.Scalar) -> UInt16 { scalar.value < 0x10000 ? cids[Int(scalar.value)] : 0 }

    /// What most certificates print whatever the template says: digits and the punctuation of numbers and
    /// dates, the era names, the words of the issuing line (「コンビニ交付（店舗 … 端末 …）」). Each glyph here
    /// is in every document whether used or not, so the list stays short; anything else a certificate prints
    /// goes into the document's own small subset.
    static let common: Set<Unicode.Scalar> = Set("0123456789 ,.-/:()%令和平成昭和大正明治元年月日円第号番丁目地・、。（）　コンビニ交付窓口店舗端末".unicodeScalars)
}

/// The objects of a PDF being written: the bytes so far and each object's offset (for the cross-reference
/// table), objects numbered from 1 in the order they are allocated and written in any order.
struct ObjectSink {
    var out: PDFBytes
    private(set) var offsets: [Int] = [0]

    init(capacity: Int) { out = PDFBytes(capacity: capacity) }

    mutating func allocate() -> Int {
        offsets.append(-1)
        return offsets.count - 1
    }

    mutating func begin(_ number: Int) {
        offsets[number] = out.count
        out.append(number)
        out.append(" 0 obj\n" as StaticString)
    }

    mutating func end() { out.append("\nendobj\n" as StaticString) }

    /// The cross-reference table and trailer; every allocated object must have been written.
    mutating func finish(root: Int, info: Int) {
        let xref = out.count
        out.append("xref\n0 " as StaticString)
        out.append(offsets.count)
        out.append("\n0000000000 65535 f \n" as StaticString)
        for offset in offsets.dropFirst() {
            precondition(offset >= 0, "an allocated PDF object was never written")
            out.appendTenDigits(offset)
            out.append(" 00000 n \n" as StaticString)
        }
        out.append("trailer\n<< /Size \(offsets.count) /Root \(root) 0 R /Info \(info) 0 R >>\nstartxref\n\(xref)\n%%EOF\n")
    }
}
