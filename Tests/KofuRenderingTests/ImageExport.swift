import Foundation
import KofuDomain
import KofuTestSupport
import Testing

/// Writes `docs/images/<kind>.png` (and the PDFs) from the sample data for the README and docs/rendering.md.
/// Runs only when KOFU_EXPORT_IMAGES=1, so the ordinary suite never writes into the repository.
@Suite("Image export", .enabled(if: ProcessInfo.processInfo.environment["KOFU_EXPORT_IMAGES"] == "1"))
struct ImageExport {
    @Test func export() throws {
        let renderer = try Samples.renderer()
        let dir = TestSupport.packageRoot + "/docs/images"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // The page pictures leave the 地紋 out: its dots, which a printer renders as an even tint, are noise to
        // PNG compression (550 KB a page at 100 dpi) and, scaled down on a screen, show the word that the print
        // hides. The 600 dpi crops below show the ground as printed.
        let layout = try Templates.stripped(["ground:", "  warning:", "  microtext:"])
        for kind in CertificateKind.allCases {
            let doc = try layout.render([(try Samples.certificate(kind), Samples.qrText(seed: 1, length: 500))])
            try Data(try PDFTools.png(doc.pdf, dpi: 100)).write(to: URL(fileURLWithPath: "\(dir)/\(kind.rawValue).png"))
            let full = try renderer.render([(try Samples.certificate(kind), Samples.qrText(seed: 1, length: 500))])
            try Data(full.pdf).write(to: URL(fileURLWithPath: "/tmp/kofu-\(kind.rawValue).pdf"))
        }
        // The 地紋 and the 公印 at print resolution (600 dpi): what the page looks like on paper.
        let tax = try renderer.render([(try Samples.certificate(.taxPayment), Samples.qrText(seed: 1, length: 500))])
        let scratch = try TemporaryDirectory(prefix: "kofu-export")
        let pdf = try scratch.write("tax.pdf", bytes: tax.pdf)
        for (name, x, y) in [("ground-600dpi", 250, 1900), ("seal-600dpi", 3900, 5300)] {
            let r = try PDFTools.run("pdftoppm", ["-r", "600", "-png", "-singlefile", "-x", String(x), "-y", String(y),
                                              "-W", x == 250 ? "700" : "950", "-H", x == 250 ? "500" : "700", pdf, "\(dir)/\(name)"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let big = try renderer.render([(try Samples.largeTaxPayment(), Samples.qrText(seed: 2))])
        try Data(big.pdf).write(to: URL(fileURLWithPath: "/tmp/kofu-tax-large.pdf"))
    }
}
