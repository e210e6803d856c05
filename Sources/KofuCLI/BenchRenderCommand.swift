import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuRendering

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
        // One warm-up pass so font loading and cairo's caches are not counted.
        _ = try bench.run(count: min(count, 20))
        print(try bench.run(count: count, concurrency: concurrency))
    }
}
