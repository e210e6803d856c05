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
        for kind in CertificateKind.allCases {
            let doc = try renderer.render([(try Samples.certificate(kind), Samples.qrText(seed: 1, length: 500))])
            try Data(try PDFTools.png(doc.pdf, dpi: 100)).write(to: URL(fileURLWithPath: "\(dir)/\(kind.rawValue).png"))
            try Data(doc.pdf).write(to: URL(fileURLWithPath: "/tmp/kofu-\(kind.rawValue).pdf"))
        }
        // The 地紋 and the 公印 at print resolution (600 dpi): what the page looks like on paper.
        let tax = try renderer.render([(try Samples.certificate(.taxPayment), Samples.qrText(seed: 1, length: 500))])
        let pdf = try TemporaryDirectory(prefix: "kofu-export").write("tax.pdf", bytes: tax.pdf)
        for (name, x, y) in [("ground-600dpi", 250, 1900), ("seal-600dpi", 3900, 5300)] {
            _ = try PDFTools.run("pdftoppm", ["-r", "600", "-png", "-singlefile", "-x", String(x), "-y", String(y),
                                              "-W", x == 250 ? "700" : "950", "-H", x == 250 ? "500" : "700", pdf, "\(dir)/\(name)"])
        }
        let big = try renderer.render([(try Samples.largeTaxPayment(), Samples.qrText(seed: 2))])
        try Data(big.pdf).write(to: URL(fileURLWithPath: "/tmp/kofu-tax-large.pdf"))
    }
}
