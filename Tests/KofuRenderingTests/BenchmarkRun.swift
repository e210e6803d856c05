import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// Runs the rendering benchmark (the same code as `kofu bench render`) when KOFU_BENCH=<count> is set,
/// e.g. `KOFU_BENCH=1000 swift test -c release --filter BenchmarkRun`. Prints figures; asserts nothing timed.
@Suite("Benchmark run", .enabled(if: ProcessInfo.processInfo.environment["KOFU_BENCH"] != nil))
struct BenchmarkRun {
    @Test func run() throws {
        let count = Int(ProcessInfo.processInfo.environment["KOFU_BENCH"] ?? "") ?? 1000
        let renderer = try Samples.renderer()
        for kinds in [CertificateKind.allCases] + CertificateKind.allCases.map({ [$0] }) {
            let bench = RenderBenchmark(renderer: renderer, certificates: try kinds.map(Samples.certificate))
            _ = try bench.run(count: 20, qrLength: 500)
            let result = try bench.run(count: count, qrLength: 500)
            print("== \(kinds.count == 1 ? kinds[0].rawValue : "all kinds")\n\(result)")
            #expect(result.pages >= count)
        }
        let parallel = try RenderBenchmark(renderer: renderer, certificates: CertificateKind.allCases.map(Samples.certificate))
            .run(count: count, concurrency: 2, qrLength: 500)
        print("== all kinds, 2 threads\n\(parallel)")
    }
}
