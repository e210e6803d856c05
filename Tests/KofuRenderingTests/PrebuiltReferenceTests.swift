import Foundation
import KofuDomain
@testable import KofuRendering
import KofuTestSupport
import Testing

/// The 地紋 and the 公印 are written as prebuilt PDF objects (`PrebuiltGround`, `PrebuiltSeal`) instead of being
/// drawn through cairo in every render. These tests compare the pages against the reference: the same renderer
/// with both drawn through cairo as before (`groundThroughCairo`), rasterised by poppler.
///
/// What may differ, and by how much: the pixels are the same shapes at the same places; what moves is
/// anti-aliasing at the edges of a few dots and glyph outlines (cairo printed the outline's coordinates with 3
/// decimals in 0.1 mm units, the prebuilt cell with 6; cairo's dot centre 3.949 is 3.95 here), and the seal
/// is painted after the QR instead of before it (they never overlap: `sealOverlapsQR`). Measured when this was
/// written (600 dpi): 121 of 350,000 pixels of the ground strip and 516 of 665,000 around the seal differ by more
/// than 16/255; the tolerance below is 0.5 % of the pixels and 0.005 in mean ink. Drawing the cell without
/// cairo's form XObject around it (a first version) moved whole dots in poppler's tiling: 16 % of the pixels
/// differed, which these tests reject.
@Suite("Prebuilt ground and seal against cairo's drawing")
struct PrebuiltReferenceTests {
    static let reference: Result<CertificateRenderer, any Error> = Result {
        try CertificateRenderer(templatesDirectory: TestSupport.templatesDirectory, fontPath: TestSupport.fontPath,
                                sealImagePath: TestSupport.sealImagePath, groundMode: .normal, groundThroughCairo: true)
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
        print("prebuilt vs cairo, \(label): \(differing) of \(a.pixels.count) pixels differ by > 16/255; ink \(inkNew) vs \(inkOld)")
        #expect(fraction <= 0.005, "\(label): \(differing) of \(a.pixels.count) pixels differ")
        #expect(abs(inkNew - inkOld) <= 0.005, "\(label): mean ink \(inkNew) vs \(inkOld)")
    }

    @Test("every kind: the ground strip and the seal look as cairo drew them, and the text is the same",
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
        #expect(pdf.contains("/\(PrebuiltSeal.resourceName) Do"))
        // Both templates have the same ground (複写, same size and ink): its cell is written once.
        #expect(pdf.components(separatedBy: "/Type /XObject /Subtype /Form /BBox").count - 1 == 1)
        #expect(pdf.components(separatedBy: "/ImageMask true").count - 1 == 1 + new.pageCount)  // the seal once, a QR per page
    }

    @Test("without microtext (page resources without /Pattern) the ground still matches cairo's")
    func withoutMicrotext() throws {
        let dir = try Templates.strippedCopy(["  microtext:"])
        func renderer(cairo: Bool) throws -> CertificateRenderer {
            try CertificateRenderer(templatesDirectory: dir.path, fontPath: TestSupport.fontPath,
                                    sealImagePath: TestSupport.sealImagePath, groundMode: .normal, groundThroughCairo: cairo)
        }
        let certificate = try Samples.certificate(.nonTaxation)
        let new = try renderer(cairo: false).render([(certificate, "KOFU")])
        let old = try renderer(cairo: true).render([(certificate, "KOFU")])
        #expect(try PDFTools.qpdfCheck(new.pdf) == nil)
        try Self.compare(new.pdf, old.pdf, dpi: 600, xMM: GroundTests.stripX, yMM: 40...100, label: "no microtext, ground")
        try Self.compare(new.pdf, old.pdf, dpi: 150, xMM: 0...210, yMM: 0...297, label: "no microtext, page")
    }

    @Test("a seal that would overlap the QR is left to cairo, which paints the QR's white square after it")
    func sealOverQR() throws {
        let plane = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: 4 * 32)
        defer { plane.deallocate() }
        plane.initialize(repeating: 0xff)
        let seal = PrebuiltSeal(plane: plane, width: 32, height: 32, stride: 4, ink: (0.8, 0.1, 0.2))
        let qr = QRElement(x: 156, y: 252, size: 32)
        // The shipped templates: the seal ends at 251 mm, the QR starts at 252.
        #expect(!CertificatePage.sealOverlapsQR(.init(x: 170.5, y: 231, width: 20), seal: seal, qr: qr))
        #expect(CertificatePage.sealOverlapsQR(.init(x: 170.5, y: 233, width: 20), seal: seal, qr: qr))
        #expect(CertificatePage.sealOverlapsQR(.init(x: 140, y: 260, width: 20), seal: seal, qr: qr))
        #expect(!CertificatePage.sealOverlapsQR(.init(x: 130, y: 260, width: 20), seal: seal, qr: qr))
        // The image mask: 32 × 32 one-bit pixels, 1 = ink.
        let object = String(decoding: seal.imageObject, as: UTF8.self)
        #expect(object.contains("/ImageMask true /Width 32 /Height 32"))
        #expect(object.contains("/Decode [1 0]"))
        #expect(seal.content(.init(x: 10, y: 20, width: 20), name: "S").contains("0.8 0.1 0.2 rg"))
    }
}
