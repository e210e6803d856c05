import Foundation
import KofuDomain
@testable import KofuRendering
import KofuTestSupport
import Testing

/// Every render goes through Kofu's own PDF writer (`PDFWriter`) with the 地紋 and 公印 as prebuilt objects
/// (`PrebuiltGround`, `PrebuiltSeal`). These tests compare its pages against the reference: the same calls drawn
/// through cairo (`throughCairo`: text, rules, ground pattern and seal all by cairo), rasterised by poppler, and
/// read back by pdftotext.
///
/// What may differ, and by how much: the pixels are the same shapes at the same places; what moves is
/// anti-aliasing at the edges of a few dots and glyph outlines (cairo printed coordinates with 3 decimals in its
/// own units, the writer with 3 in mm, the prebuilt ground cell with 6). One deliberate difference: cairo
/// rounded the microtext's tile up to whole millimetres, so its units stood a gap apart and the last one was
/// cut; the writer steps exactly one unit. `pdftotext -raw` reads the same text from both; `-layout` spaces
/// some columns differently (cairo wrote ASCII in an 8-bit font of its own). The tolerance below is 0.5 % of the
/// pixels and 0.005 in mean ink; drawing the ground cell without cairo's form XObject around it (a first
/// version of the prebuilt ground) moved whole dots in poppler's tiling, 16 % of the pixels, which these tests
/// reject.
@Suite("The PDF writer against cairo's drawing")
struct WriterReferenceTests {
    static let reference: Result<CertificateRenderer, any Error> = Result {
        try CertificateRenderer(templatesDirectory: TestSupport.templatesDirectory, fontPath: TestSupport.fontPath,
                                sealImagePath: TestSupport.sealImagePath, groundMode: .normal, throughCairo: true)
    }

    /// Compares a region (mm) of page `page` of both PDFs at `dpi`.
    static func compare(_ new: [UInt8], _ old: [UInt8], page: Int = 1, dpi: Int, xMM: ClosedRange<Double>,
                        yMM: ClosedRange<Double>, label: String) throws {
        let a = try Raster(new, page: page, dpi: dpi, xMM: xMM, yMM: yMM)
        let b = try Raster(old, page: page, dpi: dpi, xMM: xMM, yMM: yMM)
        try #require(a.width == b.width && a.height == b.height && !a.pixels.isEmpty)
        let differing = zip(a.pixels, b.pixels).filter { abs(Int($0) - Int($1)) > 16 }.count
        let fraction = Double(differing) / Double(a.pixels.count)
        let inkNew = a.meanInk(), inkOld = b.meanInk()
        print("writer vs cairo, \(label): \(differing) of \(a.pixels.count) pixels differ by > 16/255; ink \(inkNew) vs \(inkOld)")
        #expect(fraction <= 0.005, "\(label): \(differing) of \(a.pixels.count) pixels differ")
        #expect(abs(inkNew - inkOld) <= 0.005, "\(label): mean ink \(inkNew) vs \(inkOld)")
    }

    @Test("every kind: the page, the ground strip and the seal look as cairo drew them, and the text is the same",
          arguments: CertificateKind.allCases)
    func sameAsCairo(kind: CertificateKind) throws {
        let certificate = try Samples.certificate(kind)
        let qr = Samples.qrText(seed: 3, length: 300)
        let new = try Samples.renderer().render([(certificate, qr)])
        let old = try Self.reference.get().render([(certificate, qr)])
        #expect(try PDFTools.qpdfCheck(new.pdf) == nil)
        #expect(try PDFTools.text(new.pdf) == (try PDFTools.text(old.pdf)))
        #expect(try PDFTools.qrCodes(new.pdf) == [qr])
        // The ground left of the text (GroundTests' strip) and the seal with the ground around it, at 600 dpi.
        try Self.compare(new.pdf, old.pdf, dpi: 600, xMM: GroundTests.stripX, yMM: 40...100, label: "\(kind.rawValue) ground")
        try Self.compare(new.pdf, old.pdf, dpi: 600, xMM: 165...196, yMM: 226...256, label: "\(kind.rawValue) seal")
        // The whole page at 150 dpi.
        try Self.compare(new.pdf, old.pdf, dpi: 150, xMM: 0...210, yMM: 0...297, label: "\(kind.rawValue) page")
    }

    @Test("several pages and copies of two kinds in one PDF: each page has its ground and seal")
    func pagesAndCopies() throws {
        let large = try Samples.largeTaxPayment()
        let income = try Samples.certificate(.incomeTaxation)
        let docs = [(large, "KOFU1"), (income, "KOFU2")]
        let new = try Samples.renderer().render(docs)
        let old = try Self.reference.get().render(docs)
        #expect(try PDFTools.qpdfCheck(new.pdf) == nil)
        #expect(new.pageCount == old.pageCount && new.pageCount >= 3)
        #expect(try PDFTools.text(new.pdf) == (try PDFTools.text(old.pdf)))
        for page in 1...new.pageCount {
            try Self.compare(new.pdf, old.pdf, page: page, dpi: 150, xMM: 0...210, yMM: 0...297, label: "page \(page)")
        }
        // One set of ground objects and one seal image per document, however many pages use them.
        let pdf = String(decoding: new.pdf, as: UTF8.self)
        #expect(pdf.components(separatedBy: "/Width 320").count - 1 == 1)
        // Both templates have the same ground (複写, same size and ink): its cell is written once.
        #expect(pdf.components(separatedBy: "/Type /XObject /Subtype /Form /BBox").count - 1 == 1)
        #expect(pdf.components(separatedBy: "/ImageMask true").count - 1 == 1 + new.pageCount)  // the seal once, a QR per page
    }

    @Test("without microtext (page resources without /Pattern) the ground still matches cairo's")
    func withoutMicrotext() throws {
        let dir = try Templates.strippedCopy(["  microtext:"])
        func renderer(cairo: Bool) throws -> CertificateRenderer {
            try CertificateRenderer(templatesDirectory: dir.path, fontPath: TestSupport.fontPath,
                                    sealImagePath: TestSupport.sealImagePath, groundMode: .normal, throughCairo: cairo)
        }
        let certificate = try Samples.certificate(.nonTaxation)
        let new = try renderer(cairo: false).render([(certificate, "KOFU")])
        let old = try renderer(cairo: true).render([(certificate, "KOFU")])
        #expect(try PDFTools.qpdfCheck(new.pdf) == nil)
        try Self.compare(new.pdf, old.pdf, dpi: 600, xMM: GroundTests.stripX, yMM: 40...100, label: "no microtext, ground")
        try Self.compare(new.pdf, old.pdf, dpi: 150, xMM: 0...210, yMM: 0...297, label: "no microtext, page")
    }

    @Test("a seal moved over the QR: the QR's white square covers it as in cairo's drawing, and the QR still reads")
    func sealOverQR() throws {
        let dir = try Templates.strippedCopy(["seal:"])
        for kind in CertificateKind.allCases {
            let path = dir.file("\(kind.rawValue).yaml")
            let yaml = try String(contentsOfFile: path, encoding: .utf8)
            try dir.write("\(kind.rawValue).yaml", text: yaml + "\nseal: { x: 160, y: 240, width: 20 }\n")
        }
        func renderer(cairo: Bool) throws -> CertificateRenderer {
            try CertificateRenderer(templatesDirectory: dir.path, fontPath: TestSupport.fontPath,
                                    sealImagePath: TestSupport.sealImagePath, groundMode: .normal, throughCairo: cairo)
        }
        let certificate = try Samples.certificate(.incomeTaxation)
        let qr = Samples.qrText(seed: 5, length: 200)
        let new = try renderer(cairo: false).render([(certificate, qr)])
        let old = try renderer(cairo: true).render([(certificate, qr)])
        #expect(try PDFTools.qrCodes(new.pdf) == [qr])
        // Above the microtext band (see the suite's note on the microtext's step).
        try Self.compare(new.pdf, old.pdf, dpi: 300, xMM: 150...195, yMM: 235...283, label: "seal over QR")
    }

    @Test("the prebuilt seal image: one-bit pixels, 1 = ink, painted in the seal's colour")
    func sealImage() throws {
        let plane = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 4 * 32)
        defer { plane.deallocate() }
        plane.initialize(repeating: 0xff)
        let seal = PrebuiltSeal(plane: plane, width: 32, height: 32, stride: 4, ink: (0.8, 0.1, 0.2))
        let object = String(decoding: seal.imageObject, as: UTF8.self)
        #expect(object.contains("/ImageMask true /Width 32 /Height 32"))
        #expect(object.contains("/Decode [1 0]"))
        #expect(seal.content(.init(x: 10, y: 20, width: 20), name: "S").contains("0.8 0.1 0.2 rg"))
    }
}
