import Foundation
import KofuDomain

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Measures rendering: CPU time per page on the calling thread, bytes per page, pages per second.
/// Used by `kofu bench render`; the figures go to docs/perf/rendering.md.
public struct RenderBenchmark: Sendable {
    /// The result of one run.
    public struct Result: Sendable, CustomStringConvertible {
        public let certificates: Int
        public let pages: Int
        public let medianCPUMillisecondsPerPage: Double
        public let p95CPUMillisecondsPerPage: Double
        public let meanBytesPerPage: Double
        public let maxBytesPerPage: Int
        public let pagesPerSecond: Double
        public let concurrency: Int

        public var description: String {
            func f(_ v: Double) -> String { String(format: "%.2f", v) }
            return """
                certificates: \(certificates), pages: \(pages), concurrency: \(concurrency)
                CPU ms per page: median \(f(medianCPUMillisecondsPerPage)), p95 \(f(p95CPUMillisecondsPerPage))
                bytes per page: mean \(Int(meanBytesPerPage)), max \(maxBytesPerPage)
                pages per second (wall clock): \(f(pagesPerSecond))
                """
        }
    }

    let renderer: CertificateRenderer
    let certificates: [Certificate]

    /// `certificates` are rendered round-robin, one certificate per PDF, each with a fresh number.
    public init(renderer: CertificateRenderer, certificates: [Certificate]) {
        self.renderer = renderer
        self.certificates = certificates
    }

    /// Renders `count` certificates on `concurrency` threads, each with a synthetic QR text of `qrLength`
    /// alphanumeric characters (600 is the most a seal may have: version 15 at error correction M).
    public func run(count: Int, concurrency: Int = 1, qrLength: Int) throws -> Result {
        let qr = Self.syntheticQRText(length: qrLength)
        return try run(count: count, concurrency: concurrency) { _ in qr }
    }

    /// `length` characters of QR alphanumeric text (the characters a Base45 seal uses).
    public static func syntheticQRText(length: Int) -> String {
        String(String(repeating: "KOFU0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:", count: length / 48 + 1).prefix(length))
    }

    /// Renders `count` certificates on `concurrency` threads. `qrText` gives each certificate its QR text (its
    /// signed seal in `kofu bench render`); it runs before the CPU clock starts, so only rendering is counted.
    public func run(count: Int, concurrency: Int = 1,
                    qrText: @Sendable (Certificate) throws -> String) throws -> Result {
        precondition(!certificates.isEmpty && count > 0 && concurrency > 0)
        let samples = SampleBox(count: count)
        let start = Date()
        let failures = SampleBox(count: 0)
        DispatchQueue.concurrentPerform(iterations: concurrency) { worker in
            for i in stride(from: worker, to: count, by: concurrency) {
                var c = certificates[i % certificates.count]
                c.number = CertificateNumber(year: c.number.value.count >= 4 ? Int(c.number.value.prefix(4)) ?? 2026 : 2026,
                                             sequence: i + 1)
                do {
                    let qr = try qrText(c)
                    let before = Self.threadCPUTime()
                    let doc = try renderer.render([(c, qr)])
                    let cpu = Self.threadCPUTime() - before
                    samples.set(i, (cpu / Double(doc.pageCount) * 1000, doc.pdf.count, doc.pageCount))
                } catch {
                    failures.fail()
                }
            }
        }
        let wall = Date().timeIntervalSince(start)
        if failures.failed > 0 { throw RenderError.cairo(status: "\(failures.failed) renders failed") }
        let all = samples.values
        let perPage = all.map(\.0).sorted()
        let pages = all.reduce(0) { $0 + $1.2 }
        let bytes = all.reduce(0) { $0 + $1.1 }
        return Result(
            certificates: count, pages: pages,
            medianCPUMillisecondsPerPage: perPage[perPage.count / 2],
            p95CPUMillisecondsPerPage: perPage[min(perPage.count - 1, Int(Double(perPage.count) * 0.95))],
            meanBytesPerPage: Double(bytes) / Double(pages),
            maxBytesPerPage: all.map { $0.1 / max(1, $0.2) }.max() ?? 0,
            pagesPerSecond: Double(pages) / wall,
            concurrency: concurrency)
    }

    /// CPU seconds used by the calling thread.
    static func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Per-iteration results written from several threads, each index by exactly one thread.
    private final class SampleBox: @unchecked Sendable {
        // Safety: all access goes through `lock`.
        private let lock = NSLock()
        private var storage: [(Double, Int, Int)]
        private var failures = 0
        init(count: Int) { storage = Array(repeating: (0, 0, 0), count: count) }
        func set(_ i: Int, _ v: (Double, Int, Int)) { lock.lock(); storage[i] = v; lock.unlock() }
        func fail() { lock.lock(); failures += 1; lock.unlock() }
        var values: [(Double, Int, Int)] { lock.lock(); defer { lock.unlock() }; return storage }
        var failed: Int { lock.lock(); defer { lock.unlock() }; return failures }
    }
}

extension CertificateRenderer {
    /// The certificate font shipped in `Fonts/` (BIZ UDMincho, SIL OFL).
    public static let defaultFontFileName = "BIZUDMincho-Regular.ttf"
}
