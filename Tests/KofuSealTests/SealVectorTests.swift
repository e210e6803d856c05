import Foundation
import KofuCrypto
import KofuDomain
import Testing
@testable import KofuSeal

/// The committed test vectors in Tests/Fixtures/seal (see docs/seal.md). They are regenerated only
/// on purpose: `KOFU_WRITE_SEAL_VECTORS=1 swift test --filter SealVectorTests/writeVectors`.
@Suite struct SealVectorTests {
    /// The decoded fields of a vector, in the JSON form docs/seal.md describes.
    struct Fields: Codable, Equatable {
        struct TaxLine: Codable, Equatable {
            var tax_item: String
            var assessed: Int
            var paid: Int
            var unpaid: Int
        }
        var format_version: Int
        var municipality_code: String
        var key_id: String
        var certificate_number: String
        var kind: String
        var fiscal_year: Int
        var issue_date: String
        var name: String
        var birth_date: String
        var tax_items: [TaxLine]?
        var total_income: Int?
        var total_tax: Int?
        var non_taxed: Bool?
        var plate: String?
        var paid: Int?
        var valid_until: String?

        init(_ p: SealPayload) {
            format_version = Int(p.version); municipality_code = p.municipalityCode; key_id = Hex.encode(p.keyID)
            certificate_number = p.certificateNumber; kind = p.kind.rawValue; fiscal_year = p.fiscalYear
            issue_date = p.issueDate.iso; name = p.name; birth_date = p.birthDate.iso
            switch p.figures {
            case .taxPayment(let lines):
                tax_items = lines.map { TaxLine(tax_item: $0.taxItem.code, assessed: $0.assessed, paid: $0.paid, unpaid: $0.unpaid) }
            case .incomeTaxation(let income, let tax):
                total_income = income; total_tax = tax
            case .nonTaxation(let nonTaxed, let income):
                non_taxed = nonTaxed; total_income = income
            case .vehicleInspection(let plate, let paid, let validUntil):
                self.plate = plate; self.paid = paid; valid_until = validUntil.iso
            }
        }
    }

    struct Vector: Codable {
        var name: String
        var description: String
        var seal: String
        var expected: String
        var payload_hex: String?
        var signature_hex: String?
        var fields: Fields?
    }

    struct File: Codable {
        var description: String
        var keyring_file: String
        var municipality_code: String
        var verify_date: String
        var vectors: [Vector]
    }

    static let verifyDate = LocalDate(year: 2026, month: 11, day: 22)!

    @Test func committedVectorsVerifyAsStated() throws {
        let dir = SealFixtures.directory
        let data = try #require(FileManager.default.contents(atPath: dir + "/vectors.json"))
        let file = try JSONDecoder().decode(File.self, from: data)
        let ring = try SealKeyring.load(file: dir + "/" + file.keyring_file)
        let verifier = SealVerifier(keyring: ring, municipalityCode: file.municipality_code)
        let date = try #require(LocalDate(iso: file.verify_date))
        #expect(file.vectors.count >= 12)
        var outcomes = Set<String>()
        for v in file.vectors {
            let r = verifier.verify(v.seal, at: date)
            #expect(r.outcome.rawValue == v.expected, "\(v.name)")
            outcomes.insert(r.outcome.rawValue)
            if let fields = v.fields {
                #expect(r.payload.map(Fields.init) == fields, "\(v.name)")
            }
            if let payloadHex = v.payload_hex, let signatureHex = v.signature_hex {
                let (payload, signature) = try SealText.split(v.seal)
                #expect(Hex.encode(payload) == payloadHex, "\(v.name)")
                #expect(Hex.encode(signature) == signatureHex, "\(v.name)")
            }
        }
        // KF1 vectors predate revocation and the content checks (vectors-kf2.json covers those).
        #expect(outcomes == Set(SealVerification.Outcome.allCases.map(\.rawValue)).subtracting(["key_revoked", "implausible"]))
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KOFU_WRITE_SEAL_VECTORS"] == "1"))
    func writeVectors() throws {
        let day = Self.verifyDate
        let main = try SealTestKeys(notBefore: LocalDate(year: 2026, month: 4, day: 1)!,
                                    notAfter: LocalDate(year: 2038, month: 3, day: 31)!)
        let expired = try SealTestKeys(notBefore: LocalDate(year: 2014, month: 4, day: 1)!,
                                       signingUntil: LocalDate(year: 2016, month: 3, day: 31)!,
                                       notAfter: LocalDate(year: 2026, month: 3, day: 31)!)
        let future = try SealTestKeys(notBefore: LocalDate(year: 2027, month: 4, day: 1)!,
                                      notAfter: LocalDate(year: 2039, month: 3, day: 31)!)
        let other = try SealTestKeys(municipalityCode: SealSamples.otherMunicipality.code)
        let unpublished = try SealTestKeys()
        var ring = main.keyring
        for e in [expired.entry, future.entry, other.entry] { try ring.add(e) }

        var vectors: [Vector] = []
        func add(_ name: String, _ description: String, _ seal: String, _ expected: SealVerification.Outcome,
                 withFields: Bool = true) throws {
            let parts = try? SealText.split(seal)
            let payload = parts.flatMap { try? SealPayload(decoding: $0.payload) }
            vectors.append(Vector(name: name, description: description, seal: seal, expected: expected.rawValue,
                                  payload_hex: withFields ? parts.map { Hex.encode($0.payload) } : nil,
                                  signature_hex: withFields ? parts.map { Hex.encode($0.signature) } : nil,
                                  fields: withFields ? payload.map(Fields.init) : nil))
        }
        for kind in CertificateKind.allCases {
            try add("valid_\(kind.rawValue)", "A genuine \(kind.title) seal.", try main.signer.seal(SealSamples.certificate(kind)), .valid)
        }
        let good = try main.signer.seal(SealSamples.certificate(.incomeTaxation, sequence: 456))
        let (payload, signature) = try SealText.split(good)
        try add("valid_income_taxation_456", "The seal the tampered vectors below start from.", good, .valid)

        var figure = payload
        figure[figure.count - 1] ^= 0x02  // last byte: total_tax's final LEB128 byte
        try add("tampered_total_tax", "valid_income_taxation_456 with total_tax changed; signature unchanged.",
                "KF1:" + Base45.encode(figure + signature), .badSignature)
        var sig = signature
        sig[10] ^= 0x01
        try add("tampered_signature", "valid_income_taxation_456 with one bit of r flipped.",
                "KF1:" + Base45.encode(payload + sig), .badSignature)
        var kid = payload
        kid[4] ^= 0xFF
        try add("tampered_key_id", "valid_income_taxation_456 with the first key id byte changed.",
                "KF1:" + Base45.encode(kid + signature), .unknownKey)
        try add("malformed_prefix", "Wrong prefix (KF2:).", "KF2:" + String(good.dropFirst(4)), .malformed, withFields: false)
        try add("malformed_base45", "A lower-case letter is not Base45.", String(good.prefix(4)) + "a" + String(good.dropFirst(5)), .malformed, withFields: false)
        try add("malformed_truncated", "The last Base45 group removed (signature short by 2 bytes).", String(good.dropLast(3)), .malformed, withFields: false)
        var version = payload
        version[0] = 2
        try add("malformed_version", "Format version byte 2.", "KF1:" + Base45.encode(version + signature), .malformed, withFields: false)
        try add("unknown_key", "Signed by a key that is not in the keyring.",
                try unpublished.signer.seal(SealSamples.certificate(.taxPayment)), .unknownKey)
        var old = SealSamples.certificate(.nonTaxation)
        old.issueDate = LocalDate(year: 2015, month: 6, day: 1)!
        try add("key_expired", "Signed in 2015 by a key whose not_after is 2026-03-31.", try expired.signer.seal(old), .keyExpired)
        try add("key_not_yet_valid", "Signed by a key whose not_before is 2027-04-01.",
                try future.signer.seal(SealSamples.certificate(.nonTaxation)), .keyNotYetValid)
        try add("other_municipality", "A genuine seal of municipality 011002, checked by 131041.",
                try other.signer.seal(SealSamples.certificate(.vehicleInspection, municipality: SealSamples.otherMunicipality)),
                .otherMunicipality)

        let file = File(description: "Kofu seal test vectors (format KF1). Verify each `seal` with the keys in keyring_file, for municipality_code, on verify_date; the outcome must be `expected`. See docs/seal.md.",
                        keyring_file: "keyring.json", municipality_code: "131041", verify_date: day.iso, vectors: vectors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let dir = SealFixtures.directory
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (encoder.encode(file) + Data("\n".utf8)).write(to: URL(fileURLWithPath: dir + "/vectors.json"))
        try ring.save(file: dir + "/keyring.json")
    }
}
