import Foundation
import KofuDomain
import Testing
@testable import KofuSeal

@Suite struct SealQRTests {
    /// ISO/IEC 18004:2015 Table 7: version 15, error correction M holds 600 alphanumeric characters.
    static let alphanumericCapacity15M = 600

    @Test func largestSealFitsVersion15AtLevelM() throws {
        let keys = try SealTestKeys()
        // The largest certificate: 5 tax items with eight-digit amounts, and a long name.
        var certificate = SealSamples.certificate(.taxPayment)
        certificate.person.name = "見本山田川 花子美智恵"
        let seal = try keys.signer.seal(certificate)
        #expect(seal.utf8.allSatisfy { Base45.alphabet.contains($0) })
        #expect(seal.utf8.count <= Self.alphanumericCapacity15M)
        let dir = try TempDir()
        defer { dir.cleanup() }
        if QRTools.qrencode != nil {  // without the tool, the capacity-table check above still applies
            // Check the capacity figure itself, then the seal: 77 modules a side is version 15.
            #expect(try QRTools.symbolModules(String(repeating: "A", count: 600), in: dir) == 77)
            #expect(try QRTools.symbolModules(String(repeating: "A", count: 601), in: dir) == 81)
            let modules = try QRTools.symbolModules(seal, in: dir)
            #expect(modules <= 77)
            // Printed 25 mm wide with 4-module quiet zones each side, a module is this many mm:
            #expect(25.0 / Double(modules + 8) >= 0.29)
        }
    }

    @Test(.enabled(if: QRTools.qrencode != nil && QRTools.zbarimg != nil, "needs the qrencode and zbarimg tools"),
          arguments: CertificateKind.allCases)
    func sealDrawnAsQRReadsBackExactly(kind: CertificateKind) throws {
        let keys = try SealTestKeys()
        let seal = try keys.signer.seal(SealSamples.certificate(kind))
        let dir = try TempDir()
        defer { dir.cleanup() }
        let png = try QRTools.png(seal, at: dir.file("seal.png"))
        let read = try QRTools.decode(image: png)
        #expect(read == seal)
        #expect(keys.verifier().verify(read, at: SealSamples.issueDate).outcome == .valid)
    }
}
