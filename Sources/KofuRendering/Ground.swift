import CCairo
import Foundation

/// How the 地紋 is drawn. `wordMask` exists for the tests: the same tile with the word filled solid and no
/// background dots, so a test can rasterise the word's exact outline at the place it has on a real page.
enum GroundMode: Sendable { case normal, wordMask }

/// 地紋 as a latent image, the way security paper prints it: the whole ground is dots of one dark ink with the
/// same ink coverage everywhere, so the original shows an even light tint; only the dots' size differs.
///
/// - Outside the warning word the dots are fine (0.19 mm at a 0.6 mm pitch). A copier blurs them to a grey
///   lighter than its black/white decision level and drops them.
/// - Inside the word they are coarse (0.36 mm at a 1.2 mm pitch: about twice the size at twice the pitch, so
///   about the same fraction of the paper is inked). Blurred, their centres stay darker than the decision
///   level: the copy shows the word.
///
/// The word repeats over the page on a tilted lattice. It is drawn as glyph outlines (paths, not text), so no
/// text extractor or screen reader sees it. Everything lives in one PDF tiling pattern whose cell holds the
/// word once and which nests the two dot patterns, and each page paints one rectangle with the pattern.
///
/// Renders do not draw this through cairo any more: `PrebuiltGround` writes the same patterns as finished PDF
/// objects once at load and each document appends them. `pattern` below is the reference it is compared with
/// (`WriterReferenceTests`), drawn by the cairo reference (`CertificateRenderer.cairoReference`).
struct Ground {
    /// Dot pitches and radii in mm. The coarse cell is exactly two fine cells, so both lattices line up at the
    /// edges of the word cell. Coverage is π r² / p²: 7.1 % for the coarse dots, 7.9 % drawn for the fine ones,
    /// which a 600 dpi raster (a kiosk printer's resolution; poppler measured the same) prints about 10 % light:
    /// as printed both come to 4.6 % ink of the page (GroundTests measures it).
    static let finePitch = 0.6, fineRadius = 0.095
    static let coarsePitch = 1.2, coarseRadius = 0.18
    /// The lattice is turned so the word runs up to the right, as printed grounds usually do.
    static let angle = -Double.pi / 9
    /// The outline added around the glyphs, in mm.
    static let embolden = 0.8
    /// Cells are recorded in units of 0.02 mm: cairo gives a recording surface whole-unit extents, and a PDF
    /// tiling pattern's step is its extents, so a 0.4 mm cell in millimetre units would repeat every 1 mm.
    static let unit = 0.1

    /// The ground pattern for one document (patterns are per document: cairo may attach snapshots to what it
    /// emits, so nothing here is shared between renders). `ink` is the dots' grey level (0 black, 1 white).
    static func pattern(outline: WordOutline, ink: Double, mode: GroundMode) -> OpaquePointer {
        let sizeMM = outline.sizeMM
        let wordWidth = outline.width
        // The cell: the word in its middle with a gap of about half its height around it, rounded up to whole
        // coarse cells so both dot lattices run on across cell edges. One word per cell: every copy of its
        // outline is written to the PDF again (four times: paper-white fill and outline, coarse fill and
        // outline), and those coordinates are much of the ground's cost.
        func cells(_ v: Double) -> Double { (v / coarsePitch).rounded(.up) * coarsePitch }
        let cellWidth = cells(wordWidth + sizeMM * 0.8 + 2 * embolden)
        let cellHeight = cells(sizeMM * 1.8 + 2 * embolden)
        let (tile, tcr) = cell(width: cellWidth, height: cellHeight)
        // A bluish grey, as security paper is often printed; `ink` is its luminance.
        let tint = (max(0, ink - 0.08), ink, min(1, ink + 0.2))
        let wordPath: (OpaquePointer) -> Void = { cr in
            // BIZ UDMincho's em box: the baseline 0.88 em below its top.
            outline.append(to: cr, x: (cellWidth - wordWidth) / 2, y: (cellHeight - sizeMM) / 2 + sizeMM * 0.88)
        }
        // The word's shape is its glyphs filled and outlined (`embolden` mm wide): Mincho's hairlines alone are
        // thinner than the coarse pitch and would catch too few coarse dots to show on a copy.
        cairo_set_line_width(tcr, embolden)
        cairo_set_line_join(tcr, CAIRO_LINE_JOIN_ROUND)
        switch mode {
        case .normal:
            let fine = dots(pitch: finePitch, radius: fineRadius, tint: tint)
            let coarse = dots(pitch: coarsePitch, radius: coarseRadius, tint: tint)
            // Fine dots everywhere, then the word's shape back to paper white (the ground is the first thing on
            // the page, so white covers nothing) and coarse dots in it. (Coarse dots on an opaque white cell,
            // one fill instead of two, print seams at the cell edges: 35 % more ink inside the word.)
            cairo_set_source(tcr, fine)
            cairo_rectangle(tcr, 0, 0, cellWidth, cellHeight)
            cairo_fill(tcr)
            wordPath(tcr)
            cairo_set_source_rgb(tcr, 1, 1, 1)
            cairo_fill_preserve(tcr)
            cairo_stroke_preserve(tcr)
            cairo_set_source(tcr, coarse)
            cairo_fill_preserve(tcr)
            cairo_stroke(tcr)
            cairo_pattern_destroy(fine)
            cairo_pattern_destroy(coarse)
        case .wordMask:
            cairo_set_source_rgb(tcr, 0, 0, 0)
            wordPath(tcr)
            cairo_fill_preserve(tcr)
            cairo_stroke(tcr)
        }
        cairo_destroy(tcr)
        let pattern = cairo_pattern_create_for_surface(tile)!
        cairo_surface_destroy(tile)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_REPEAT)
        // Pattern space = user space rotated by -angle (the lattice turns by `angle` on the page), in cell units.
        var matrix = cairo_matrix_t()
        cairo_matrix_init_rotate(&matrix, -angle)
        cairo_matrix_scale(&matrix, 1 / unit, 1 / unit)
        cairo_pattern_set_matrix(pattern, &matrix)
        return pattern
    }

    /// A repeating cell of `pitch` mm with one dot in its middle, as a PDF tiling pattern.
    private static func dots(pitch: Double, radius: Double, tint: (Double, Double, Double)) -> OpaquePointer {
        let (tile, tcr) = cell(width: pitch, height: pitch)
        cairo_set_source_rgb(tcr, tint.0, tint.1, tint.2)
        cairo_arc(tcr, pitch / 2, pitch / 2, radius, 0, 2 * Double.pi)
        cairo_fill(tcr)
        cairo_destroy(tcr)
        let pattern = cairo_pattern_create_for_surface(tile)!
        cairo_surface_destroy(tile)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_REPEAT)
        var matrix = cairo_matrix_t()
        cairo_matrix_init_scale(&matrix, 1 / unit, 1 / unit)
        cairo_pattern_set_matrix(pattern, &matrix)
        return pattern
    }

    /// A recording surface `width` × `height` mm in cell units, and a context on it that draws in mm.
    private static func cell(width: Double, height: Double) -> (surface: OpaquePointer, context: OpaquePointer) {
        var extents = cairo_rectangle_t(x: 0, y: 0, width: (width / unit).rounded(), height: (height / unit).rounded())
        let surface = cairo_recording_surface_create(CAIRO_CONTENT_COLOR_ALPHA, &extents)!
        let context = cairo_create(surface)!
        cairo_scale(context, 1 / unit, 1 / unit)
        return (surface, context)
    }
}

/// The outline of the 地紋's warning word as path operations in mm (baseline origin at 0, 0), taken from the
/// font once when the renderer loads. Asking cairo for glyph outlines in each render cost about 6 ms (a scaled
/// font for the pattern cell's matrix, then the outlines); replaying a few hundred stored points costs µs.
struct WordOutline: Sendable {
    enum Operation: Sendable {
        case move(Double, Double)
        case line(Double, Double)
        case curve(Double, Double, Double, Double, Double, Double)
        case close
    }
    let operations: [Operation]
    /// The em size and the advance width of the word, in mm.
    let sizeMM: Double
    let width: Double

    init(_ word: String, points: Double, font: FontInstance, glyphs: GlyphMap) throws {
        sizeMM = PDFCanvas.mm(points: points)
        guard let surface = cairo_recording_surface_create(CAIRO_CONTENT_ALPHA, nil) else {
            throw RenderError.cairo(status: "no surface for the warning word")
        }
        defer { cairo_surface_destroy(surface) }
        let cr = cairo_create(surface)!
        defer { cairo_destroy(cr) }
        cairo_set_font_face(cr, font.cairoFace)
        cairo_set_font_size(cr, sizeMM)
        let options = cairo_font_options_create()
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
        cairo_set_font_options(cr, options)
        cairo_font_options_destroy(options)
        var glyphArray = [cairo_glyph_t]()
        var x = 0.0
        for scalar in word.unicodeScalars {
            let g = glyphs[scalar]
            glyphArray.append(cairo_glyph_t(index: UInt(g.index), x: x, y: 0))
            x += g.advance * sizeMM
        }
        width = x
        cairo_glyph_path(cr, glyphArray, Int32(glyphArray.count))
        guard let path = cairo_copy_path(cr) else { throw RenderError.cairo(status: "no outline for the warning word") }
        defer { cairo_path_destroy(path) }
        guard path.pointee.status == CAIRO_STATUS_SUCCESS else { throw RenderError.cairo(status: "no outline for the warning word") }
        var ops: [Operation] = []
        let data = path.pointee.data!
        var i = 0
        while i < Int(path.pointee.num_data) {
            let header = data[i].header
            func p(_ k: Int) -> (Double, Double) { (data[i + k].point.x, data[i + k].point.y) }
            switch header.type {
            case CAIRO_PATH_MOVE_TO: ops.append(.move(p(1).0, p(1).1))
            case CAIRO_PATH_LINE_TO: ops.append(.line(p(1).0, p(1).1))
            case CAIRO_PATH_CURVE_TO: ops.append(.curve(p(1).0, p(1).1, p(2).0, p(2).1, p(3).0, p(3).1))
            default: ops.append(.close)
            }
            i += Int(header.length)
        }
        operations = ops
    }

    /// Adds the outline with its baseline origin at (x, y) to the current path of `cr`.
    func append(to cr: OpaquePointer, x: Double, y: Double) {
        for op in operations {
            switch op {
            case .move(let a, let b): cairo_move_to(cr, x + a, y + b)
            case .line(let a, let b): cairo_line_to(cr, x + a, y + b)
            case .curve(let a, let b, let c, let d, let e, let f): cairo_curve_to(cr, x + a, y + b, x + c, y + d, x + e, y + f)
            case .close: cairo_close_path(cr)
            }
        }
    }
}
