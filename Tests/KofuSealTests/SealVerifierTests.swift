import Foundation
import KofuCrypto
import KofuDomain
import Testing
@testable import KofuSeal

@Suite struct SealVerifierTests {
    let today = LocalDate(year: 2026, month: 11, day: 22)!

    @Test(arguments: CertificateKind.allCases)
    func signedSealVerifiesWithItsFields(kind: CertificateKind) throws {
        let keys = try SealTestKeys()
        let certificate = SealSamples.certificate(kind)
        let text = try keys.signer.seal(certificate)
        #expect(text.hasPrefix("KF2:"))
        let result = keys.verifier().verify(text, at: today)
        #expect(result.outcome == .valid)
        #expect(result.payload == (try SealPayload(certificate: certificate, pages: 1,
                                                   signedAt: UInt32(SealSamples.noon(of: certificate.issueDate).timeIntervalSince1970),
                                                   keyID: keys.signer.keyID)))
        #expect(result.key?.keyID == keys.signer.keyID)
    }

    @Test func keyIDIsTheSPKIDigestPrefix() throws {
        let keys = try SealTestKeys()
        #expect(keys.signer.keyID == Array(SHA256.hash(keys.privateKey.publicKey.spkiDER).prefix(8)))
        #expect(keys.privateKey.publicKey.spkiDER.count == 91)
    }

    @Test func sealFromAnUnpublishedKeyIsUnknownKey() throws {
        let published = try SealTestKeys()
        let rogue = try SealTestKeys()
        let text = try rogue.signer.seal(SealSamples.certificate(.taxPayment))
        let r = published.verifier().verify(text, at: today)
        #expect(r.outcome == .unknownKey)
        #expect(r.payload != nil)
    }

    @Test func rogueKeyClaimingAPublishedKeyIDIsBadSignature() throws {
        let published = try SealTestKeys()
        let rogue = try SealTestKeys()
        let payload = SealPayload(certificate: SealSamples.certificate(.incomeTaxation), keyID: published.signer.keyID)
        let text = try rogue.signer.seal(payload: payload)
        #expect(published.verifier().verify(text, at: today).outcome == .badSignature)
    }

    @Test func keyDatesBoundVerification() throws {
        let keys = try SealTestKeys(notBefore: LocalDate(year: 2026, month: 4, day: 1)!,
                                    notAfter: LocalDate(year: 2036, month: 3, day: 31)!)
        let text = try keys.signer.seal(SealSamples.certificate(.nonTaxation))
        let v = keys.verifier()
        #expect(v.verify(text, at: LocalDate(year: 2036, month: 3, day: 31)!).outcome == .valid)
        #expect(v.verify(text, at: LocalDate(year: 2036, month: 4, day: 1)!).outcome == .keyExpired)
        #expect(v.verify(text, at: LocalDate(year: 2026, month: 3, day: 31)!).outcome == .keyNotYetValid)

        // The seal claims an issue date before the key existed.
        let early = try SealTestKeys(notBefore: LocalDate(year: 2026, month: 12, day: 1)!)
        let earlyText = try early.signer.seal(SealSamples.certificate(.nonTaxation))
        #expect(early.verifier().verify(earlyText, at: LocalDate(year: 2027, month: 1, day: 1)!).outcome == .keyNotYetValid)
    }

    @Test func retiredKeyVerifiesOldSealsButNotNewOnes() throws {
        // Rotated out on 2026-11-22: seals issued that day or before verify until not_after.
        let keys = try SealTestKeys(signingUntil: LocalDate(year: 2026, month: 11, day: 22)!,
                                    notAfter: LocalDate(year: 2036, month: 11, day: 22)!)
        let old = try keys.signer.seal(SealSamples.certificate(.taxPayment))
        #expect(keys.verifier().verify(old, at: LocalDate(year: 2035, month: 1, day: 1)!).outcome == .valid)
        var late = SealSamples.certificate(.taxPayment)
        late.issueDate = LocalDate(year: 2026, month: 11, day: 23)!
        let lateText = try keys.signer.seal(late)
        #expect(keys.verifier().verify(lateText, at: LocalDate(year: 2026, month: 11, day: 23)!).outcome == .keyExpired)
    }

    @Test func rotationRetiresTheOldKeyAndKeepsItsEndDate() throws {
        let a = try SealTestKeys()
        let b = try SealTestKeys(notBefore: today)
        var ring = a.keyring
        try ring.add(b.entry)
        ring.retireAll(except: b.entry.keyID, municipalityCode: "131041", on: today)
        #expect(ring.entry(keyID: a.entry.keyID)?.signingUntil == today)
        #expect(ring.entry(keyID: a.entry.keyID)?.notAfter == a.entry.notAfter)
        #expect(ring.entry(keyID: b.entry.keyID)?.signingUntil == nil)
        #expect(ring.activeEntry(municipalityCode: "131041", on: today.adding(days: 1))?.keyID == b.entry.keyID)
        #expect(throws: SealKeyringError.duplicateKey(b.entry.keyIDHex)) { try ring.add(b.entry) }
        let oldSeal = try a.signer.seal(SealSamples.certificate(.vehicleInspection))
        let newSeal = try b.signer.seal(SealSamples.certificate(.vehicleInspection))
        let v = SealVerifier(keyring: ring, municipalityCode: "131041")
        #expect(v.verify(oldSeal, at: today.adding(days: 400)).outcome == .valid)
        #expect(v.verify(newSeal, at: today.adding(days: 400)).outcome == .valid)
    }

    @Test func otherMunicipalitysGenuineSeal() throws {
        let theirs = try SealTestKeys(municipalityCode: SealSamples.otherMunicipality.code)
        let text = try theirs.signer.seal(SealSamples.certificate(.taxPayment, municipality: SealSamples.otherMunicipality))
        // A shared keyring (one vendor hosting both) knows the key: the seal is genuine but not ours.
        #expect(theirs.verifier(municipalityCode: "131041").verify(text, at: today).outcome == .otherMunicipality)
        #expect(theirs.verifier(municipalityCode: "011002").verify(text, at: today).outcome == .valid)
        // Their key signing a seal that names our municipality is not a seal either of us made.
        let forged = try theirs.signer.seal(SealSamples.certificate(.taxPayment))
        #expect(theirs.verifier(municipalityCode: "131041").verify(forged, at: today).outcome == .badSignature)
    }

    @Test func malformedTexts() throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        let good = try keys.signer.seal(SealSamples.certificate(.nonTaxation))
        let cases: [(String, SealFormatError)] = [
            ("", .missingPrefix),
            ("KF3:" + good.dropFirst(4), .missingPrefix),
            ("kf2:" + good.dropFirst(4), .missingPrefix),
            ("KF1:" + good.dropFirst(4), .prefixMismatch),
            (good + "a", .notBase45),
            (good.lowercased().replacingOccurrences(of: "kf2:", with: "KF2:"), .notBase45),
            ("KF2:" + Base45.encode([1] + [UInt8](repeating: 0, count: 64)), .truncated),
            ("KF2:" + Base45.encode([UInt8](repeating: 0, count: 64)), .truncated),
        ]
        for (text, error) in cases {
            let r = v.verify(text, at: today)
            #expect(r.outcome == .malformed)
            #expect(r.formatError == error)
        }
        // Anything after the signature is refused: the signature is the last 64 bytes, so extra
        // bytes shift it and the structure check or the signature check fails.
        let (payload, signature) = try SealText.split(good)
        let extended = "KF2:" + Base45.encode(payload + signature + [0])
        #expect(v.verify(extended, at: today).outcome == .malformed)
    }

    /// Every single-character change of a seal text fails, with the reason its position implies.
    @Test(arguments: [CertificateKind.taxPayment, .vehicleInspection])
    func everySingleCharacterChangeFails(kind: CertificateKind) throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        let text = try keys.signer.seal(SealSamples.certificate(kind))
        let chars = Array(text.utf8)
        let (payload, _) = try SealText.split(text)
        // Base45 character i belongs to byte pair i/3; the key id is payload bytes 4..<12.
        let keyIDRange = 4..<12
        var checked = 0
        for i in chars.indices {
            for c in Base45.alphabet + Array("k".utf8) where c != chars[i] {
                var t = chars
                t[i] = c
                let changed = String(decoding: t, as: UTF8.self)
                let r = v.verify(changed, at: today)
                #expect(r.outcome != .valid)
                let expected: SealVerification.Outcome
                if i < 4 {
                    expected = .malformed
                } else if let split = try? SealText.split(changed), let decoded = try? SealPayload(decoding: split.payload) {
                    let bytesTouched = Set([((i - 4) / 3) * 2, ((i - 4) / 3) * 2 + 1])
                    expected = decoded.keyID != keys.signer.keyID && !bytesTouched.isDisjoint(with: keyIDRange)
                        ? .unknownKey : .badSignature
                } else {
                    expected = .malformed
                }
                #expect(r.outcome == expected, "position \(i) → \(UnicodeScalar(c))")
                checked += 1
            }
        }
        #expect(checked == chars.count * 45)
        #expect(payload.count > 60)
    }

    /// Every change of every single byte of the decoded binary (payload and signature) fails.
    @Test func everySingleByteChangeOfTheBinaryFails() throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        let (payload, signature) = try SealText.split(try keys.signer.seal(SealSamples.certificate(.taxPayment)))
        let binary = payload + signature
        for i in binary.indices {
            for delta in [1, 0x80, 0xFF] as [UInt8] {
                var b = binary
                b[i] ^= delta
                let r = v.verify("KF2:" + Base45.encode(b), at: today)
                let expected: SealVerification.Outcome
                if i >= payload.count {
                    expected = .badSignature
                } else if (try? SealPayload(decoding: Array(b[..<payload.count]))) == nil {
                    expected = .malformed
                } else if (4..<12).contains(i) {
                    expected = .unknownKey
                } else {
                    expected = .badSignature
                }
                #expect(r.outcome == expected, "byte \(i) ^ \(delta)")
            }
        }
    }
}

@Suite struct SealBenchmarkTests {
    /// The benchmark's work is real: every seal it signs verifies (speed is reported, not asserted).
    @Test func benchmarkSignsSealsThatVerify() throws {
        let r = try SealBenchmark.run(certificate: SealSamples.certificate(.taxPayment), iterations: 20, runs: 1)
        #expect(r.signaturesPerSecond > 0 && r.verificationsPerSecond > 0)
        #expect(r.sealLength == (try SealTestKeys().signer.seal(SealSamples.certificate(.taxPayment))).utf8.count)
    }
}
