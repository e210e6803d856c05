import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuCrypto
import KofuRendering
import KofuSeal
import KofuServer

/// `kofu bench render`: renders many certificates from the sample data and prints CPU ms per page
/// (median, p95), bytes per page and pages per second. Registered under a `bench` command group.
struct BenchRenderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Benchmark certificate rendering (figures for docs/perf/rendering.md).")

    @Option(help: "How many certificates to render (one per PDF).")
    var count: Int = 1000

    @Option(help: "Render on this many threads at once (1 = CPU time on one core).")
    var concurrency: Int = 1

    @Option(help: "Certificate kind to render, or 'all' to cycle through the four kinds.")
    var kind: String = "all"

    @Option(help: "Folder of sample certificates (<kind>.json).")
    var samples: String = "Templates/samples"

    @Option(help: ArgumentHelp(
        "Put a synthetic QR text of this many characters on every certificate instead of its real seal "
            + "(600 = the most a seal may hold, QR version 15).",
        valueName: "characters"))
    var qrLength: Int?

    @Flag(help: "Then time the same certificates drawn through cairo, the reference drawing, under the same load.")
    var reference = false

    @Option(help: "Configuration file (default: KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    func run() async throws {
        guard count > 0, concurrency > 0 else { throw ValidationError("--count and --concurrency must be positive") }
        let kinds: [CertificateKind]
        if kind == "all" { kinds = CertificateKind.allCases } else if let k = CertificateKind(rawValue: kind) { kinds = [k] } else {
            throw ValidationError("unknown kind '\(kind)'")
        }
        let settings = try KofuConfiguration.load(file: config)
        let renderer = try CertificateRenderer(
            templatesDirectory: settings.templatesDir,
            fontPath: (settings.fontsDir as NSString).appendingPathComponent(CertificateRenderer.defaultFontFileName),
            sealImagePath: settings.sealImage)
        let certificates = try kinds.map { k in
            var c = try JSONDecoder().decode(Certificate.self, from: Data(contentsOf: URL(fileURLWithPath: "\(samples)/\(k.rawValue).json")))
            c.municipality = settings.municipality
            return c
        }
        let bench = RenderBenchmark(renderer: renderer, certificates: certificates)
        // Each certificate carries its own seal, signed with a throwaway key before its render is timed, as
        // the kiosk service does; --qr-length replaces it with a synthetic text of a chosen size.
        let signer = SealSigner(privateKey: try ECDSAP256.PrivateKey.generate())
        let qrText: @Sendable (Certificate) throws -> String
        if let qrLength {
            guard (1...600).contains(qrLength) else { throw ValidationError("--qr-length must be 1...600") }
            let text = RenderBenchmark.syntheticQRText(length: qrLength)
            qrText = { _ in text }
        } else {
            qrText = { try signer.seal($0, pages: renderer.pageCount(of: $0), signedAt: Date()).text }
        }
        // One warm-up pass so loading and first-use caches are not counted.
        _ = try bench.run(count: min(count, 20), qrText: qrText)
        let result = try bench.run(count: count, concurrency: concurrency, qrText: qrText)
        let lengths = try certificates.map { try qrText($0).count }
        print(result)
        if reference {
            let cairo = try CertificateRenderer.cairoReference(
                templatesDirectory: settings.templatesDir,
                fontPath: (settings.fontsDir as NSString).appendingPathComponent(CertificateRenderer.defaultFontFileName),
                sealImagePath: settings.sealImage)
            let referenceBench = RenderBenchmark(renderer: cairo, certificates: certificates)
            _ = try referenceBench.run(count: min(count, 20), qrText: qrText)
            print("reference (the same pages through cairo):\n\(try referenceBench.run(count: count, concurrency: concurrency, qrText: qrText))")
        }
        print("QR text: \(qrLength.map { "synthetic, \($0) characters" } ?? "each certificate's signed seal, \(lengths.min()!)–\(lengths.max()!) characters")")
    }
}
