import Foundation

/// The 地紋 as finished PDF objects, built once per ground when the renderer loads and copied into each
/// document as bytes (issue #17's "page skeleton" idea, for the ground only).
///
/// Drawn through cairo, the ground cost about 1.5 ms per document: cairo analysed and replayed the recorded
/// word cell and its two nested dot cells, wrote the word's outline four times as text numbers and deflated it.
/// None of that depends on the certificate, so it is done here once: the same three tiling patterns (the word
/// cell nesting the fine and the coarse dots) with the same geometry and colours as `Ground.pattern` draws, the
/// cell's content stream deflated once. Per document the renderer only numbers the objects and appends them
/// (with the pages that use them) as they are (`PDFWriter`).
///
/// Shared between concurrent renders: every stored property is an immutable value (`[UInt8]`, `String`,
/// numbers) written once in `init`; `objects(first:)` only reads them. A class, so that a document writes one
/// ground once however many of its pages use it (the renderer builds one instance per distinct ground).
final class PrebuiltGround: Sendable {
    /// The ground cell's content stream (deflated when zlib is at hand, see `Deflate`).
    let cellStream: [UInt8]
    let cellDeflated: Bool
    /// The cell's size in pattern units (0.1 mm).
    let cellWidth: Int, cellHeight: Int
    /// The two dot cells' content (tiny, not deflated): fine and coarse; empty in `.wordMask` mode.
    let dotStreams: [(pitch: Int, content: [UInt8])]
    /// The cell pattern's matrix (pattern space to the page's default space) and the page's ground stream
    /// around the pattern's name.
    let matrix: String
    let pageContent: (String, String)

    /// The name under which pages find the ground pattern in their resources (a number follows it).
    static let resourceName = "KofuGround"

    init(outline: WordOutline, ink: Double, mode: GroundMode) {
        let unit = Ground.unit
        let sizeMM = outline.sizeMM, wordWidth = outline.width
        // Same cell as `Ground.pattern`: the word in the middle, rounded up to whole coarse cells.
        func cells(_ v: Double) -> Double { (v / Ground.coarsePitch).rounded(.up) * Ground.coarsePitch }
        let cellWidthMM = cells(wordWidth + sizeMM * 0.8 + 2 * Ground.embolden)
        let cellHeightMM = cells(sizeMM * 1.8 + 2 * Ground.embolden)
        cellWidth = Int((cellWidthMM / unit).rounded())
        cellHeight = Int((cellHeightMM / unit).rounded())
        let tint = (max(0, ink - 0.08), ink, min(1, ink + 0.2))
        let rgb = "\(PDFNumber.format(tint.0)) \(PDFNumber.format(tint.1)) \(PDFNumber.format(tint.2))"

        // The word's outline in cell units (y down, as the recorded cell had it).
        let ox = (cellWidthMM - wordWidth) / 2, oy = (cellHeightMM - sizeMM) / 2 + sizeMM * 0.88
        var path = ""
        path.reserveCapacity(outline.operations.count * 40)
        func p(_ x: Double, _ y: Double) -> String { "\(PDFNumber.format((ox + x) / unit)) \(PDFNumber.format((oy + y) / unit))" }
        for op in outline.operations {
            switch op {
            case .move(let a, let b): path += "\(p(a, b)) m\n"
            case .line(let a, let b): path += "\(p(a, b)) l\n"
            case .curve(let a, let b, let c, let d, let e, let f): path += "\(p(a, b)) \(p(c, d)) \(p(e, f)) c\n"
            case .close: path += "h\n"
            }
        }
        // Glyphs filled and outlined `embolden` mm wide with round joins (`B`: fill, then stroke the same path).
        let pen = "\(PDFNumber.format(Ground.embolden / unit)) w 0 J 1 j 10 M\n"
        var cell: String
        switch mode {
        case .normal:
            // Fine dots everywhere, the word's shape back to paper white, coarse dots in it (see `Ground`).
            cell = "/Pattern cs /f scn 0 0 \(cellWidth) \(cellHeight) re f\n"
            cell += "1 1 1 rg 1 1 1 RG " + pen + path + "B\n"
            cell += "/Pattern cs /c scn /Pattern CS /c SCN\n" + path + "B\n"
            func dot(pitch: Double, radius: Double) -> (Int, [UInt8]) {
                // A circle as two Bézier halves, as cairo draws a dot this small.
                let n = Int((pitch / unit).rounded()), c = pitch / unit / 2, r = radius / unit, k = 4.0 / 3.0 * r
                let f = PDFNumber.format
                let s = "\(rgb) rg\n\(f(c + r)) \(f(c)) m \(f(c + r)) \(f(c + k)) \(f(c - r)) \(f(c + k)) \(f(c - r)) \(f(c)) c "
                    + "\(f(c - r)) \(f(c - k)) \(f(c + r)) \(f(c - k)) \(f(c + r)) \(f(c)) c f\n"
                return (n, Array(s.utf8))
            }
            dotStreams = [dot(pitch: Ground.finePitch, radius: Ground.fineRadius),
                          dot(pitch: Ground.coarsePitch, radius: Ground.coarseRadius)]
        case .wordMask:
            cell = "0 0 0 rg 0 0 0 RG " + pen + path + "B\n"
            dotStreams = []
        }
        let raw = Array(cell.utf8)
        if let packed = Deflate.compress(raw) { cellStream = packed; cellDeflated = true } else { cellStream = raw; cellDeflated = false }

        // Pattern space → page space: the cell is turned by `Ground.angle` on the page and counted in 0.1 mm, and
        // the page's default space has its origin at the bottom left in points (cairo's user space is mm, y down).
        let k = PDFCanvas.pointsPerMM, cosA = cos(Ground.angle), sinA = sin(Ground.angle)
        let f = PDFNumber.format
        matrix = "[ \(f(k * unit * cosA)) \(f(-k * unit * sinA)) \(f(-k * unit * sinA)) \(f(-k * unit * cosA)) 0 \(f(pageHeightMM * k)) ]"
        // Inside the frame, leaving the microtext its bands: the rectangle `CertificatePage.drawGround` names.
        let rect = "\(f(10 * k)) \(f(13.2 * k)) \(f((pageWidthMM - 20) * k)) \(f((pageHeightMM - 26.4) * k))"
        pageContent = ("/Artifact BMC q 1 0 0 -1 0 \(f(pageHeightMM * k)) cm /Pattern cs /", " scn \(rect) re f Q EMC\n")
    }

    /// The ground's objects for one document, numbered from `first`: the cell pattern (`pattern`, to put in
    /// page resources), the dot patterns, and the content stream each page puts before cairo's (`content`).
    /// `name` is the pattern's name in the page resources.
    func objects(first: Int, name: String) -> (objects: [(number: Int, bytes: [UInt8])], pattern: Int, content: Int) {
        // As cairo writes it: the pattern's own stream only paints a form XObject holding the cell (poppler then
        // rasterises it exactly as it did cairo's ground, which the reference test compares pixel by pixel).
        let pattern = first, content = first + 1, form = first + 2
        var out: [(number: Int, bytes: [UInt8])] = []
        let tile = " /x Do \n"
        out.append((pattern, Array("""
            << /Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1
               /BBox [ 0 0 \(cellWidth) \(cellHeight) ] /XStep \(cellWidth) /YStep \(cellHeight)
               /Matrix \(matrix)
               /Resources << /XObject << /x \(form) 0 R >> >>
               /Length \(tile.utf8.count)
            >>
            stream
            \(tile)endstream
            """.utf8)))
        let page = Array((pageContent.0 + name + pageContent.1).utf8)
        out.append((content, Array("<< /Length \(page.count) >>\nstream\n".utf8) + page + Array("endstream".utf8)))
        var resources = "<< >>"
        if dotStreams.count == 2 { resources = "<< /Pattern << /f \(first + 3) 0 R /c \(first + 4) 0 R >> >>" }
        var cell = Array("""
            << /Type /XObject /Subtype /Form /BBox [ 0 0 \(cellWidth) \(cellHeight) ]
               /Resources \(resources)
               /Length \(cellStream.count)\(cellDeflated ? " /Filter /FlateDecode" : "")
            >>
            stream\n
            """.utf8)
        cell += cellStream
        cell += Array("\nendstream".utf8)
        out.append((form, cell))
        for (i, d) in dotStreams.enumerated() {
            var o = Array("""
                << /Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1
                   /BBox [ 0 0 \(d.pitch) \(d.pitch) ] /XStep \(d.pitch) /YStep \(d.pitch)
                   /Matrix [ 1 0 0 1 0 0 ] /Resources << >> /Length \(d.content.count)
                >>
                stream\n
                """.utf8)
            o += d.content
            o += Array("endstream".utf8)
            out.append((first + 3 + i, o))
        }
        return (out, pattern, content)
    }

    /// Objects `objects(first:)` returns.
    var objectCount: Int { 3 + dotStreams.count }
}

/// Numbers as PDF writes them: at most six decimals, no trailing zeros (written once per ground at start-up;
/// the same formatting as the writer's `PDFBytes.append(_:decimals:)`).
enum PDFNumber {
    static func format(_ v: Double) -> String {
        var out = PDFBytes(capacity: 16)
        out.append(v, decimals: 6)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

/// The 公印 as a finished PDF image mask, built once when the renderer loads (like `PrebuiltGround`): cairo
/// converted the 320 × 320 one-bit plane and deflated it in every document (about 0.4 ms a page). Each page
/// that carries the seal paints it in its ink after cairo's content, exactly where `PDFCanvas.stamp` put it.
/// Immutable after `init`, so shared by concurrent renders.
struct PrebuiltSeal: Sendable {
    /// Where the seal goes on a page: its top-left corner and width in mm.
    struct Placement: Sendable, Equatable { var x: Double; var y: Double; var width: Double }

    let imageObject: [UInt8]
    let width: Int, height: Int
    let ink: String

    static let resourceName = "KofuSeal"

    /// `plane` in cairo's A1 layout (`SealImage`), `width` × `height` pixels, `stride` bytes a row.
    init(plane: UnsafeMutableBufferPointer<UInt8>, width: Int, height: Int, stride: Int,
         ink: (red: Double, green: Double, blue: Double)) {
        self.width = width
        self.height = height
        let f = PDFNumber.format
        self.ink = "\(f(ink.red)) \(f(ink.green)) \(f(ink.blue))"
        // PDF image rows: one bit a pixel, the first pixel in the highest bit, each row padded to a byte.
        let rowBytes = (width + 7) / 8
        var bits = [UInt8](repeating: 0, count: rowBytes * height)
        let littleEndian = (1 as UInt32).littleEndian == 1
        plane.withMemoryRebound(to: UInt32.self) { words in
            for y in 0..<height {
                for x in 0..<width {
                    let word = words[y * stride / 4 + x / 32]
                    let bit = littleEndian ? x & 31 : 31 - (x & 31)
                    if (word >> UInt32(bit)) & 1 == 1 { bits[y * rowBytes + x / 8] |= UInt8(0x80) >> UInt8(x & 7) }
                }
            }
        }
        let packed = Deflate.compress(bits)
        // As cairo writes it: 1 = ink (`/Decode [1 0]`), smoothed when scaled (CAIRO_FILTER_GOOD).
        var object = Array("""
            << /Type /XObject /Subtype /Image /ImageMask true /Width \(width) /Height \(height)
               /Interpolate true /BitsPerComponent 1 /Decode [1 0]
               /Length \((packed ?? bits).count)\(packed != nil ? " /Filter /FlateDecode" : "")
            >>
            stream\n
            """.utf8)
        object += packed ?? bits
        object += Array("\nendstream".utf8)
        imageObject = object
    }

    /// The page content that paints the seal at `p` (from the page's default space: points, y up).
    func content(_ p: Placement, name: String) -> String {
        var out = PDFBytes(capacity: 128)
        append(p, name: name, to: &out)
        return String(decoding: out.bytes, as: UTF8.self)
    }

    func append(_ p: Placement, name: String, to out: inout PDFBytes) {
        let k = PDFCanvas.pointsPerMM
        let w = p.width * k, h = p.width * Double(height) / Double(width) * k
        out.append("/Artifact BMC q " as StaticString)
        out.append(ink)
        out.append(" rg" as StaticString)
        out.space(w, decimals: 6); out.append(" 0 0" as StaticString); out.space(h, decimals: 6)
        out.space(p.x * k, decimals: 6); out.space((pageHeightMM - p.y) * k - h, decimals: 6)
        out.append(" cm /" as StaticString)
        out.append(name)
        out.append(" Do Q EMC\n" as StaticString)
    }
}
