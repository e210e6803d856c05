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
        let big = try renderer.render([(try Samples.largeTaxPayment(), Samples.qrText(seed: 2))])
        try Data(big.pdf).write(to: URL(fileURLWithPath: "/tmp/kofu-tax-large.pdf"))
    }
}
