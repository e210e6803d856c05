import CCairo
import CQRencode

/// Collects the PDF bytes cairo writes; the document never touches the file system.
final class PDFSink {
    var bytes: [UInt8] = []
    init() { bytes.reserveCapacity(64 * 1024) }
}

/// One PDF document drawn through cairo: the reference drawing that `PDFWriter`'s pages are compared with
/// (`WriterReferenceTests`), kept because cairo is a well-tested PDF library and the writer is ours. Owns the
/// cairo surface and context, in millimetres with the origin at the top left. Created per `render` call and
/// never shared between threads.
final class PDFCanvas: PageCanvas {
    private let sink = PDFSink()
    private let surface: OpaquePointer
    let cr: OpaquePointer
    private let font: FontInstance
    let glyphs: GlyphMap
    private let sealImage: SealImage
    private let sealSurface: OpaquePointer
    private let groundMode: GroundMode
    /// The current font size in millimetres (user space), as last given to cairo.
    private var fontSizeMM = 1.0
    /// The 地紋 pattern of each ground drawn in this document, built on first use: cairo then writes its
    /// outlines and dot cells once per document, however many pages and certificates use it.
    private var groundPatterns: [String: OpaquePointer] = [:]

    static let pointsPerMM = 72.0 / 25.4

    init(font: FontInstance, glyphs: GlyphMap, seal: SealImage, groundMode: GroundMode, title: String) throws {
        self.font = font
        self.glyphs = glyphs
        self.sealImage = seal
        self.groundMode = groundMode
        sealSurface = try seal.makeSurface()
        let write: cairo_write_func_t = { closure, data, length in
            guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
            let sink = Unmanaged<PDFSink>.fromOpaque(closure).takeUnretainedValue()
            sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
            return CAIRO_STATUS_SUCCESS
        }
        guard let s = cairo_pdf_surface_create_for_stream(write, Unmanaged.passUnretained(sink).toOpaque(),
                                                           pageWidthMM * Self.pointsPerMM, pageHeightMM * Self.pointsPerMM)
        else {
            cairo_surface_destroy(sealSurface)
            throw RenderError.cairo(status: "no PDF surface")
        }
        surface = s
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title)
        cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "Kofu")
        guard let c = cairo_create(s) else {
            cairo_surface_destroy(s)
            cairo_surface_destroy(sealSurface)
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
        cairo_surface_destroy(sealSurface)
    }

    func check() throws {
        let status = cairo_status(cr)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo(status: String(cString: cairo_status_to_string(status))) }
    }

    func showPage() throws {
        try check()
        cairo_show_page(cr)
    }

    /// Finishes the document and returns its bytes, with `/Lang (ja)` added (`DocumentLanguage`).
    func finish() throws -> [UInt8] {
        try check()
        cairo_surface_finish(surface)
        let status = cairo_surface_status(surface)
        guard status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo(status: String(cString: cairo_status_to_string(status))) }
        do {
            return try DocumentLanguage.set("ja", in: sink.bytes)
        } catch DocumentLanguage.Failure.unrecognisedPDF(let problem) {
            throw RenderError.cairo(status: "setting /Lang: \(problem)")
        }
    }

    /// 地紋 (see `Ground`): one rectangle filled with the document's ground pattern inside the frame, leaving
    /// the microtext its own clean bands (legible under a loupe, not lost in dots).
    func ground(_ g: GroundElement, word: WordOutline, prebuilt: PrebuiltGround?) {
        let key = "\(g.warning)|\(g.warningSize)|\(g.gray)|\(groundMode)"
        let pattern: OpaquePointer
        if let p = groundPatterns[key] { pattern = p } else {
            pattern = Ground.pattern(outline: word, ink: g.gray, mode: groundMode)
            groundPatterns[key] = pattern
        }
        cairo_save(cr)
        cairo_rectangle(cr, 10, 13.2, pageWidthMM - 20, pageHeightMM - 26.4)
        cairo_set_source(cr, pattern)
        cairo_fill(cr)
        cairo_restore(cr)
    }

    /// The 公印 through cairo: its ink painted through the one-bit plane, smoothed when scaled.
    func seal(at p: PrebuiltSeal.Placement) {
        cairo_save(cr)
        cairo_translate(cr, p.x, p.y)
        let s = p.width / Double(sealImage.width)
        cairo_scale(cr, s, s)
        cairo_set_source_rgb(cr, sealImage.ink.red, sealImage.ink.green, sealImage.ink.blue)
        let pattern = cairo_pattern_create_for_surface(sealSurface)
        cairo_pattern_set_filter(pattern, CAIRO_FILTER_GOOD)
        cairo_mask(cr, pattern)
        cairo_pattern_destroy(pattern)
        cairo_restore(cr)
    }

    // MARK: Text

    static func mm(points: Double) -> Double { points / pointsPerMM }

    private func setFont(sizeMM: Double) {
        fontSizeMM = sizeMM
        cairo_set_font_size(cr, sizeMM)
    }

    func setColor(_ r: Double, _ g: Double, _ b: Double) { cairo_set_source_rgb(cr, r, g, b) }

    func show(_ s: String, x: Double, y: Double, sizeMM: Double, letterSpacing: Double) {
        setFont(sizeMM: sizeMM)
        show(s, x: x, y: y, letterSpacing: letterSpacing)
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
        setFont(sizeMM: Self.mm(points: points))
        let unitWidth = width(of: unit, points: points)
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

    // MARK: Shapes

    func rect(_ x: Double, _ y: Double, _ w: Double, _ h: Double, stroke: Double?, fill: (Double, Double, Double)?) {
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

    /// (An opaque grey fill would blank the 地紋, and a copy would show a hole in the ground exactly where the
    /// headings are.)
    func tint(_ x: Double, _ y: Double, _ w: Double, _ h: Double, shade: Double) {
        cairo_rectangle(cr, x, y, w, h)
        cairo_set_source_rgba(cr, 0, 0, 0, shade)
        cairo_fill(cr)
    }

    // MARK: Structure (tagged PDF)

    func beginTag(_ name: String) { cairo_tag_begin(cr, name, "") }
    func endTag(_ name: String) { cairo_tag_end(cr, name) }

    func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, points: Double) {
        cairo_move_to(cr, x1, y1)
        cairo_line_to(cr, x2, y2)
        cairo_set_source_rgb(cr, 0, 0, 0)
        cairo_set_line_width(cr, Self.mm(points: points))
        cairo_stroke(cr)
    }

    // MARK: Images

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

