import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// The server renders in parallel: each PDF must hold only its own certificate's data.
@Suite("Concurrent rendering")
struct ConcurrencyTests {
    @Test("48 renders on many tasks at once each carry their own person, number and QR")
    func parallelRendersDoNotMix() async throws {
        let renderer = try Samples.renderer()
        let kinds = CertificateKind.allCases
        let inputs: [(Certificate, String)] = try (0..<48).map { i in
            var c = try Samples.certificate(kinds[i % kinds.count])
            c.number = CertificateNumber(year: 2026, sequence: 9000 + i)
            c.person.name = "試験　太郎\(i)号"
            c.person.address = "東京都新宿区西新宿\(i + 1)丁目"
            return (c, Samples.qrText(seed: 1000 + i, length: 300))
        }
        let results = try await withThrowingTaskGroup(of: (Int, RenderedDocument).self) { group in
            for (i, input) in inputs.enumerated() {
                group.addTask { (i, try renderer.render([(input.0, input.1)])) }
            }
            var out: [Int: RenderedDocument] = [:]
            for try await (i, doc) in group { out[i] = doc }
            return out
        }
        #expect(results.count == inputs.count)
        for (i, input) in inputs.enumerated() {
            let doc = try #require(results[i])
            let text = PDFTools.compact(try PDFTools.text(doc.pdf))
            #expect(text.contains(input.0.number.value))
            #expect(text.contains("試験太郎\(i)号"))
            #expect(text.contains("東京都新宿区西新宿\(i + 1)丁目"))
            for j in inputs.indices where j != i {
                #expect(!text.contains(inputs[j].0.number.value))
            }
            #expect(try PDFTools.qpdfCheck(doc.pdf) == nil)
        }
        // QR decoding is slow; check a sample of them.
        for i in stride(from: 0, to: inputs.count, by: 8) {
            #expect(try PDFTools.qrCodes(results[i]!.pdf) == [inputs[i].1])
        }
    }
}
