/// What `CertificatePage` draws on: millimetres, origin at the top left of an A4 page, y downwards.
///
/// Two implementations. `PDFWriter` writes the PDF itself and is what every render uses: the ground, the 公印
/// and the fonts' static glyphs are finished PDF objects built once at load, so a page costs only its own
/// text, rules and QR. `PDFCanvas` draws the same calls through cairo; it is the reference the writer's pages
/// are compared with, pixel by pixel and by extracted text (`WriterReferenceTests`).
protocol PageCanvas: AnyObject {
    /// The font's character map and advances (shared by both canvases, so their layout is identical).
    var glyphs: GlyphMap { get }

    /// Shows `text` as one run of glyphs with its first baseline point at (x, y), the font `sizeMM` high,
    /// `letterSpacing` mm after each character.
    func show(_ text: String, x: Double, y: Double, sizeMM: Double, letterSpacing: Double)
    func setColor(_ r: Double, _ g: Double, _ b: Double)

    /// `unit` drawn `count` times side by side from `x` on each baseline in `baselines`, in the current colour,
    /// as part of the 地紋 (a text extractor does not read it): the microtext lines.
    func repeatedText(_ unit: String, count: Int, x: Double, baselines: [Double], points: Double)

    func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stroke: Double?, fill: (Double, Double, Double)?)
    /// Darkens a cell by `shade` (0–1) without hiding what lies under it: black at that opacity, so the 地紋
    /// under a table header or a grid's label column stays visible.
    func tint(_ x: Double, _ y: Double, _ w: Double, _ h: Double, shade: Double)
    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, points: Double)

    /// The 地紋 (`element`, its word outlined as `word`) under the whole page: drawn first.
    func ground(_ element: GroundElement, word: WordOutline, prebuilt: PrebuiltGround?) throws
    /// The 公印 at `placement`, in its ink.
    func seal(at placement: PrebuiltSeal.Placement) throws
    /// The QR code of `text` (error correction M) with its quiet zone, `size` mm square, on a white square.
    func qr(_ text: String, x: Double, y: Double, size: Double) throws

    /// Opens a structure element (`P`, `H1`, `Table`, `TR`, `TH`, `TD`) around what is drawn until the matching
    /// `endTag`: the PDF's structure tree, which screen readers follow.
    func beginTag(_ name: String)
    func endTag(_ name: String)

    func showPage() throws
    /// Finishes the document and returns its bytes.
    func finish() throws -> [UInt8]
}

extension PageCanvas {
    /// `body` inside the structure element `name`.
    func tagged<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        beginTag(name)
        defer { endTag(name) }
        return try body()
    }

    /// Width of `text` in mm at `points`.
    func width(of text: String, points: Double) -> Double { glyphs.advance(of: text) * PDFCanvas.mm(points: points) }

    /// Draws one line of text with its baseline at `y`. When `maxWidth` is given and the text is wider, the
    /// font shrinks to fit (never below half size); it is never cut.
    func text(_ s: String, x: Double, y: Double, points: Double, align: Alignment = .left,
              maxWidth: Double? = nil, letterSpacing: Double = 0) {
        guard !s.isEmpty else { return }
        var size = PDFCanvas.mm(points: points)
        let spacing = letterSpacing > 0 ? letterSpacing * Double(max(0, s.count - 1)) : 0
        let ems = glyphs.advance(of: s)
        var w = ems * size + spacing
        if let maxWidth, w > maxWidth, w > 0 {
            size = PDFCanvas.mm(points: max(points * 0.5, points * maxWidth / w))
            w = ems * size + spacing
        }
        let startX: Double = switch align {
        case .left: x
        case .center: x - w / 2
        case .right: x - w
        }
        show(s, x: startX, y: y, sizeMM: size, letterSpacing: max(0, letterSpacing))
    }

    /// Splits `s` into lines no wider than `width`, with kinsoku: no line starts with closing punctuation or a
    /// small kana (it hangs at the end of the previous line instead), none ends with an opening bracket.
    func wrap(_ s: String, width maxWidth: Double, points: Double) -> [String] {
        let size = PDFCanvas.mm(points: points)
        var lines: [String] = []
        var line = ""
        var lineWidth = 0.0
        for ch in s {
            if ch == "\n" { lines.append(line); line = ""; lineWidth = 0; continue }
            let w = glyphs.advance(of: String(ch)) * size
            if lineWidth + w > maxWidth, !line.isEmpty, !RenderText.noLineStart.contains(ch) {
                var carry = ""
                while let last = line.last, RenderText.noLineEnd.contains(last) {
                    carry.insert(last, at: carry.startIndex); line.removeLast()
                }
                lines.append(line)
                line = carry
                lineWidth = glyphs.advance(of: carry) * size
            }
            line.append(ch)
            lineWidth += w
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }
}
