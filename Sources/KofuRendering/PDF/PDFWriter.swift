/// Writes a certificate PDF directly: what every render uses (issue #17).
///
/// Drawn through cairo, a page cost 4–5 ms of CPU, most of it on work that is the same for every certificate:
/// the 地紋 and 公印 (now `PrebuiltGround`, `PrebuiltSeal`), the font program of the template's own characters
/// (now `PrebuiltFont`, one per kind), printf-style number formatting and deflating the lot. This writer copies
/// those finished objects in and writes only what the certificate adds: its page content (text as two-byte
/// glyph codes, rules, tints), a small font subset for the characters the template does not have (names,
/// addresses), the QR as a one-bit image, and the structure tree.
///
/// What it writes is what cairo wrote for the same calls (`PDFCanvas`, the reference): the same glyphs at the
/// same positions, the same rules, tints, patterns and images, the same tags. `WriterReferenceTests` compares the
/// two pixel by pixel and by extracted text; `PDFWriterTests` checks the file's structure.
///
/// One per render, never shared between threads.
final class PDFWriter: PageCanvas {
    let glyphs: GlyphMap
    private let font: TrueTypeFont
    private let seal: PrebuiltSeal
    private let deflater: Deflater
    private var doc: ObjectSink
    private let title: String

    // Document-wide objects.
    private let catalog: Int, pagesRoot: Int, info: Int, structRoot: Int
    private var pages: [Int] = []
    /// The characters that are in none of the prebuilt fonts, in the order first drawn (CID = index + 1).
    private var extraScalars: [Unicode.Scalar] = []
    private var extraCIDs: [UInt32: UInt16] = [:]
    private var extraNumbers: EmbeddedFont.Numbers?
    private var prebuiltFonts: [(font: PrebuiltFont, numbers: EmbeddedFont.Numbers)] = []
    private var grounds: [(ground: PrebuiltGround, pattern: Int, content: Int)] = []
    private var sealImage: Int?

    // The certificate being drawn.
    private var currentFont: PrebuiltFont?
    private var currentFontSlot = 0

    // The page being drawn.
    private var page: PageState?

    // The structure tree: element 0 is the document.
    private var elements: [Element] = [Element(name: "Document", parent: -1)]
    private var open: [Int] = [0]
    /// Per page: the element each marked-content id belongs to (the parent tree).
    private var pageMarks: [[Int]] = []

    /// A structure element and what it holds, in reading order.
    private struct Element {
        enum Kid { case element(Int), marked(page: Int, mcid: Int) }
        let name: String
        let parent: Int
        var kids: [Kid] = []
        init(name: String, parent: Int) { self.name = name; self.parent = parent }
    }

    /// What is open in the content stream.
    private enum Marked: Equatable { case none, artifact, tagged(element: Int) }

    private struct PageState {
        let number: Int
        let index: Int
        var content = PDFBytes(capacity: 24 * 1024)
        /// Inside `q <mm> cm` (the certificate's coordinates: mm, origin top left, y down).
        var millimetres = false
        var marked = Marked.none
        var mcids = 0
        /// Graphics state written so far inside the current `q`, to leave out repeats.
        var fill: (Double, Double, Double)?
        var textFont = -1
        var textSize = -1.0
        var charSpacing = 0.0
        var fonts: Set<Int> = []
        var usesExtraFont = false
        var patterns: [(name: String, number: Int)] = []
        var images: [(name: String, number: Int)] = []
        var alphas: [Double] = []
        /// Streams painted before the page's own content (the prebuilt ground).
        var underlays: [Int] = []
        init(number: Int, index: Int) { self.number = number; self.index = index }
    }

    /// Deflate level for what is compressed per request (page content, the certificate's own font subset):
    /// level 1 is about twice as fast as zlib's default and costs a few per cent in size on this text.
    static let requestLevel: Int32 = 1

    init(glyphs: GlyphMap, font: TrueTypeFont, seal: PrebuiltSeal, title: String, deflater: Deflater) {
        self.glyphs = glyphs
        self.font = font
        self.seal = seal
        self.title = title
        self.deflater = deflater
        doc = ObjectSink(capacity: 96 * 1024)
        doc.out.append("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n")
        catalog = doc.allocate()
        pagesRoot = doc.allocate()
        info = doc.allocate()
        structRoot = doc.allocate()
    }

    /// The prebuilt subset for the characters of the certificate drawn next (its kind's template).
    func use(_ font: PrebuiltFont) {
        if let slot = prebuiltFonts.firstIndex(where: { $0.font === font }) {
            currentFontSlot = slot
        } else {
            prebuiltFonts.append((font, EmbeddedFont.Numbers { doc.allocate() }))
            currentFontSlot = prebuiltFonts.count - 1
        }
        currentFont = font
    }

    // MARK: Pages

    private func beginPageIfNeeded() {
        guard page == nil else { return }
        page = PageState(number: doc.allocate(), index: pages.count)
        pageMarks.append([])
    }

    func showPage() throws {
        beginPageIfNeeded()
        leaveMillimetres()
        guard var p = page else { return }
        let content = doc.allocate()
        doc.begin(content)
        doc.out.appendStream(p.content.bytes, deflater: deflater)
        doc.end()
        p.content = PDFBytes()
        doc.begin(p.number)
        doc.out.append("<< /Type /Page /Parent \(pagesRoot) 0 R /MediaBox [ 0 0 595.275591 841.889764 ] /Contents [\(p.underlays.map { " \($0) 0 R" }.joined()) \(content) 0 R ] /StructParents \(p.index) /Tabs /S\n/Resources <<")
        if !p.fonts.isEmpty || p.usesExtraFont {
            doc.out.append(" /Font <<" as StaticString)
            for slot in p.fonts.sorted() { doc.out.append(" /F\(slot) \(prebuiltFonts[slot].numbers.font) 0 R") }
            if p.usesExtraFont { doc.out.append(" /E \(extraFontNumbers().font) 0 R") }
            doc.out.append(" >>" as StaticString)
        }
        if !p.patterns.isEmpty {
            doc.out.append(" /Pattern <<" as StaticString)
            for (name, number) in p.patterns { doc.out.append(" /\(name) \(number) 0 R") }
            doc.out.append(" >>" as StaticString)
        }
        if !p.images.isEmpty {
            doc.out.append(" /XObject <<" as StaticString)
            for (name, number) in p.images { doc.out.append(" /\(name) \(number) 0 R") }
            doc.out.append(" >>" as StaticString)
        }
        if !p.alphas.isEmpty {
            doc.out.append(" /ExtGState <<" as StaticString)
            for (i, a) in p.alphas.enumerated() {
                doc.out.append(" /A\(i) << /ca ")
                doc.out.append(a, decimals: 4)
                doc.out.append(" >>" as StaticString)
            }
            doc.out.append(" >>" as StaticString)
        }
        doc.out.append(" >> >>" as StaticString)
        doc.end()
        pages.append(p.number)
        page = nil
    }

    private func extraFontNumbers() -> EmbeddedFont.Numbers {
        if let extraNumbers { return extraNumbers }
        let n = EmbeddedFont.Numbers { doc.allocate() }
        extraNumbers = n
        return n
    }

    /// Enters the certificate's coordinates (mm, y down) for what follows.
    private func enterMillimetres() {
        beginPageIfNeeded()
        guard !page!.millimetres else { return }
        closeMarked()
        page!.content.append("q 2.834646 0 0 -2.834646 0 841.889764 cm\n" as StaticString)
        page!.millimetres = true
    }

    /// Back to the page's default space (points, y up), where the prebuilt ground and seal are placed.
    private func leaveMillimetres() {
        guard page?.millimetres == true else { closeMarked(); return }
        closeMarked()
        page!.content.append("Q\n" as StaticString)
        page!.millimetres = false
        page!.fill = nil
        page!.textFont = -1
        page!.textSize = -1
        page!.charSpacing = 0
    }

    // MARK: Marked content (tags and artifacts)

    private func closeMarked() {
        guard page != nil, page!.marked != .none else { return }
        page!.content.append("EMC\n" as StaticString)
        page!.marked = .none
    }

    /// What follows is decoration (rules, tints, ground, seal, QR): outside the structure tree.
    private func artifact() {
        if page!.marked == .artifact { return }
        closeMarked()
        page!.content.append("/Artifact BMC\n" as StaticString)
        page!.marked = .artifact
    }

    /// What follows belongs to the innermost open structure element (or is an artifact outside any).
    private func taggedContent() {
        let element = open.last!
        guard element != 0 else { artifact(); return }
        if page!.marked == .tagged(element: element) { return }
        closeMarked()
        let mcid = page!.mcids
        page!.mcids += 1
        pageMarks[page!.index].append(element)
        elements[element].kids.append(.marked(page: page!.index, mcid: mcid))
        page!.content.append(UInt8(ascii: "/"))
        page!.content.append(elements[element].name)
        page!.content.append(" << /MCID " as StaticString)
        page!.content.append(mcid)
        page!.content.append(" >> BDC\n" as StaticString)
        page!.marked = .tagged(element: element)
    }

    func beginTag(_ name: String) {
        if page != nil, case .tagged = page!.marked { closeMarked() }
        let index = elements.count
        elements.append(Element(name: name, parent: open.last!))
        elements[open.last!].kids.append(.element(index))
        open.append(index)
    }

    func endTag(_ name: String) {
        precondition(open.count > 1 && elements[open.last!].name == name, "unbalanced structure tags")
        if page != nil, case .tagged = page!.marked { closeMarked() }
        open.removeLast()
    }

    // MARK: Text

    func setColor(_ r: Double, _ g: Double, _ b: Double) {
        enterMillimetres()
        if let f = page!.fill, f == (r, g, b) { return }
        page!.content.append(r, decimals: 4); page!.content.space(g, decimals: 4); page!.content.space(b, decimals: 4)
        page!.content.append(" rg\n" as StaticString)
        page!.fill = (r, g, b)
    }

    /// The font slot (`F<n>` for prebuilt fonts, -1 for the document's own) and CID of `scalar`.
    @inline(__always) private func code(_ scalar: Unicode.Scalar) -> (slot: Int, cid: UInt16) {
        if let currentFont {
            let cid = currentFont.cid(scalar)
            if cid != 0 { return (currentFontSlot, cid) }
        }
        if let cid = extraCIDs[scalar.value] { return (-1, cid) }
        extraScalars.append(scalar)
        let cid = UInt16(extraScalars.count)
        extraCIDs[scalar.value] = cid
        return (-1, cid)
    }

    func show(_ s: String, x: Double, y: Double, sizeMM: Double, letterSpacing: Double) {
        enterMillimetres()
        taggedContent()
        var c = page!.content
        page!.content = PDFBytes()
        c.append("BT\n" as StaticString)
        if letterSpacing != page!.charSpacing {
            c.append(letterSpacing, decimals: 4)
            c.append(" Tc\n" as StaticString)
            page!.charSpacing = letterSpacing
        }
        c.append("1 0 0 -1" as StaticString)
        c.space(x); c.space(y)
        c.append(" Tm\n" as StaticString)
        var runSlot = Int.min
        for scalar in s.unicodeScalars {
            let (slot, cid) = code(scalar)
            if slot != runSlot {
                if runSlot != Int.min { c.append("> Tj\n" as StaticString) }
                if slot != page!.textFont || sizeMM != page!.textSize {
                    if slot >= 0 { c.append(" /F" as StaticString); c.append(slot); page!.fonts.insert(slot) } else {
                        c.append(" /E" as StaticString); page!.usesExtraFont = true
                    }
                    c.space(sizeMM, decimals: 4)
                    c.append(" Tf " as StaticString)
                    page!.textFont = slot
                    page!.textSize = sizeMM
                }
                c.append(UInt8(ascii: "<"))
                runSlot = slot
            }
            c.appendHex16(cid)
        }
        if runSlot != Int.min { c.append("> Tj\n" as StaticString) }
        c.append("ET\n" as StaticString)
        page!.content = c
    }

    func repeatedText(_ unit: String, count: Int, x: Double, baselines: [Double], points: Double) {
        let sizeMM = PDFCanvas.mm(points: points)
        let unitWidth = width(of: unit, points: points)
        guard unitWidth > 0, count > 0 else { return }
        enterMillimetres()
        // As `PDFCanvas.repeatedText`: a tiling pattern one unit wide holding the unit once, one per line.
        let ascent = sizeMM * 0.9, cellHeight = sizeMM * 1.05
        var cell = PDFBytes(capacity: 64 + 4 * unit.unicodeScalars.count)
        if let f = page!.fill {
            cell.append(f.0, decimals: 4); cell.space(f.1, decimals: 4); cell.space(f.2, decimals: 4); cell.append(" rg " as StaticString)
        }
        cell.append("BT" as StaticString)
        var runSlot = Int.min
        var slots: Set<Int> = []
        for scalar in unit.unicodeScalars {
            let (slot, cid) = code(scalar)
            if slot != runSlot {
                if runSlot != Int.min { cell.append("> Tj" as StaticString) }
                if slot >= 0 { cell.append(" /F" as StaticString); cell.append(slot) } else { cell.append(" /E" as StaticString) }
                cell.space(sizeMM, decimals: 4)
                cell.append(" Tf" as StaticString)
                if runSlot == Int.min { cell.append(" 1 0 0 -1 0" as StaticString); cell.space(ascent, decimals: 4); cell.append(" Tm" as StaticString) }
                cell.append(" <" as StaticString)
                runSlot = slot
                slots.insert(slot)
            }
            cell.appendHex16(cid)
        }
        cell.append("> Tj ET\n" as StaticString)
        artifact()
        let k = PDFCanvas.pointsPerMM
        for baseline in baselines {
            let top = baseline - ascent
            let number = doc.allocate()
            let name = "M\(page!.patterns.count)"
            page!.patterns.append((name, number))
            doc.begin(number)
            var dict = PDFBytes(capacity: 256)
            dict.append(" /Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1 /BBox [ 0 0" as StaticString)
            dict.space(unitWidth, decimals: 4); dict.space(cellHeight, decimals: 4)
            dict.append(" ] /XStep" as StaticString); dict.space(unitWidth, decimals: 4)
            dict.append(" /YStep" as StaticString); dict.space(cellHeight, decimals: 4)
            dict.append(" /Matrix [" as StaticString)
            dict.space(k, decimals: 6); dict.append(" 0 0" as StaticString); dict.space(-k, decimals: 6)
            dict.space(x * k, decimals: 4); dict.space((pageHeightMM - top) * k, decimals: 4)
            dict.append(" ] /Resources << /Font <<" as StaticString)
            for slot in slots.sorted() {
                if slot >= 0 { dict.append(" /F\(slot) \(prebuiltFonts[slot].numbers.font) 0 R") } else {
                    dict.append(" /E \(extraFontNumbers().font) 0 R")
                }
            }
            dict.append(" >> >>" as StaticString)
            doc.out.appendPrepared(cell.bytes, deflated: false, extra: String(decoding: dict.bytes, as: UTF8.self))
            doc.end()
            page!.content.append("/Pattern cs /\(name) scn ")
            page!.content.append(x); page!.content.space(top); page!.content.space(unitWidth * Double(count)); page!.content.space(cellHeight)
            page!.content.append(" re f\n" as StaticString)
        }
        page!.fill = nil
    }

    // MARK: Shapes

    private func strokeWidth(_ points: Double) {
        page!.content.append(PDFCanvas.mm(points: points), decimals: 4)
        page!.content.append(" w " as StaticString)
    }

    func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stroke: Double?, fill: (Double, Double, Double)?) {
        enterMillimetres()
        artifact()
        if let fill { setColor(fill.0, fill.1, fill.2) }
        if let stroke { strokeWidth(stroke); page!.content.append("0 0 0 RG " as StaticString) }
        page!.content.append(x); page!.content.space(y); page!.content.space(w); page!.content.space(h)
        let op: StaticString = fill == nil ? " re S\n" : stroke == nil ? " re f\n" : " re B\n"
        page!.content.append(op)
    }

    func tint(_ x: Double, _ y: Double, _ w: Double, _ h: Double, shade: Double) {
        enterMillimetres()
        artifact()
        var index = page!.alphas.firstIndex(of: shade) ?? -1
        if index < 0 { page!.alphas.append(shade); index = page!.alphas.count - 1 }
        page!.content.append("q /A\(index) gs 0 0 0 rg ")
        page!.content.append(x); page!.content.space(y); page!.content.space(w); page!.content.space(h)
        page!.content.append(" re f Q\n" as StaticString)
    }

    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, points: Double) {
        enterMillimetres()
        artifact()
        strokeWidth(points)
        page!.content.append("0 0 0 RG " as StaticString)
        page!.content.append(x1); page!.content.space(y1); page!.content.append(" m " as StaticString)
        page!.content.append(x2); page!.content.space(y2); page!.content.append(" l S\n" as StaticString)
    }

    // MARK: Ground, seal, QR

    func ground(_ element: GroundElement, word: WordOutline, prebuilt: PrebuiltGround?) throws {
        guard let prebuilt else { throw RenderError.cairo(status: "no prebuilt ground") }
        beginPageIfNeeded()
        let slot: Int
        if let k = grounds.firstIndex(where: { $0.ground === prebuilt }) { slot = k } else {
            let name = "\(PrebuiltGround.resourceName)\(grounds.count)"
            let first = doc.allocate()
            for _ in 1..<prebuilt.objectCount { _ = doc.allocate() }
            let made = prebuilt.objects(first: first, name: name)
            for object in made.objects { doc.begin(object.number); doc.out.append(object.bytes); doc.end() }
            grounds.append((prebuilt, made.pattern, made.content))
            slot = grounds.count - 1
        }
        // The ground's own stream comes first in the page's /Contents: under everything.
        page!.underlays.append(grounds[slot].content)
        page!.patterns.append(("\(PrebuiltGround.resourceName)\(slot)", grounds[slot].pattern))
    }

    func seal(at placement: PrebuiltSeal.Placement) throws {
        beginPageIfNeeded()
        leaveMillimetres()
        let image: Int
        if let sealImage { image = sealImage } else {
            image = doc.allocate()
            doc.begin(image); doc.out.append(seal.imageObject); doc.end()
            sealImage = image
        }
        seal.append(placement, name: PrebuiltSeal.resourceName, to: &page!.content)
        page!.images.append((PrebuiltSeal.resourceName, image))
    }

    func qr(_ text: String, x: Double, y: Double, size: Double) throws {
        let symbol = try QRSymbol.encode(text)
        let n = symbol.width, quiet = 4, total = n + 2 * quiet
        let rowBytes = (total + 7) / 8
        var bits = [UInt8](repeating: 0, count: rowBytes * total)
        symbol.dark.withUnsafeBufferPointer { modules in
            for r in 0..<n {
                let row = (r + quiet) * rowBytes
                for c in 0..<n where modules[r * n + c] == 1 {
                    let x = c + quiet
                    bits[row + x / 8] |= UInt8(0x80) >> UInt8(x & 7)
                }
            }
        }
        let image = doc.allocate()
        doc.begin(image)
        // One bit a module, about 600 bytes: deflate would save a few per cent of that.
        doc.out.appendStream(bits, extra: " /Type /XObject /Subtype /Image /Width \(total) /Height \(total) /ImageMask true /BitsPerComponent 1 /Decode [ 1 0 ] /Interpolate false", deflater: nil)
        doc.end()
        enterMillimetres()
        artifact()
        let name = "Q\(page!.images.count)"
        page!.images.append((name, image))
        var c = page!.content
        page!.content = PDFBytes()
        c.append("q 1 1 1 rg " as StaticString)
        c.append(x); c.space(y); c.space(size); c.space(size)
        c.append(" re f 0 0 0 rg " as StaticString)
        c.append(size); c.append(" 0 0" as StaticString); c.space(-size); c.space(x); c.space(y + size)
        c.append(" cm /\(name) Do Q\n")
        page!.content = c
    }

    // MARK: The document

    func finish() throws -> [UInt8] {
        if page != nil { try showPage() }
        precondition(open.count == 1, "structure tags left open")
        // Fonts.
        for (font, numbers) in prebuiltFonts { font.font.write(to: &doc, numbers: numbers) }
        if let extraNumbers {
            // Not deflated: glyph outlines shrink by only a fifth (3.5 → 2.9 KB for a name and an address), and
            // zlib took 0.1 ms for it, a tenth of the page.
            let extra = try EmbeddedFont(tag: "KOFUZZ", scalars: extraScalars, glyphs: glyphs, font: font, deflater: nil)
            extra.write(to: &doc, numbers: extraNumbers)
        }
        // The structure tree: one object per element.
        var numbers = [Int](repeating: 0, count: elements.count)
        for i in elements.indices { numbers[i] = doc.allocate() }
        for (i, element) in elements.enumerated() {
            doc.begin(numbers[i])
            // `/Type /StructElem` is optional (ISO 32000-1 table 323): 17 bytes × ~170 elements a page left out.
            doc.out.append("<< /S /" as StaticString)
            doc.out.append(element.name)
            doc.out.append(" /P " as StaticString)
            doc.out.reference(element.parent < 0 ? structRoot : numbers[element.parent])
            var home: Int?
            for case .marked(let p, _) in element.kids { home = p; break }
            if let home { doc.out.append(" /Pg " as StaticString); doc.out.reference(pages[home]) }
            doc.out.append(" /K [" as StaticString)
            for kid in element.kids {
                doc.out.append(UInt8(ascii: " "))
                switch kid {
                case .element(let e): doc.out.reference(numbers[e])
                case .marked(let p, let mcid) where p == home: doc.out.append(mcid)
                case .marked(let p, let mcid):
                    doc.out.append("<< /Type /MCR /Pg " as StaticString)
                    doc.out.reference(pages[p])
                    doc.out.append(" /MCID " as StaticString)
                    doc.out.append(mcid)
                    doc.out.append(" >>" as StaticString)
                }
            }
            doc.out.append(" ] >>" as StaticString)
            doc.end()
        }
        doc.begin(structRoot)
        doc.out.append("<< /Type /StructTreeRoot /K \(numbers[0]) 0 R /ParentTree << /Nums [")
        for (p, marks) in pageMarks.enumerated() {
            doc.out.append(UInt8(ascii: " "))
            doc.out.append(p)
            doc.out.append(" [" as StaticString)
            for e in marks { doc.out.append(UInt8(ascii: " ")); doc.out.reference(numbers[e]) }
            doc.out.append(" ]" as StaticString)
        }
        doc.out.append(" ] >> /ParentTreeNextKey \(pageMarks.count) >>")
        doc.end()
        doc.begin(pagesRoot)
        doc.out.append("<< /Type /Pages /Kids [")
        for p in pages { doc.out.append(" \(p) 0 R") }
        doc.out.append(" ] /Count \(pages.count) >>")
        doc.end()
        doc.begin(info)
        doc.out.append("<< /Title " as StaticString)
        doc.out.appendTextString(title)
        doc.out.append(" /Creator (Kofu) /Producer (Kofu) >>" as StaticString)
        doc.end()
        doc.begin(catalog)
        doc.out.append("<< /Type /Catalog /Pages \(pagesRoot) 0 R /StructTreeRoot \(structRoot) 0 R /MarkInfo << /Marked true >> /Lang (ja) >>")
        doc.end()
        doc.finish(root: catalog, info: info)
        return doc.out.bytes
    }
}
