import Foundation
import KofuCrypto
import KofuDomain
import Testing
@testable import KofuSeal

/// KF2 (issue 15): everything printed is bound, low-S, revocation, content sanity, KF1 compatibility.
@Suite struct SealKF2Tests {
    static let today = SealSamples.issueDate

    /// A certificate with every optional part present, so that changing any field is visible.
    static func full(_ kind: CertificateKind) -> Certificate {
        var c = SealSamples.certificate(kind)
        c.issuedAt = .kiosk(storeChain: "見本マート", storeID: "S001", terminalID: "T01")
        c.dataAsOf = LocalDate(year: 2026, month: 11, day: 1)
        c.municipality.verifyURL = "https://www.city.example.lg.jp/kofu/verify"
        if case .incomeTaxation(var a) = c.body {
            a.deductions = IncomeDeductions(socialInsurance: 800_000, lifeInsurance: 40_000, basic: 430_000)
            a.dependentsBreakdown = DependentsBreakdown(spouse: 1, minor: 1)
            a.taxCredits = TaxCredits(adjustment: 2_500, housingLoan: 30_000)
            a.forestEnvironmentTax = 1_000
            c.body = .incomeTaxation(a)
        }
        if case .nonTaxation(var a) = c.body {
            a.nonTaxation = NonTaxationDetail(perCapitaExempt: true, incomeLevyExempt: true, reason: .incomeBelowPerCapitaThreshold)
            a.deductions = IncomeDeductions(basic: 430_000)
            a.forestEnvironmentTax = 0
            c.body = .nonTaxation(a)
        }
        return c
    }

    /// Every field of the `Certificate` value, changed one at a time (named for the failure message).
    static func mutations(_ kind: CertificateKind) -> [(String, (inout Certificate) -> Void)] {
        var m: [(String, (inout Certificate) -> Void)] = [
            ("number", { $0.number = CertificateNumber(year: 2026, sequence: 124) }),
            ("issueDate", { $0.issueDate = $0.issueDate.adding(days: -1) }),
            ("fiscalYear", { $0.fiscalYear = FiscalYear(2025) }),
            ("municipality.name", { $0.municipality.name += "X" }),
            ("municipality.mayorTitle", { $0.municipality.mayorTitle += "X" }),
            ("municipality.mayorName", { $0.municipality.mayorName += "X" }),
            ("municipality.verifyURL", { $0.municipality.verifyURL = "https://evil.example/verify" }),
            ("person.addresseeID", { $0.person.addresseeID = AddresseeID("900000000000002")! }),
            ("person.name", { $0.person.name = "見本 花男" }),
            ("person.nameKana", { $0.person.nameKana = "ミホン ハナオ" }),
            ("person.birthDate", { $0.person.birthDate = $0.person.birthDate.adding(days: 1) }),
            ("person.sex", { $0.person.sex = 1 }),
            ("person.postalCode", { $0.person.postalCode = "1600001" }),
            ("person.address", { $0.person.address = "見本区見本町1-2-4" }),
            ("person.addressExtra", { $0.person.addressExtra = "見本荘101" }),
            ("person.status", { $0.person.status = .movedOut }),
            ("person.statusDate", { $0.person.statusDate = $0.person.statusDate.adding(days: 1) }),
            ("feeYen", { $0.feeYen += 1 }),
            ("issuedAt", { $0.issuedAt = .counter }),
            ("issuedAt.terminal", { $0.issuedAt = .kiosk(storeChain: "見本マート", storeID: "S001", terminalID: "T02") }),
            ("dataAsOf", { $0.dataAsOf = nil }),
        ]
        switch kind {
        case .taxPayment:
            // Every installment field of the first and last rows.
            for (label, pick) in [("first", 0), ("last", -1)] {
                func edit(_ c: inout Certificate, _ f: (inout Levy) -> Void) {
                    guard case .taxPayment(var items) = c.body else { return }
                    let i = pick == 0 ? 0 : items.count - 1
                    let j = pick == 0 ? 0 : items[i].installments.count - 1
                    f(&items[i].installments[j])
                    c.body = .taxPayment(items: items)
                }
                m += [
                    ("\(label).assessed", { edit(&$0) { $0.assessed += 100 } }),
                    ("\(label).paid", { edit(&$0) { $0.paid -= 100 } }),
                    ("\(label).dueDate", { edit(&$0) { $0.dueDate = $0.dueDate.adding(days: 1) } }),
                    ("\(label).paidDate", { edit(&$0) { $0.paidDate = LocalDate(year: 2026, month: 7, day: 1) } }),
                    ("\(label).installment", { edit(&$0) { $0.installment = 9 } }),
                    ("\(label).noticeNo", { edit(&$0) { $0.noticeNo += "9" } }),
                    ("\(label).paymentStatus", { edit(&$0) { $0.paymentStatus = .provisional } }),
                    ("\(label).fiscalYear", { edit(&$0) { $0.fiscalYear = FiscalYear(2025) } }),
                    ("\(label).taxItem", { edit(&$0) { $0.taxItem = $0.taxItem == .fixedAsset ? .lightVehicle : .fixedAsset } }),
                ]
            }
            m.append(("dropRow", {
                guard case .taxPayment(var items) = $0.body else { return }
                items[0].installments.removeLast(); $0.body = .taxPayment(items: items)
            }))
            m.append(("dropItem", {
                guard case .taxPayment(var items) = $0.body else { return }
                items.removeLast(); $0.body = .taxPayment(items: items)
            }))
        case .incomeTaxation, .nonTaxation:
            func edit(_ c: inout Certificate, _ f: (inout Assessment) -> Void) {
                switch c.body {
                case .incomeTaxation(var a): f(&a); c.body = .incomeTaxation(a)
                case .nonTaxation(var a): f(&a); c.body = .nonTaxation(a)
                default: break
                }
            }
            let paths: [(String, WritableKeyPath<Assessment, Int>)] = [
                ("salaryIncome", \.salaryIncome), ("salaryNet", \.salaryNet), ("pensionIncome", \.pensionIncome),
                ("pensionNet", \.pensionNet), ("businessNet", \.businessNet), ("otherNet", \.otherNet),
                ("totalIncome", \.totalIncome), ("deductionsTotal", \.deductionsTotal), ("dependents", \.dependents),
                ("taxableBase", \.taxableBase), ("cityIncomeLevy", \.cityIncomeLevy), ("cityPerCapita", \.cityPerCapita),
                ("prefIncomeLevy", \.prefIncomeLevy), ("prefPerCapita", \.prefPerCapita),
            ]
            for (name, path) in paths { m.append((name, { edit(&$0) { $0[keyPath: path] += 1 } })) }
            m += [
                ("status", { edit(&$0) { $0.status = $0.status == .taxed ? .nonTaxed : .taxed } }),
                ("assessment.fiscalYear", { edit(&$0) { $0.fiscalYear = FiscalYear(2025) } }),
                ("deductions.medical", { edit(&$0) { $0.deductions?.medical += 1 } }),
                ("deductions.basic", { edit(&$0) { $0.deductions?.basic += 1 } }),
                ("deductions.removed", { edit(&$0) { $0.deductions = nil } }),
                ("dependentsBreakdown.minor", { edit(&$0) { $0.dependentsBreakdown = DependentsBreakdown(minor: 2) } }),
                ("taxCredits", { edit(&$0) { $0.taxCredits = TaxCredits(donation: 1) } }),
                ("forestEnvironmentTax", { edit(&$0) { $0.forestEnvironmentTax = ($0.forestEnvironmentTax ?? 0) + 1 } }),
                ("nonTaxation", { edit(&$0) {
                    $0.nonTaxation = NonTaxationDetail(perCapitaExempt: false, incomeLevyExempt: true, reason: .other)
                } }),
            ]
        case .vehicleInspection:
            func edit(_ c: inout Certificate, _ f: (inout Vehicle, inout LocalDate) -> Void) {
                guard case .vehicleInspection(var v, var until) = c.body else { return }
                f(&v, &until); c.body = .vehicleInspection(vehicle: v, validUntil: until)
            }
            m += [
                ("vehicleClass", { edit(&$0) { v, _ in v.vehicleClass = "軽四輪貨物" } }),
                ("plate", { edit(&$0) { v, _ in v.plate = "見本 580 あ 12-35" } }),
                ("chassisNo", { edit(&$0) { v, _ in v.chassisNo = "XX00-0000001" } }),
                ("assessed", { edit(&$0) { v, _ in v.assessed += 100 } }),
                ("paid", { edit(&$0) { v, _ in v.paid -= 100 } }),
                ("paidDate", { edit(&$0) { v, _ in v.paidDate = LocalDate(year: 2026, month: 5, day: 11) } }),
                ("paymentStatus", { edit(&$0) { v, _ in v.paymentStatus = .provisional } }),
                ("exempt", { edit(&$0) { v, _ in v.exempt = true } }),
                ("vehicleID", { edit(&$0) { v, _ in v.vehicleID = "V2" } }),
                ("validUntil", { edit(&$0) { _, u in u = u.adding(days: 1) } }),
            ]
        }
        return m
    }

    @Test(arguments: CertificateKind.allCases)
    func everyPrintedFieldChangedInTurnChangesTheDigest(kind: CertificateKind) throws {
        let original = Self.full(kind)
        let digest = try SealContent.digest(original, pages: 1)
        var seen = Set<[UInt8]>([digest])
        for (name, mutate) in Self.mutations(kind) {
            var c = original
            mutate(&c)
            #expect(c != original, "mutation \(name) changed nothing")
            let d = try SealContent.digest(c, pages: 1)
            // Each change gives a digest of its own: the seal made for the original no longer matches what is
            // printed, so the online check (registry) refuses it, and no other seal can carry the original digest.
            #expect(seen.insert(d).inserted, "mutation \(name) kept the content digest")
        }
        #expect(try SealContent.digest(original, pages: 2) != digest, "page count not bound")
    }

    @Test(arguments: CertificateKind.allCases)
    func aSealStatesItsPagesAndDigestAndVerifies(kind: CertificateKind) throws {
        let keys = try SealTestKeys()
        let c = Self.full(kind)
        let sealed = try keys.signer.seal(c, pages: 3, signedAt: SealSamples.noon(of: c.issueDate))
        #expect(sealed.text.hasPrefix("KF2:"))
        let r = keys.verifier().verify(sealed.text, at: Self.today)
        #expect(r.outcome == .valid)
        let p = try #require(r.payload)
        #expect(p.version == 2 && p.pageCount == 3 && p.contentDigest == sealed.contentDigest)
        #expect(p.contentDigest == (try SealContent.digest(c, pages: 3)))
        #expect(p.signedAt == UInt32(SealSamples.noon(of: c.issueDate).timeIntervalSince1970))
        if case .incomeTaxation(let a) = c.body {
            #expect(p.incomeLevies == SealPayload.IncomeLevies(cityIncomeLevy: a.cityIncomeLevy, cityPerCapita: a.cityPerCapita,
                                                                prefIncomeLevy: a.prefIncomeLevy, prefPerCapita: a.prefPerCapita))
            #expect(p.figures == .incomeTaxation(totalIncome: a.totalIncome, totalTax: a.totalTax))
        }
    }

    /// Every byte of a KF2 payload is signed: changing any one fails offline (bad signature or malformed).
    @Test func everyPayloadByteIsSigned() throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        for kind in CertificateKind.allCases {
            let (payload, signature) = try SealText.split(try keys.signer.seal(Self.full(kind)))
            for i in payload.indices {
                var b = payload
                b[i] ^= 0x01
                let outcome = v.verify("KF2:" + Base45.encode(b + signature), at: Self.today).outcome
                #expect([.badSignature, .malformed, .unknownKey].contains(outcome), "byte \(i) of \(kind): \(outcome)")
            }
        }
    }

    @Test func highSIsNeverWrittenAndAlwaysRefused() throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        for _ in 0..<40 {
            let text = try keys.signer.seal(SealSamples.certificate(.nonTaxation))
            let (payload, signature) = try SealText.split(text)
            #expect(!LowS.isHigh(signature))
            // The twin (r, n − s) is a valid ECDSA signature, but high-S: refused.
            let twin = Array(signature[..<32]) + LowS.subtract(LowS.order, Array(signature[32...]))
            #expect(LowS.isHigh(twin))
            #expect(keys.entry.publicKey.isValidSignature(twin, for: payload))
            let r = v.verify("KF2:" + Base45.encode(payload + twin), at: Self.today)
            #expect(r.outcome == .badSignature && r.highS)
        }
    }

    @Test func aRevokedKeyFailsFromItsRevocationDay() throws {
        let keys = try SealTestKeys()
        let text = try keys.signer.seal(SealSamples.certificate(.taxPayment))
        var ring = keys.keyring
        try ring.revoke(keyIDHex: keys.entry.keyIDHex, from: Self.today, reason: "key_compromise")
        #expect(SealVerifier(keyring: ring, municipalityCode: "131041").verify(text, at: Self.today).outcome == .keyRevoked)
        // Signed the day before the revocation: still valid.
        try ring.revoke(keyIDHex: keys.entry.keyIDHex, from: Self.today.adding(days: 1), reason: "key_compromise")
        #expect(SealVerifier(keyring: ring, municipalityCode: "131041").verify(text, at: Self.today.adding(days: 3)).outcome == .valid)
        // The revocation survives the JSON round trip.
        let back = try SealKeyring(json: ring.json())
        #expect(back.entries[0].revocation == SealKeyring.Revocation(from: Self.today.adding(days: 1), reason: "key_compromise"))
        // A KF2 seal backdated by issue date but signed after the revocation day still fails (signing day = later of both).
        var c = SealSamples.certificate(.taxPayment)
        c.issueDate = Self.today.adding(days: -5)
        let late = try keys.signer.seal(c, pages: 1, signedAt: SealSamples.noon(of: Self.today.adding(days: 2))).text
        #expect(SealVerifier(keyring: ring, municipalityCode: "131041").verify(late, at: Self.today.adding(days: 3)).outcome == .keyRevoked)
        #expect(throws: SealKeyringError.noSuchKey("0000000000000000")) {
            try ring.revoke(keyIDHex: "0000000000000000", from: Self.today, reason: "key_compromise")
        }
    }

    @Test func aKF1SealStillVerifiesUntilRetirement() throws {
        let keys = try SealTestKeys()
        for kind in CertificateKind.allCases {
            let text = try keys.signer.sealKF1(SealSamples.certificate(kind))
            #expect(text.hasPrefix("KF1:"))
            let r = keys.verifier().verify(text, at: Self.today)
            #expect(r.outcome == .valid && r.payload?.version == 1)
        }
        var late = SealSamples.certificate(.nonTaxation)
        late.issueDate = SealVerifier.defaultKF1RetiredFrom
        let r = keys.verifier().verify(try keys.signer.sealKF1(late), at: late.issueDate)
        #expect(r.outcome == .malformed && r.formatError == .retiredFormat)
        // A KF2 payload behind a KF1 prefix (or the reverse) is malformed.
        let kf2 = try keys.signer.seal(SealSamples.certificate(.nonTaxation))
        #expect(keys.verifier().verify("KF1:" + kf2.dropFirst(4), at: Self.today).formatError == .prefixMismatch)
    }

    @Test func implausibleContentIsRejectedWithAReason() throws {
        let keys = try SealTestKeys()
        let v = keys.verifier()
        func outcome(_ edit: (inout Certificate) -> Void, signedAt: Date? = nil) throws -> SealVerification {
            var c = SealSamples.certificate(.incomeTaxation)
            edit(&c)
            let text = try keys.signer.seal(c, pages: 1, signedAt: signedAt ?? SealSamples.noon(of: c.issueDate)).text
            return v.verify(text, at: Self.today)
        }
        #expect(try outcome({ $0.issueDate = Self.today.adding(days: 2) }).implausibility == .issueDateInFuture)
        #expect(try outcome({ $0.issueDate = Self.today.adding(days: 1) }).outcome == .valid)  // within the skew
        #expect(try outcome({ _ in }, signedAt: SealSamples.noon(of: Self.today.adding(days: 2))).implausibility == .signedInFuture)
        #expect(try outcome({ $0.person.birthDate = Self.today.adding(days: 1) }).implausibility == .birthAfterIssue)
        #expect(try outcome({ $0.person.name = "" }).implausibility == .emptyName)
        #expect(try outcome({ $0.person.name = "　 " }).implausibility == .emptyName)
        #expect(try outcome({ $0.number = CertificateNumber("") }).implausibility == .emptyNumber)
        #expect(try outcome({
            guard case .incomeTaxation(var a) = $0.body else { return }
            a.cityIncomeLevy = -1; $0.body = .incomeTaxation(a)
        }).implausibility == .negativeAmount)
        #expect(try outcome({ _ in }).outcome == .valid)
    }

    @Test func keyringRulesAreForwardCompatible() throws {
        let a = try SealTestKeys(), b = try SealTestKeys()
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(SealKeyring(entries: [a.entry, b.entry]).json())) as? [String: Any])
        var keys = try #require(doc["keys"] as? [[String: Any]])
        keys[1]["not_before"] = "2026-13-01"  // malformed: ignored
        keys.append(["algorithm": "ES384", "key_id": "00112233445566ff", "public_key": "AAAA", "future_field": 1])  // unknown: ignored
        keys.append(["algorithm": "ES256"])  // malformed: ignored
        doc["keys"] = keys
        doc["published_at"] = "2026-12-01"  // unknown member: ignored
        let ring = try SealKeyring(json: Array(JSONSerialization.data(withJSONObject: doc)))
        #expect(ring.entries.map(\.keyIDHex) == [a.entry.keyIDHex])
        #expect(ring.ignored.map(\.index) == [1, 2, 3])
        #expect(ring.ignored[1].reason == "algorithm ES384 not supported")
        // A key id that does not match its key: ignored, not trusted.
        var mismatched = keys
        mismatched[0]["key_id"] = b.entry.keyIDHex
        mismatched.remove(at: 1)
        doc["keys"] = mismatched
        let ring2 = try SealKeyring(json: Array(JSONSerialization.data(withJSONObject: doc)))
        #expect(ring2.entries.isEmpty)
        // Duplicates refuse the whole keyring, even when one of them would be ignored.
        var dup = keys
        dup[2]["key_id"] = a.entry.keyIDHex.uppercased()
        doc["keys"] = dup
        #expect(throws: SealKeyringError.duplicateKey(a.entry.keyIDHex.uppercased())) {
            try SealKeyring(json: Array(JSONSerialization.data(withJSONObject: doc)))
        }
        #expect(throws: SealKeyringError.self) { try SealKeyring(json: Array(#"{"format":"kofu-seal-keyring/9","keys":[]}"#.utf8)) }
        #expect(throws: SealKeyringError.self) { try SealKeyring(json: Array(#"{"format":"kofu-seal-keyring/2"}"#.utf8)) }
    }

    @Test func thePublishedKeyringSignatureVerifies() throws {
        let keys = try SealTestKeys()
        let json = keys.keyring.json()
        let sig = try KeyringSignature.sign(json, with: keys.signer)
        let back = try KeyringSignature(json: sig.json())
        #expect(back == sig)
        #expect(back.isValid(for: json, key: keys.entry.publicKey))
        #expect(!back.isValid(for: json + [0x20], key: keys.entry.publicKey))
        #expect(!back.isValid(for: json, key: try SealTestKeys().entry.publicKey))
    }

    @Test func aTrailingLineEndIsRemovedAndNothingElse() throws {
        let keys = try SealTestKeys()
        let text = try keys.signer.seal(SealSamples.certificate(.vehicleInspection))
        #expect(keys.verifier().verify(text + "\n", at: Self.today).isValid)
        #expect(keys.verifier().verify(text + "\r\n", at: Self.today).isValid)
        #expect(!keys.verifier().verify(text + "\n\n", at: Self.today).isValid)
        #expect(!keys.verifier().verify(text + "\r", at: Self.today).isValid)
    }

    /// The largest certificate of each kind, with realistic maxima, fits QR version 15 at level M; prints the sizes.
    @Test(arguments: CertificateKind.allCases)
    func theLargestSealOfEachKindFitsVersion15M(kind: CertificateKind) throws {
        let keys = try SealTestKeys()
        var c = Self.full(kind)
        c.person.name = "見本山田川谷森林 花子美智恵子代"  // 16 characters, 48 bytes
        c.number = CertificateNumber(year: 2026, sequence: 9_999_999)
        switch c.body {
        case .taxPayment(let items):
            c.body = .taxPayment(items: items.map { item in
                var item = item
                item.installments = item.installments.map { var l = $0; l.assessed = 9_876_543_210; l.paid = 1_234_567_890; return l }
                return item
            })
        case .incomeTaxation(var a):
            a.totalIncome = 9_876_543_210; a.cityIncomeLevy = 987_654_321; a.prefIncomeLevy = 654_321_098
            a.cityPerCapita = 3_500; a.prefPerCapita = 1_500
            c.body = .incomeTaxation(a)
        case .nonTaxation(var a):
            a.totalIncome = 9_876_543_210
            c.body = .nonTaxation(a)
        case .vehicleInspection(var v, let until):
            v.plate = "見本見本 580 あ 12-34"; v.paid = 99_999_999
            c.body = .vehicleInspection(vehicle: v, validUntil: until)
        }
        let seal = try keys.signer.seal(c, pages: 2)
        print("largest KF2 seal, \(kind.rawValue): \(seal.utf8.count) characters")
        #expect(seal.utf8.count <= SealQRTests.alphanumericCapacity15M)
        if QRTools.qrencode != nil {
            let dir = try TempDir()
            defer { dir.cleanup() }
            let modules = try QRTools.symbolModules(seal, in: dir)
            print("largest KF2 seal, \(kind.rawValue): QR version \((modules - 17) / 4)")
            #expect(modules <= 77)
        }
    }
}
