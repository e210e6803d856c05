import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuRendering

/// `kofu render`: renders one certificate from a JSON file, for template authors. Templates, font, seal and
/// the municipality come from the configuration (`paths.templates`, `paths.fonts`, `municipality.*`).
struct RenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render a certificate PDF from sample data (for template authors).",
        discussion: "Example: kofu render --kind tax_payment --data Templates/samples/tax_payment.json --out cert.pdf --png cert.png")

    @Option(help: "Certificate kind: \(CertificateKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: String

    @Option(help: "A JSON file holding one Certificate (see Templates/samples/).")
    var data: String

    @Option(help: "Where to write the PDF.")
    var out: String

    @Option(help: "Text for the QR code (the seal payload in production).")
    var qr: String = "KOFU-SAMPLE"

    @Option(help: "Also write page 1 as a PNG at 100 dpi (needs pdftoppm from poppler-utils).")
    var png: String?

    @Option(help: "Configuration file (default: KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    func run() async throws {
        guard let kind = CertificateKind(rawValue: kind) else {
            throw ValidationError("unknown kind '\(self.kind)'; use one of \(CertificateKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let settings = try KofuConfiguration.load(file: config)
        let renderer = try CertificateRenderer(
            templatesDirectory: settings.templatesDir,
            fontPath: (settings.fontsDir as NSString).appendingPathComponent(CertificateRenderer.defaultFontFileName),
            sealImagePath: settings.sealImage)
        var certificate = try JSONDecoder().decode(Certificate.self, from: Data(contentsOf: URL(fileURLWithPath: data)))
        guard certificate.kind == kind else {
            throw ValidationError("\(data) holds a \(certificate.kind.rawValue) certificate, not \(kind.rawValue)")
        }
        certificate.municipality = settings.municipality
        let document = try renderer.render([(certificate, qr)])
        try Data(document.pdf).write(to: URL(fileURLWithPath: out))
        print("\(out): \(document.pageCount) page(s), \(document.pdf.count) bytes")
        if let png {
            try Self.rasterise(pdf: out, png: png)
            print("\(png): page 1 at 100 dpi")
        }
    }

    static func rasterise(pdf: String, png: String) throws {
        let prefix = png.hasSuffix(".png") ? String(png.dropLast(4)) : png
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["pdftoppm", "-r", "100", "-png", "-singlefile", "-f", "1", "-l", "1", pdf, prefix]
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw ValidationError("pdftoppm failed (is poppler-utils installed?)") }
    }
}
