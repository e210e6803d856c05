import CCairo
import Foundation
import KofuDomain
@testable import KofuRendering
import KofuTestSupport
import Testing

/// Kofu's own PDF writer, piece by piece: numbers, the font subsetter (read back by FreeType), and the file's
/// structure as poppler and qpdf read it. `WriterReferenceTests` compares whole pages with cairo's.
@Suite("PDF writer")
struct PDFWriterTests {
    @Test("numbers: rounded, no trailing zeros, no minus zero")
    func numbers() {
        func f(_ v: Double, _ d: Int = 3) -> String {
            var b = PDFBytes()
            b.append(v, decimals: d)
            return String(decoding: b.bytes, as: UTF8.self)
        }
        #expect(f(0) == "0")
        #expect(f(-0.0004) == "0")
        #expect(f(1.5) == "1.5")
        #expect(f(100) == "100")
        #expect(f(0.05) == "0.05")
        #expect(f(0.005) == "0.005")
        #expect(f(-12.3456) == "-12.346")
        #expect(f(2.8346456693, 6) == "2.834646")
        #expect(f(841.8897637795, 6) == "841.889764")
        #expect(f(9.9996) == "10")
        var b = PDFBytes()
        b.append(-1234567)
        b.appendHex16(0xBEEF)
        #expect(String(decoding: b.bytes, as: UTF8.self) == "-1234567BEEF")
    }

    /// Glyph `index` of the font file at `path` (or in `data`) as FreeType reads it, unscaled: its advance and
    /// its outline's points and contour ends.
    static func outline(_ data: [UInt8], glyph index: UInt32) throws -> (advance: Int, points: [Int], contours: [Int]) {
        var library: FT_Library?
        try #require(FT_Init_FreeType(&library) == 0)
        defer { FT_Done_FreeType(library) }
        var face: FT_Face?
        let status = data.withUnsafeBufferPointer { buffer in
            FT_New_Memory_Face(library, buffer.baseAddress, FT_Long(buffer.count), 0, &face)
        }
        try #require(status == 0 && face != nil)
        defer { FT_Done_Face(face) }
        try #require(FT_Load_Glyph(face, index, FT_Int32(FT_LOAD_NO_SCALE)) == 0)
        let slot = face!.pointee.glyph!.pointee
        let o = slot.outline
        var points: [Int] = []
        for i in 0..<Int(o.n_points) { points += [Int(o.points[i].x), Int(o.points[i].y)] }
        let contours = (0..<Int(o.n_contours)).map { Int(o.contours[$0]) }
        return (Int(slot.advance.x), points, contours)
    }

    @Test("a subset of the shipped font holds the same outlines and advances, renumbered in the order asked")
    func subsetMatchesFont() throws {
        let data = Array(try Data(contentsOf: URL(fileURLWithPath: TestSupport.fontPath)))
        let font = try TrueTypeFont(data: data)
        let glyphs = try GlyphMap(path: TestSupport.fontPath)
        let chosen: [UInt32] = [0] + "山田花子の証明書、123ア　".unicodeScalars.map { glyphs[$0].index }
        let subset = try font.subset(chosen)
        #expect(subset.count < 20_000, "a dozen glyphs, not the whole font: \(subset.count) bytes")
        let reread = try TrueTypeFont(data: subset)
        #expect(reread.glyphCount == chosen.count)
        #expect(reread.unitsPerEm == font.unitsPerEm)
        for (i, g) in chosen.enumerated() {
            let original = try Self.outline(data, glyph: g)
            let copied = try Self.outline(subset, glyph: UInt32(i))
            #expect(copied.advance == original.advance, "glyph \(g) → \(i)")
            #expect(copied.points == original.points && copied.contours == original.contours, "glyph \(g) → \(i)")
            #expect(reread.width(UInt32(i)) == font.width(g))
        }
        // The table checksums readers verify.
        let tables = Int(subset[4]) << 8 | Int(subset[5])
        for t in 0..<tables {
            let e = 12 + 16 * t
            func u32(_ o: Int) -> Int { subset[o..<o + 4].reduce(0) { $0 << 8 | Int($1) } }
            let offset = u32(e + 8), length = u32(e + 12)
            #expect(TrueTypeFont.checksum(Array(subset[offset..<offset + length])) == u32(e + 4))
        }
    }

    /// A font of three glyphs: an empty `.notdef`, a square, and a composite of the square placed twice.
    static func compositeFont() -> [UInt8] {
        func be16(_ v: Int) -> [UInt8] { [UInt8((v >> 8) & 0xff), UInt8(v & 0xff)] }
        func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xffff) }
        // Simple glyph: one contour of four on-curve points (0,0) (0,500) (500,500) (500,0), word-sized deltas.
        var square = be16(1) + be16(0) + be16(0) + be16(500) + be16(500) + be16(3) + be16(0)
        square += [1, 1, 1, 1]
        square += be16(0) + be16(0) + be16(500) + be16(0)       // x deltas
        square += be16(0) + be16(500) + be16(0) + be16(-500 & 0xffff)   // y deltas
        // Composite: glyph 1 at (0,0), then glyph 1 at (600,0); ARG_1_AND_2_ARE_WORDS | ARGS_ARE_XY_VALUES.
        var composite = be16(-1 & 0xffff) + be16(0) + be16(0) + be16(1100) + be16(500)
        composite += be16(0x0001 | 0x0002 | 0x0020) + be16(1) + be16(0) + be16(0)
        composite += be16(0x0001 | 0x0002) + be16(1) + be16(600) + be16(0)
        let glyf = square + composite
        let loca = be32(0) + be32(0) + be32(square.count) + be32(glyf.count)
        var head = be32(0x0001_0000) + be32(0x0001_0000) + be32(0) + be32(0x5F0F_3CF5) + be16(0) + be16(1000)
        head += [UInt8](repeating: 0, count: 16) + be16(0) + be16(0) + be16(1100) + be16(500)
        head += be16(0) + be16(8) + be16(2) + be16(1) + be16(0)
        var hhea = be32(0x0001_0000) + be16(800) + be16(-200 & 0xffff) + be16(0) + be16(1200)
        hhea += [UInt8](repeating: 0, count: 22) + be16(3)
        let maxp = be32(0x0001_0000) + be16(3) + [UInt8](repeating: 0, count: 26)
        let hmtx = be16(500) + be16(0) + be16(600) + be16(0) + be16(1200) + be16(0)
        return TrueTypeFont.fontFile([("glyf", glyf), ("head", head), ("hhea", hhea), ("hmtx", hmtx), ("loca", loca),
                                      ("maxp", maxp)])
    }

    @Test("a composite glyph brings its component along, renumbered, and draws the same")
    func compositeGlyph() throws {
        let data = Self.compositeFont()
        let font = try TrueTypeFont(data: data)
        #expect(font.glyphCount == 3)
        let original = try Self.outline(data, glyph: 2)
        #expect(original.points.count == 16)   // two squares of four points
        // Only the composite is asked for: the square follows it as glyph 2 of the subset.
        let subset = try font.subset([0, 2])
        let reread = try TrueTypeFont(data: subset)
        #expect(reread.glyphCount == 3)
        let copied = try Self.outline(subset, glyph: 1)
        #expect(copied.points == original.points && copied.contours == original.contours)
        #expect(try Self.outline(subset, glyph: 2).points == (try Self.outline(data, glyph: 1)).points)
    }

    @Test("a truncated or non-TrueType font is refused with a clear error")
    func malformedFont() throws {
        let data = Self.compositeFont()
        #expect(throws: TrueTypeFont.Failure.self) { try TrueTypeFont(data: Array(data.prefix(40))) }
        #expect(throws: TrueTypeFont.Failure.self) { try TrueTypeFont(data: []) }
        #expect(throws: TemplateError.unreadableFont(file: "/nonexistent.ttf")) { try TrueTypeFont(path: "/nonexistent.ttf") }
    }

    @Test("the structure tree reads in order with text under each element, and poppler finds nothing wrong",
          arguments: CertificateKind.allCases)
    func structureTree(kind: CertificateKind) throws {
        let certificate = try Samples.certificate(kind)
        let doc = try Samples.renderer().render([(certificate, "KOFU"), (certificate, "KOFU2")])
        let dir = try TemporaryDirectory(prefix: "kofu-struct")
        let path = try dir.write("doc.pdf", bytes: doc.pdf)
        let result = try PDFTools.run("pdfinfo", ["-struct-text", path])
        #expect(!result.stderr.contains("Warning") && !result.stderr.contains("Error"), "\(result.stderr)")
        let tree = result.stdout
        #expect(tree.hasPrefix("Document\n"))
        let title = kind == .vehicleInspection ? "納税証明書" : kind.title
        let heading = tree.components(separatedBy: "H1 (block)\n").dropFirst().first?.split(separator: "\n").first ?? ""
        #expect(heading.hasSuffix("\(title)\""), "\(heading)")
        #expect(tree.contains("TH\n        \"住所\"\n      TD\n        \"\(certificate.person.address.prefix(8))"), "\(tree)")
        // Both copies: the heading twice, and the marked content of page 2 found through the parent tree.
        #expect(tree.components(separatedBy: "H1 (block)").count - 1 == doc.pageCount)
        #expect(try PDFTools.qpdfCheck(doc.pdf) == nil)
    }

    @Test("what the template always prints is in the kind's prebuilt subset; a name's characters in the document's own")
    func twoSubsets() throws {
        var certificate = try Samples.certificate(.nonTaxation)
        certificate.person.name = "鬱金　𠀋薔薇"   // U+2000B: beyond the BMP, a surrogate pair in /ToUnicode
        let doc = try Samples.renderer().render([(certificate, "KOFU")])
        let fonts = try PDFTools.fonts(doc.pdf)
        #expect(fonts.count == 2, "\(fonts.map(\.name))")
        #expect(fonts.contains { $0.name.hasPrefix("KOFUAC+") } && fonts.contains { $0.name.hasPrefix("KOFUZZ+") })
        #expect(PDFTools.compact(try PDFTools.text(doc.pdf)).contains("鬱金𠀋薔薇"))
        // The prebuilt subset is the same bytes in every document of the kind: not compressed per request.
        let other = try Samples.renderer().render([(try Samples.certificate(.nonTaxation), "OTHER")])
        #expect(Self.firstStream(after: "/Length1", in: doc.pdf) == Self.firstStream(after: "/Length1", in: other.pdf))
    }

    /// The bytes of the first stream whose dictionary contains `key`.
    static func firstStream(after key: String, in pdf: [UInt8]) -> [UInt8]? {
        func find(_ needle: String, from: Int) -> Int? {
            let n = Array(needle.utf8)
            var i = from
            while i + n.count <= pdf.count {
                if pdf[i] == n[0], pdf[i..<i + n.count].elementsEqual(n) { return i }
                i += 1
            }
            return nil
        }
        guard let k = find(key, from: 0), let s = find("stream\n", from: k), let e = find("\nendstream", from: s) else { return nil }
        return Array(pdf[s + 7..<e])
    }
}
