import CCairo
import CQRencode

/// Collects the PDF bytes cairo writes; the document never touches the file system.
final class PDFSink {
    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(64 * 1024) }
}

/// One PDF document being drawn: owns the cairo surface and context, in millimetres with the origin at the
/// top left. Created per `render` call and never shared between threads.
final class PDFCanvas {
    private let sink = PDFSink()
    private let surface: OpaquePointer
    let cr: OpaquePointer
    private let font: FontInstance
    let glyphs: GlyphMap
    /// The current font size in millimetres (user space), as last given to cairo.
    private var fontSizeMM = 1.0
    /// The 地紋 pattern of each ground drawn in this document, built on first use: cairo then writes its
    /// outlines and dot cells once per document, however many pages and certificates use it.
    private var groundPatterns: [String: OpaquePointer] = [:]
    /// Pages (0-based) that get a prebuilt 地紋 under them when the document is finished (`PrebuiltGround`).
    private var prebuiltGrounds: [Int: PrebuiltGround] = [:]
    /// Pages (0-based) that get the prebuilt 公印 painted after their content (`PrebuiltSeal`).
    private var prebuiltSeals: [Int: (PrebuiltSeal, PrebuiltSeal.Placement)] = [:]
    /// Pages shown so far.
    private var pagesShown = 0

    static let pointsPerMM = 72.0 / 25.4

    init(font: FontInstance, glyphs: GlyphMap, title: String) throws {
        self.font = font
        self.glyphs = glyphs
        let write: cairo_write_func_t = { closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<PDFSink>.fromOpaque(closure).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }
        guard let s = cairo_pdf_surface_create_for_stream(write, Unmanaged.passUnretained(sink).toOpaque(),
                                                           pageWidthMM * Self.pointsPerMM, pageHeightMM * Self.pointsPerMM)
        else { throw RenderError.cairo(status: "no PDF surface") }
        surface = s
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "Kofu")
        guard let c = cairo_create(s) else {
            cairo_surface_destroy(s)
            throw RenderError.cairo(status: "no context")
        }
        cr = c
        cairo_scale(cr, Self.pointsPerMM, Self.pointsPerMM)
        cairo_set_font_face(cr, font.cairoFace)
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
        try check()
    }

    deinit {
        for pattern in groundPatterns.values { cairo_pattern_destroy(pattern) }
        cairo_destroy(cr)
        cairo_surface_destroy(surface)
    }

    func check() throws {
        let status = cairo_status(cr)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo(status: String(cString: cairo_status_to_string(status))) }
    }

    func showPage() {
        cairo_show_page(cr)
        pagesShown += 1
    }

    /// Puts `ground` under the page being drawn (added to the PDF by `finish`, not drawn through cairo).
    func prebuiltGround(_ ground: PrebuiltGround) { prebuiltGrounds[pagesShown] = ground }

    /// Paints `seal` at `placement` on the page being drawn, after everything else on it (added by `finish`).
    func prebuiltSeal(_ seal: PrebuiltSeal, at placement: PrebuiltSeal.Placement) { prebuiltSeals[pagesShown] = (seal, placement) }

    /// Finishes the document and returns its bytes.
    func finish() throws -> [UInt8] {
        try check()
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo(status: String(cString: cairo_status_to_string(status))) }
        do {
            return try DocumentLanguage.set("ja", in: sink.bytes, grounds: prebuiltGrounds, seals: prebuiltSeals)
        } catch DocumentLanguage.Failure.unrecognisedPDF(let problem) {
            throw RenderError.cairo(status: "setting /Lang: \(problem)")
        }
    }

    /// The ground pattern for `g` in this document (see `Ground`).
    func groundPattern(_ g: GroundElement, outline: WordOutline, mode: GroundMode) -> OpaquePointer {
        let key = "\(g.warning)|\(g.warningSize)|\(g.gray)|\(mode)"
        if let p = groundPatterns[key] { return p }
        let p = Ground.pattern(outline: outline, ink: g.gray, mode: mode)
        groundPatterns[key] = p
        return p
    }

    // MARK: Text

    static func mm(points: Double) -> Double { points / pointsPerMM }

    func setFont(points: Double) {
        fontSizeMM = Self.mm(points: points)
        cairo_set_font_size(cr, fontSizeMM)
    }

    /// Width of `text` in mm at the current font size.
    func width(of text: String) -> Double { glyphs.advance(of: text) * fontSizeMM }

    func setColor(_ r: Double, _ g: Double, _ b: Double) { cairo_set_source_rgb(cr, r, g, b) }

    /// Draws one line of text with its baseline at `y`. When `maxWidth` is given and the text is wider, the
    /// font shrinks to fit (never below half size); it is never cut.
    func text(_ s: String, x: Double, y: Double, points: Double, align: Alignment = .left,
              maxWidth: Double? = nil, letterSpacing: Double = 0) {
        guard !s.isEmpty else { return }
        setFont(points: points)
        let spacing = letterSpacing > 0 ? letterSpacing * Double(max(0, s.count - 1)) : 0
        var w = width(of: s) + spacing
        if let maxWidth, w > maxWidth, w > 0 {
            let scaled = max(points * 0.5, points * maxWidth / w)
            setFont(points: scaled)
            w = width(of: s) + spacing
        }
        let startX: Double = switch align {
        case .left: x
        case .center: x - w / 2
        case .right: x - w
        }
        show(s, x: startX, y: y, letterSpacing: max(0, letterSpacing))
    }

    /// Shows `s` from (x, y) as positioned glyphs with one cluster per scalar, so the PDF keeps the text
    /// (ToUnicode) exactly as cairo_show_text would write it. `letterSpacing` mm follows each character.
    /// `context` is the page's unless given (the microtext's pattern tile).
    private func show(_ s: String, x: Double, y: Double, letterSpacing: Double, on context: OpaquePointer? = nil) {
        let utf8 = Array(s.utf8)
        var glyphArray = [cairo_glyph_t]()
        var clusters = [cairo_text_cluster_t]()
        glyphArray.reserveCapacity(utf8.count)
        clusters.reserveCapacity(utf8.count)
        var cx = x
        for ch in s {
            for scalar in ch.unicodeScalars {
                let g = glyphs[scalar]
                glyphArray.append(cairo_glyph_t(index: UInt(g.index), x: cx, y: y))
                clusters.append(cairo_text_cluster_t(num_bytes: Int32(UTF8.width(scalar)), num_glyphs: 1))
                cx += g.advance * fontSizeMM
            }
            cx += letterSpacing
        }
        cairo_show_text_glyphs(context ?? cr, utf8, Int32(utf8.count), glyphArray, Int32(glyphArray.count),
                               clusters, Int32(clusters.count), cairo_text_cluster_flags_t(rawValue: 0))
    }

    /// `unit` drawn `count` times side by side from `x` on each baseline in `baselines`, in the current colour:
    /// the 地紋's microtext lines. The unit is drawn once into a PDF tiling pattern and each line is a rectangle
    /// filled with it, so a line of a few hundred tiny characters costs the page a handful of operators. Like
    /// the dot patterns it is part of the ground, not of the certificate's text (a text extractor skips it).
    func repeatedText(_ unit: String, count: Int, x: Double, baselines: [Double], points: Double) {
        setFont(points: points)
        let unitWidth = width(of: unit)
        guard unitWidth > 0, count > 0 else { return }
        // BIZ UDMincho: ascent 0.879 em, descent 0.120 em; the cell holds both with a little room.
        let ascent = fontSizeMM * 0.9, cellHeight = fontSizeMM * 1.05
        var extents = cairo_rectangle_t(x: 0, y: 0, width: unitWidth, height: cellHeight)
        guard let tile = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents) else { return }
        let tcr = cairo_create(tile)!
        cairo_set_font_face(tcr, font.cairoFace)
        let options = cairo_font_options_create()
        cairo_get_font_options(cr, options)
        cairo_set_font_options(tcr, options)
        cairo_font_options_destroy(options)
        cairo_set_font_size(tcr, fontSizeMM)
        cairo_set_source(tcr, cairo_get_source(cr))
        show(unit, x: 0, y: ascent, letterSpacing: 0, on: tcr)
        cairo_destroy(tcr)
        let pattern = cairo_pattern_create_for_surface(tile)!
        cairo_surface_destroy(tile)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_REPEAT)
        cairo_save(cr)
        for baseline in baselines {
            var matrix = cairo_matrix_t()
            cairo_matrix_init_translate(&matrix, -x, -(baseline - ascent))
            cairo_pattern_set_matrix(pattern, &matrix)
            cairo_set_source(cr, pattern)
            cairo_rectangle(cr, x, baseline - ascent, unitWidth * Double(count), cellHeight)
            cairo_fill(cr)
        }
        cairo_restore(cr)
        cairo_pattern_destroy(pattern)
    }

    /// Splits `s` into lines no wider than `width`, with kinsoku: no line starts with closing punctuation or a
    /// small kana (it hangs at the end of the previous line instead), none ends with an opening bracket.
    func wrap(_ s: String, width maxWidth: Double, points: Double) -> [String] {
        setFont(points: points)
        var lines: [String] = []
        var line = ""
        var lineWidth = 0.0
        for ch in s {
            if ch == "\n" { lines.append(line); line = ""; lineWidth = 0; continue }
            let w = glyphs.advance(of: String(ch)) * fontSizeMM
            if lineWidth + w > maxWidth, !line.isEmpty, !RenderText.noLineStart.contains(ch) {
                var carry = ""
                while let last = line.last, RenderText.noLineEnd.contains(last) {
                    carry.insert(last, at: carry.startIndex); line.removeLast()
                }
                lines.append(line)
                line = carry
                lineWidth = width(of: carry)
            }
            line.append(ch)
            lineWidth += w
        }
        if !line.isEmpty { lines.append(line) }
        return lines
    }

    // MARK: Shapes

    func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stroke: Double? = nil, fill: (Double, Double, Double)? = nil) {
        cairo_rectangle(cr, x, y, w, h)
        if let fill {
            cairo_set_source_rgb(cr, fill.0, fill.1, fill.2)
            if stroke != nil { cairo_fill_preserve(cr) } else { cairo_fill(cr) }
        }
        if let stroke {
            cairo_set_source_rgb(cr, 0, 0, 0)
            cairo_set_line_width(cr, Self.mm(points: stroke))
            cairo_stroke(cr)
        }
        cairo_new_path(cr)
    }

    /// Darkens a cell by `shade` (0–1) without hiding what lies under it: black at that opacity, so the 地紋
    /// under a table header or a grid's label column stays visible (an opaque grey fill would blank it, and a
    /// copy would show a hole in the ground exactly where the headings are).
    func tint(_ x: Double, _ y: Double, _ w: Double, _ h: Double, shade: Double) {
        cairo_rectangle(cr, x, y, w, h)
        cairo_set_source_rgba(cr, 0, 0, 0, shade)
        cairo_fill(cr)
    }

    // MARK: Structure (tagged PDF)

    /// Opens a structure element (`P`, `H1`, `Table`, `TR`, `TH`, `TD`, `Document`, …) around what is drawn
    /// until the matching `endTag`: the PDF's structure tree, which screen readers follow.
    func beginTag(_ name: String) { cairo_tag_begin(cr, name, "") }
    func endTag(_ name: String) { cairo_tag_end(cr, name) }

    /// `body` inside the structure element `name`.
    func tagged<T>(_ name: String, _ body: () throws -> T) rethrows -> T {
        beginTag(name)
        defer { endTag(name) }
        return try body()
    }

    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, points: Double) {
        cairo_move_to(cr, x1, y1)
        cairo_line_to(cr, x2, y2)
        cairo_set_source_rgb(cr, 0, 0, 0)
        cairo_set_line_width(cr, Self.mm(points: points))
        cairo_stroke(cr)
    }

    // MARK: Images

    /// Paints `ink` through the A8 coverage image `mask` (the 公印), top-left at (x, y), `width` mm wide.
    func stamp(_ mask: OpaquePointer, pixelWidth: Int, ink: (red: Double, green: Double, blue: Double),
               x: Double, y: Double, width: Double) {
        cairo_save(cr)
        cairo_translate(cr, x, y)
        let s = width / Double(pixelWidth)
        cairo_scale(cr, s, s)
        cairo_set_source_rgb(cr, ink.red, ink.green, ink.blue)
        let pattern = cairo_pattern_create_for_surface(mask)
        cairo_pattern_set_filter(pattern, CAIRO_FILTER_GOOD)
        cairo_mask(cr, pattern)
        cairo_pattern_destroy(pattern)
        cairo_restore(cr)
    }

    /// The QR code of `text` (error correction M, automatic version, mixed modes so Base45 text uses the
    /// alphanumeric mode) with a 4-module quiet zone, as an A8 mask scaled without smoothing to `size` mm.
    func qr(_ text: String, x: Double, y: Double, size: Double) throws {
        guard let code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1) else {
            throw RenderError.qrEncodingFailed(length: text.utf8.count)
        }
        defer { QRcode_free(code) }
        let n = Int(code.pointee.width)
        let quiet = 4
        let total = n + 2 * quiet
        guard let mask = cairo_image_surface_create(CAIRO_FORMAT_A8, Int32(total), Int32(total)) else {
            throw RenderError.cairo(status: "no QR image")
        }
        defer { cairo_surface_destroy(mask) }
        cairo_surface_flush(mask)
        let stride = Int(cairo_image_surface_get_stride(mask))
        guard let pixels = cairo_image_surface_get_data(mask) else { throw RenderError.cairo(status: "no QR pixels") }
        pixels.update(repeating: 0, count: stride * total)
        let modules = code.pointee.data!
        for r in 0..<n {
            let row = pixels + (r + quiet) * stride + quiet
            for c in 0..<n where modules[r * n + c] & 1 == 1 { row[c] = 255 }
        }
        cairo_surface_mark_dirty(mask)
        cairo_save(cr)
        cairo_rectangle(cr, x, y, size, size)
        cairo_set_source_rgb(cr, 1, 1, 1)
        cairo_fill(cr)
        cairo_translate(cr, x, y)
        let s = size / Double(total)
        cairo_scale(cr, s, s)
        cairo_set_source_rgb(cr, 0, 0, 0)
        let pattern = cairo_pattern_create_for_surface(mask)
        cairo_pattern_set_filter(pattern, CAIRO_FILTER_NEAREST)
        cairo_mask(cr, pattern)
        cairo_pattern_destroy(pattern)
        cairo_restore(cr)
    }
}

/// Small text helpers shared by the loader and the renderer.
enum RenderText {
    /// Characters that must not start a line (行頭禁則).
    static let noLineStart: Set<Character> = Set("、。，．）」』】〕〉》ー・：；？！ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々,.)]:;?!")
    /// Characters that must not end a line (行末禁則).
    static let noLineEnd: Set<Character> = Set("（「『【〔〈《([")

    /// `U+20BB7` form, so an error names a character without printing personal data.
    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

