import CCairo
import Foundation
import KofuDomain

/// A rendered PDF: one or more certificates, each on one or more A4 pages.
public struct RenderedDocument: Sendable {
    /// The PDF file's bytes.
    public let pdf: [UInt8]
    /// Pages in the document, over all certificates.
    public let pageCount: Int
    public init(pdf: [UInt8], pageCount: Int) { self.pdf = pdf; self.pageCount = pageCount }
}

/// Turns certificates into PDFs, entirely in memory, with Kofu's own PDF writer (`PDFWriter`); cairo draws the
/// same pages as the reference the tests compare with (`throughCairo`).
///
/// Loaded once at start-up (templates, font, 公印 seal, and each kind's prebuilt font subset, ground and seal)
/// and then shared: `render` is safe to call from many tasks at once. Everything loaded is immutable; the
/// per-render state (a deflate stream, a FreeType face for cairo) is borrowed exclusively from lock-protected
/// pools for the length of one `render` call.
public final class CertificateRenderer: Sendable {
    private let templates: TemplateSet
    /// FreeType faces for cairo (the reference drawing and the ground word's outline at load).
    private let fonts: Pool<FontInstance>
    private let deflaters: Pool<Deflater>
    private let program: TrueTypeFont
    /// Each kind's prebuilt subset of the font (its template's own characters and the common ones).
    private let prebuiltFonts: [CertificateKind: PrebuiltFont]
    private let glyphs: GlyphMap
    private let seal: SealImage
    /// The warning word of each kind's 地紋, outlined once here (kinds with the same word share one).
    private let groundWords: [CertificateKind: WordOutline]
    /// The same grounds as finished PDF objects, built once here per kind (kinds with the same ground share one
    /// instance, which a document then writes once), immutable and shared by every render (`PrebuiltGround`).
    private let prebuiltGrounds: [CertificateKind: PrebuiltGround]
    /// `.wordMask` only in tests (the 地紋 word's outline); `.normal` otherwise.
    let groundMode: GroundMode
    /// The municipality's wording the templates were loaded with (also what `/verify` labels with).
    public let wording: Wording
    /// Tests only: draw everything through cairo (`PDFCanvas`), the reference the writer's pages are compared with.
    let throughCairo: Bool

    /// Loads and validates all four templates, the font and the seal image. A broken template (unknown field,
    /// bad geometry, missing image, YAML error) throws `TemplateError` naming file:line:column.
    ///
    /// The municipality's wording is read from `wordingPath`, by default `wording.yaml` in the templates directory.
    public convenience init(templatesDirectory: String, fontPath: String, sealImagePath: String, wordingPath: String? = nil) throws {
        try self.init(templatesDirectory: templatesDirectory, fontPath: fontPath, sealImagePath: sealImagePath,
                      wordingPath: wordingPath, groundMode: .normal)
    }

    /// The same renderer drawing everything through cairo (`PDFCanvas`): the reference the writer is tested
    /// against, and what `kofu bench render --reference` times beside it.
    public static func cairoReference(templatesDirectory: String, fontPath: String, sealImagePath: String) throws -> CertificateRenderer {
        try CertificateRenderer(templatesDirectory: templatesDirectory, fontPath: fontPath, sealImagePath: sealImagePath,
                                groundMode: .normal, throughCairo: true)
    }

    init(templatesDirectory: String, fontPath: String, sealImagePath: String, wordingPath: String? = nil,
         groundMode: GroundMode, throughCairo: Bool = false) throws {
        self.groundMode = groundMode
        self.throughCairo = throughCairo
        let glyphs = try GlyphMap(path: fontPath)
        self.glyphs = glyphs
        fonts = try Pool { try FontInstance(path: fontPath) }
        deflaters = try Pool { Deflater(level: PDFWriter.requestLevel) }
        let program = try TrueTypeFont(path: fontPath)
        self.program = program
        seal = try SealImage(path: sealImagePath)
        let wording = try Wording.load(path: wordingPath ?? (templatesDirectory as NSString).appendingPathComponent(Wording.fileName),
                                       isPrintable: { glyphs.covers($0) })
        self.wording = wording
        func load(_ kind: CertificateKind) throws -> Template {
            let name = TemplateLoader.fileName(for: kind)
            let path = (templatesDirectory as NSString).appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: path), let yaml = String(data: data, encoding: .utf8) else {
                throw TemplateError.missingTemplate(file: path)
            }
            let loader = TemplateLoader(file: path, kind: kind, isPrintable: { glyphs.covers($0) }, wording: wording)
            return try loader.load(yaml: yaml)
        }
        let templates = TemplateSet(taxPayment: try load(.taxPayment), incomeTaxation: try load(.incomeTaxation),
                                    nonTaxation: try load(.nonTaxation), vehicleInspection: try load(.vehicleInspection))
        self.templates = templates
        var subsets: [CertificateKind: PrebuiltFont] = [:]
        for (i, kind) in CertificateKind.allCases.enumerated() {
            let tag = "KOFUA" + String(UnicodeScalar(UInt8(ascii: "A") + UInt8(i)))
            // Tax item names come from the wording per row; everything else the wording gives is in the templates.
            let taxItems = wording.entries.filter { $0.key.hasPrefix("tax_items.") }.values.joined()
            subsets[kind] = try PrebuiltFont(tag: tag, text: templates[kind].literalScalars.union(PrebuiltFont.common)
                                                .union(taxItems.unicodeScalars), glyphs: glyphs, font: program)
        }
        prebuiltFonts = subsets
        let words = try fonts.with { font in
            var byWord: [String: WordOutline] = [:]
            var words: [CertificateKind: WordOutline] = [:]
            for kind in CertificateKind.allCases {
                guard let g = templates[kind].ground else { continue }
                let key = "\(g.warning)|\(g.warningSize)"
                if byWord[key] == nil { byWord[key] = try WordOutline(g.warning, points: g.warningSize, font: font, glyphs: glyphs) }
                words[kind] = byWord[key]
            }
            return words
        }
        groundWords = words
        var byGround: [String: PrebuiltGround] = [:]
        var prebuilt: [CertificateKind: PrebuiltGround] = [:]
        for (kind, word) in words {
            guard let g = templates[kind].ground else { continue }
            let key = "\(g.warning)|\(g.warningSize)|\(g.gray)"
            if byGround[key] == nil { byGround[key] = PrebuiltGround(outline: word, ink: g.gray, mode: groundMode) }
            prebuilt[kind] = byGround[key]
        }
        prebuiltGrounds = prebuilt
    }

    /// Characters of `text` the font cannot draw (外字), for the eligibility check before rendering.
    public func unprintableCharacters(in text: String) -> [Character] {
        text.filter { ch in ch.unicodeScalars.contains { !glyphs.covers($0) } }.map { $0 }
    }

    /// How many pages `certificate` prints on, without drawing it: the same pagination `render` uses, so a seal
    /// that signs the page count before the one render signs what will be printed.
    public func pageCount(of certificate: Certificate) -> Int {
        let template = templates[certificate.kind].specialized(for: certificate)
        guard let table = template.table else { return 1 }
        return Pagination.paginate(FieldCatalogue.taxPaymentRows(certificate, subtotalLabel: table.subtotalLabel),
                                        table: table).count
    }

    /// One PDF with every certificate in order (copies = several certificates, each with its own number).
    /// A certificate may paginate (a 納税証明書 with 5 items × 12 installments): every page carries its page
    /// number and its certificate number. `qrText` is drawn as the QR code of that certificate.
    public func render(_ documents: [(certificate: Certificate, qrText: String)]) throws -> RenderedDocument {
        guard let title = documents.first?.certificate.kind.title else { throw RenderError.noCertificates }
        if throughCairo {
            return try fonts.with { font in
                let canvas = try PDFCanvas(font: font, glyphs: glyphs, seal: seal, groundMode: groundMode, title: title)
                var pages = 0
                for document in documents {
                    pages += try page(document, on: canvas).draw()
                }
                return RenderedDocument(pdf: try canvas.finish(), pageCount: pages)
            }
        }
        return try deflaters.with { deflater in
            let writer = PDFWriter(glyphs: glyphs, font: program, seal: seal.prebuilt, title: title, deflater: deflater)
            var pages = 0
            for document in documents {
                writer.use(prebuiltFonts[document.certificate.kind]!)
                pages += try page(document, on: writer).draw()
            }
            return RenderedDocument(pdf: try writer.finish(), pageCount: pages)
        }
    }

    private func page<Canvas: PageCanvas>(_ document: (certificate: Certificate, qrText: String),
                                          on canvas: Canvas) -> CertificatePage<Canvas> {
        let kind = document.certificate.kind
        return CertificatePage(template: templates[kind].specialized(for: document.certificate),
                               certificate: document.certificate, qrText: document.qrText, canvas: canvas,
                               groundWord: groundWords[kind], prebuiltGround: prebuiltGrounds[kind])
    }
}

/// One loaded template per kind.
struct TemplateSet: Sendable {
    let taxPayment: Template
    let incomeTaxation: Template
    let nonTaxation: Template
    let vehicleInspection: Template

    subscript(kind: CertificateKind) -> Template {
        switch kind {
        case .taxPayment: taxPayment
        case .incomeTaxation: incomeTaxation
        case .nonTaxation: nonTaxation
        case .vehicleInspection: vehicleInspection
        }
    }
}

/// The 公印 PNG, reduced once to what a stamp is: one ink colour and a two-level coverage plane at print
/// resolution (at least `minimumPixels` across, so about 400 dpi for a 20 mm seal). Each render wraps the
/// immutable plane in its own A1 cairo surface and paints the ink through it. From a one-bit plane cairo
/// writes a 1-bit stencil mask (PDF /ImageMask, about 12 KB before deflate for 320 × 320) instead of
/// a grey soft mask plus a constant group image (51 KB to deflate per page), which made the seal one of the
/// largest costs of a page. A printer (600 dpi, binary toner) cannot show the difference.
struct SealImage: Sendable {
    let width: Int
    let height: Int
    /// The plane in cairo's A1 layout (see `bilevel`), written once here and only read afterwards.
    private let plane: FixedPixels
    /// The ink colour, the coverage-weighted mean of the image's colours.
    let ink: (red: Double, green: Double, blue: Double)

    init(path: String) throws {
        guard FileManager.default.fileExists(atPath: path), let s = cairo_image_surface_create_from_png(path) else {
            throw TemplateError.missingImage(file: path)
        }
        defer { cairo_surface_destroy(s) }
        let format = cairo_image_surface_get_format(s)
        guard cairo_surface_status(s) == CAIRO_STATUS_SUCCESS, format == CAIRO_FORMAT_ARGB32 || format == CAIRO_FORMAT_RGB24,
              let data = cairo_image_surface_get_data(s) else {
            throw TemplateError.missingImage(file: path)
        }
        let hasAlpha = format == CAIRO_FORMAT_ARGB32
        let w = Int(cairo_image_surface_get_width(s)), h = Int(cairo_image_surface_get_height(s))
        guard w > 0, h > 0 else { throw TemplateError.missingImage(file: path) }
        let sourceStride = Int(cairo_image_surface_get_stride(s))
        let planeStride = Int(cairo_format_stride_for_width(CAIRO_FORMAT_A8, Int32(w)))
        var plane = [UInt8](repeating: 0, count: planeStride * h)
        var sum = (r: 0.0, g: 0.0, b: 0.0, a: 0.0)
        data.withMemoryRebound(to: UInt32.self, capacity: sourceStride / 4 * h) { pixels in
            for y in 0..<h {
                for x in 0..<w {
                    let p = pixels[y * sourceStride / 4 + x]
                    let r = Double((p >> 16) & 0xff), g = Double((p >> 8) & 0xff), b = Double(p & 0xff)
                    // Without an alpha channel, dark pixels are ink and white is paper.
                    let a = hasAlpha ? Double(p >> 24) : 255 - (0.299 * r + 0.587 * g + 0.114 * b)
                    plane[y * planeStride + x] = UInt8(max(0, min(255, a.rounded())))
                    if hasAlpha { sum.r += r; sum.g += g; sum.b += b } else { sum.r += r * a / 255; sum.g += g * a / 255; sum.b += b * a / 255 }
                    sum.a += a
                }
            }
        }
        guard sum.a > 0 else { throw TemplateError.missingImage(file: path) }
        // ARGB32 pixels are premultiplied, so the colour sums divided by the alpha sum give the mean ink colour.
        ink = (min(1, sum.r / sum.a), min(1, sum.g / sum.a), min(1, sum.b / sum.a))
        let factor = max(1, (Self.minimumPixels + w - 1) / w)
        width = w * factor
        height = h * factor
        self.plane = try Self.bilevel(plane, width: w, height: h, stride: planeStride, factor: factor)
        prebuilt = PrebuiltSeal(plane: self.plane.pixels, width: width, height: height, stride: self.plane.stride, ink: ink)
    }

    /// The same seal as a finished PDF image mask (see `PrebuiltSeal`).
    let prebuilt: PrebuiltSeal

    /// Pixels across the stamp at the least.
    static let minimumPixels = 320

    /// `plane` enlarged `factor` times with bilinear filtering, then cut at half coverage into cairo's A1 layout:
    /// bits packed in native-endian 32-bit words, the first pixel in the lowest bit on a little-endian machine
    /// and in the highest on a big-endian one.
    private static func bilevel(_ plane: [UInt8], width w: Int, height h: Int, stride: Int,
                                factor: Int) throws -> FixedPixels {
        let big = (w * factor, h * factor)
        let bitStride = Int(cairo_format_stride_for_width(CAIRO_FORMAT_A1, Int32(big.0)))
        let packed = FixedPixels(stride: bitStride, height: big.1)
        var source = plane
        try source.withUnsafeMutableBufferPointer { buffer in
            guard let small = cairo_image_surface_create_for_data(buffer.baseAddress!, CAIRO_FORMAT_A8,
                                                                   Int32(w), Int32(h), Int32(stride)),
                  let large = cairo_image_surface_create(CAIRO_FORMAT_A8, Int32(big.0), Int32(big.1)),
                  cairo_surface_status(large) == CAIRO_STATUS_SUCCESS else {
                throw RenderError.cairo(status: "no seal surface")
            }
            defer { cairo_surface_destroy(small); cairo_surface_destroy(large) }
            let cr = cairo_create(large)!
            cairo_scale(cr, Double(factor), Double(factor))
            let pattern = cairo_pattern_create_for_surface(small)
            cairo_pattern_set_filter(pattern, CAIRO_FILTER_BILINEAR)
            cairo_pattern_set_extend(pattern, CAIRO_EXTEND_PAD)
            cairo_set_source(cr, pattern)
            cairo_paint(cr)
            cairo_pattern_destroy(pattern)
            cairo_destroy(cr)
            cairo_surface_flush(large)
            let largeStride = Int(cairo_image_surface_get_stride(large))
            guard let data = cairo_image_surface_get_data(large) else { throw RenderError.cairo(status: "no seal pixels") }
            let littleEndian = (1 as UInt32).littleEndian == 1
            packed.pixels.withMemoryRebound(to: UInt32.self) { words in
                for y in 0..<big.1 {
                    for x in 0..<big.0 where data[y * largeStride + x] >= 128 {
                        words[y * bitStride / 4 + x / 32] |= UInt32(1) << UInt32(littleEndian ? x & 31 : 31 - (x & 31))
                    }
                }
            }
        }
        return packed
    }

    /// A cairo surface of its own for one render (cairo may attach snapshots to a surface it emits, so
    /// surfaces are not shared between renders), over the shared pixels without copying them.
    func makeSurface() throws -> OpaquePointer {
        guard let s = cairo_image_surface_create_for_data(plane.pixels.baseAddress!, CAIRO_FORMAT_A1, Int32(width),
                                                          Int32(height), Int32(plane.stride)),
              cairo_surface_status(s) == CAIRO_STATUS_SUCCESS else {
            throw RenderError.cairo(status: "no seal surface")
        }
        return s
    }
}

/// Pixel memory filled once at start-up and read by every render until the renderer goes away.
final class FixedPixels: @unchecked Sendable {
    // Safety: written only by SealImage.init before the value is shared; cairo only reads it afterwards.
    let pixels: UnsafeMutableBufferPointer<UInt8>
    let stride: Int

    init(stride: Int, height: Int) {
        self.stride = stride
        pixels = .allocate(capacity: stride * height)
        pixels.initialize(repeating: 0)
    }

    deinit { pixels.deallocate() }
}
