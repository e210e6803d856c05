import KofuDomain
import Testing
@testable import KofuSeal

@Suite struct SealPayloadTests {
    let keyID: [UInt8] = [1, 2, 3, 4, 5, 6, 7, 8]

    @Test(arguments: CertificateKind.allCases)
    func roundTripForEveryKind(kind: CertificateKind) throws {
        let payload = SealPayload(certificate: SealSamples.certificate(kind), keyID: keyID)
        let bytes = try payload.encoded()
        let decoded = try SealPayload(decoding: bytes)
        #expect(decoded == payload)
        #expect(decoded.kind == kind)
        #expect(decoded.municipalityCode == "131041")
        #expect(decoded.certificateNumber == "2026-0000123")
        #expect(decoded.fiscalYear == 2026)
        #expect(decoded.issueDate == SealSamples.issueDate)
        #expect(decoded.name == "見本 花子")
        #expect(decoded.birthDate == LocalDate(year: 1980, month: 1, day: 2)!)
        #expect(decoded.keyID == keyID)
    }

    @Test func figuresComeFromTheCertificate() {
        let tax = SealPayload(certificate: SealSamples.certificate(.taxPayment), keyID: keyID)
        guard case .taxPayment(let lines) = tax.figures else { Issue.record("kind"); return }
        #expect(lines.map(\.taxItem) == TaxItem.allCases)
        #expect(lines[2] == .init(taxItem: .fixedAsset, assessed: 4 * 12_347_600, paid: 3 * 12_347_600, unpaid: 12_347_600))

        let income = SealPayload(certificate: SealSamples.certificate(.incomeTaxation), keyID: keyID)
        #expect(income.figures == .incomeTaxation(totalIncome: 4_160_000, totalTax: 296_000))

        let non = SealPayload(certificate: SealSamples.certificate(.nonTaxation), keyID: keyID)
        #expect(non.figures == .nonTaxation(nonTaxed: true, totalIncome: 430_000))

        let vehicle = SealPayload(certificate: SealSamples.certificate(.vehicleInspection), keyID: keyID)
        #expect(vehicle.figures == .vehicleInspection(plate: "見本 580 あ 12-34", paid: 10_800,
                                                      validUntil: LocalDate(year: 2027, month: 5, day: 31)!))
    }

    @Test func amountsUseZigzagLEB128() throws {
        for v in [0, 1, -1, 63, -64, 64, 300, 12_345_678, -4_160_000, Int(Int32.max), Int.max, Int.min] {
            var w = ByteWriter()
            w.amount(v)
            var r = ByteReader(w.out)
            #expect(try r.amount() == v)
            #expect(r.atEnd)
        }
        var w = ByteWriter()
        w.amount(-1); w.amount(150); w.amount(296_000)
        #expect(w.out == [0x01, 0xAC, 0x02, 0x80, 0x91, 0x24])
    }

    @Test func decodingIsStrict() throws {
        let bytes = try SealPayload(certificate: SealSamples.certificate(.incomeTaxation), keyID: keyID).encoded()
        #expect(throws: SealFormatError.trailingBytes) { try SealPayload(decoding: bytes + [0]) }
        #expect(throws: SealFormatError.truncated) { try SealPayload(decoding: Array(bytes.dropLast())) }
        var v3 = bytes; v3[0] = 3
        #expect(throws: SealFormatError.unsupportedVersion(3)) { try SealPayload(decoding: v3) }
        var badCode = bytes; badCode[1] = 0xFF
        #expect(throws: SealFormatError.invalidField("municipality_code")) { try SealPayload(decoding: badCode) }
        // A non-minimal amount (0 written as 0x80 0x00) is refused, so each value has one encoding.
        var r = ByteReader([0x80, 0x00])
        #expect(throws: SealFormatError.invalidField("amount")) { try r.amount() }
        var overlong = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])
        #expect(throws: SealFormatError.invalidField("amount")) { try overlong.amount() }
    }

    @Test func encodingRefusesWhatItCannotCarry() {
        var p = SealPayload(certificate: SealSamples.certificate(.nonTaxation), keyID: keyID)
        p.name = String(repeating: "あ", count: 86)  // 258 UTF-8 bytes
        #expect(throws: SealFormatError.invalidField("name")) { try p.encoded() }
        p = SealPayload(certificate: SealSamples.certificate(.nonTaxation), keyID: [1, 2, 3])
        #expect(throws: SealFormatError.invalidField("key_id")) { try p.encoded() }
        p = SealPayload(certificate: SealSamples.certificate(.nonTaxation), keyID: keyID)
        p.municipalityCode = "13104"
        #expect(throws: SealFormatError.invalidField("municipality_code")) { try p.encoded() }
    }

    @Test func leadingZeroMunicipalityCodeSurvives() throws {
        let c = SealSamples.certificate(.nonTaxation, municipality: SealSamples.otherMunicipality)
        let p = SealPayload(certificate: c, keyID: keyID)
        #expect(try SealPayload(decoding: p.encoded()).municipalityCode == "011002")
    }
}
