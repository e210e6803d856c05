import Foundation
import KofuDomain
@testable import KofuRendering
import KofuTestSupport
import Testing

/// The 地紋 measured on the rendered page, the way a document examiner would: the latent word must not show on
/// the original (equal ink inside and outside it) and must show on a copy (blur, then black/white).
@Suite("地紋 (anti-copy ground)")
struct GroundTests {
    /// A strip of the page inside the frame and left of every text and table (x 10.5–19.5 mm), long enough to
    /// cross many repeats of the word. Every kind's page has nothing but the ground there.
    static let stripX = 10.5...19.5, stripY = 40.0...160.0
    /// 600 dpi, as the issue asks; a copier's blur of σ ≈ 2 px there, and its black/white decision at mid-grey.
    static let dpi = 600, sigma = 2.0, threshold: UInt8 = 128

    /// The real page and the word's mask at the same place (the same ground drawn with the word solid), both
    /// rasterised over the strip.
    static func pageAndMask(_ kind: CertificateKind) throws -> (page: Raster, mask: [Bool]) {
        let certificate = try Samples.certificate(kind)
        let normal = try Samples.renderer().render([(certificate, "KOFU")])
        let masked = try CertificateRenderer(templatesDirectory: TestSupport.templatesDirectory, fontPath: TestSupport.fontPath,
                                             sealImagePath: TestSupport.sealImagePath, groundMode: .wordMask)
            .render([(certificate, "KOFU")])
        let page = try Raster(normal.pdf, dpi: dpi, xMM: stripX, yMM: stripY)
        let mask = try Raster(masked.pdf, dpi: dpi, xMM: stripX, yMM: stripY)
        return (page, mask.map { $0 < 128 })
    }

    @Test("equal ink inside and outside the word (±10 %), so the original shows no word", arguments: CertificateKind.allCases)
    func equalCoverage(kind: CertificateKind) throws {
        let (page, mask) = try Self.pageAndMask(kind)
        // Away from the word's edge by 6 px (0.25 mm) on both sides, where a dot may be cut by the outline.
        let inside = Raster.erode(mask, width: page.width, height: page.height, radius: 6)
        let outside = Raster.erode(mask.map { !$0 }, width: page.width, height: page.height, radius: 6)
        let insideCount = inside.filter { $0 }.count, outsideCount = outside.filter { $0 }.count
        #expect(insideCount > 50_000 && outsideCount > 50_000, "word and ground both in the strip: \(insideCount), \(outsideCount)")
        let inkIn = page.meanInk(where: inside), inkOut = page.meanInk(where: outside)
        print("地紋 \(kind.rawValue): ink inside the word \(inkIn), outside \(inkOut)")
        #expect(inkOut > 0.02, "the ground is printed at all (\(inkOut))")
        #expect(abs(inkIn / inkOut - 1) <= 0.10, "ink inside \(inkIn), outside \(inkOut)")
    }

    @Test("on a simulated copy (blur σ 2 px at 600 dpi, black/white at mid-grey) the word stands out", arguments: CertificateKind.allCases)
    func survivesCopy(kind: CertificateKind) throws {
        let (page, mask) = try Self.pageAndMask(kind)
        let inside = Raster.erode(mask, width: page.width, height: page.height, radius: 6)
        let outside = Raster.erode(mask.map { !$0 }, width: page.width, height: page.height, radius: 6)
        let copy = page.blurred(sigma: Self.sigma)
        let darkIn = copy.darkFraction(where: inside, threshold: Self.threshold)
        let darkOut = copy.darkFraction(where: outside, threshold: Self.threshold)
        print("地紋 \(kind.rawValue), simulated copy: dark inside the word \(darkIn), outside \(darkOut)")
        #expect(darkIn >= 0.01, "the word's coarse dots survive the copy (\(darkIn))")
        #expect(darkIn >= 3 * darkOut, "dark inside \(darkIn), outside \(darkOut)")
    }

    @Test("the warning word is shapes, not text: the page's text is the same with and without the ground")
    func wordIsNotText() throws {
        let certificate = try Samples.certificate(.taxPayment)
        let with = try Samples.renderer().render([(certificate, "KOFU")])
        let without = try Templates.stripped(["ground:", "  warning:", "  microtext:"]).render([(certificate, "KOFU")])
        #expect(try PDFTools.text(with.pdf) == (try PDFTools.text(without.pdf)))
    }

    @Test("a table header and a grid's label column tint the ground without blanking it")
    func headersKeepTheGround() throws {
        let certificate = try Samples.certificate(.taxPayment)
        let with = try Samples.renderer().render([(certificate, "KOFU")])
        let without = try Templates.stripped(["ground:", "  warning:", "  microtext:"]).render([(certificate, "KOFU")])
        // The table header's left end (x 20.5–27 mm of the 税目 cell, y 89.5–96.5) and the grid's label column
        // (x 20.5–25, y 46.5–54), left of their centred labels: only tint and ground there.
        for (x, y) in [(20.8...27.0, 89.6...96.4), (20.8...25.0, 46.6...54.0)] {
            let inkWith = try Raster(with.pdf, dpi: 300, xMM: x, yMM: y).meanInk()
            let inkWithout = try Raster(without.pdf, dpi: 300, xMM: x, yMM: y).meanInk()
            #expect(inkWith - inkWithout > 0.02, "ground under the tint at \(x), \(y): \(inkWith) vs \(inkWithout)")
        }
    }
}

/// Copies of the shipped templates (always with the wording file they need), some lines left out.
enum Templates {
    /// A templates directory: the four shipped templates without the lines starting with any of `prefixes`,
    /// and the shipped wording.yaml.
    static func strippedCopy(_ prefixes: [String] = []) throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory(prefix: "kofu-templates")
        for kind in CertificateKind.allCases {
            let yaml = try String(contentsOfFile: "\(TestSupport.templatesDirectory)/\(kind.rawValue).yaml", encoding: .utf8)
            let kept = yaml.split(separator: "\n", omittingEmptySubsequences: false)
                .filter { line in !prefixes.contains { line.hasPrefix($0) } }
                .joined(separator: "\n")
            try dir.write("\(kind.rawValue).yaml", text: kept)
        }
        try FileManager.default.copyItem(atPath: "\(TestSupport.templatesDirectory)/wording.yaml", toPath: dir.file("wording.yaml"))
        return dir
    }

    /// A renderer over `strippedCopy(prefixes)`.
    static func stripped(_ prefixes: [String]) throws -> CertificateRenderer {
        let dir = try strippedCopy(prefixes)
        return try withExtendedLifetime(dir) { try Samples.renderer(templates: dir.path) }
    }
}
