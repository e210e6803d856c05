import Foundation
import KofuCrypto
import KofuDomain
import Testing
@testable import KofuSeal

/// The committed KF2 vectors (`Tests/Fixtures/seal/vectors-kf2.json` with `keyring-kf2.json`, docs/seal.md §11).
/// Regenerated only on purpose: `KOFU_WRITE_SEAL_VECTORS=1 swift test --filter SealKF2VectorTests/writeVectors`.
@Suite struct SealKF2VectorTests {
    static let verifyDate = LocalDate(year: 2026, month: 11, day: 22)!
    static let vectorsFile = "vectors-kf2.json"
    static let keyringFile = "keyring-kf2.json"

    struct Vector: Codable {
        var name: String
        var description: String
        var seal: String
        var expected: String
        var payload_hex: String?
        var signature_hex: String?
        var fields: [String: JSONValue]?
        var content: JSONValue?
        var content_hex: String?
    }

    struct File: Codable {
        var description: String
        var keyring_file: String
        var municipality_code: String
        var verify_date: String
        var vectors: [Vector]
    }

    @Test func committedVectorsVerifyAsStated() throws {
        let dir = SealFixtures.directory
        let data = try #require(FileManager.default.contents(atPath: dir + "/" + Self.vectorsFile))
        let file = try JSONDecoder().decode(File.self, from: data)
        let ring = try SealKeyring.load(file: dir + "/" + file.keyring_file)
        #expect(ring.ignored.count == 2, "the fixture keyring carries an ES384 entry and a malformed one")
        let verifier = SealVerifier(keyring: ring, municipalityCode: file.municipality_code)
        let date = try #require(LocalDate(iso: file.verify_date))
        #expect(file.vectors.count >= 20)
        for v in file.vectors {
            let r = verifier.verify(v.seal, at: date)
            #expect(r.outcome.rawValue == v.expected, "\(v.name): \(r.outcome)")
            if let hex = v.payload_hex, let p = r.payload {
                #expect(Hex.encode(try p.encoded()) == hex, "\(v.name)")
            }
            if let contentHex = v.content_hex, let p = r.payload, p.version == 2 {
                #expect(p.contentDigest.map(Hex.encode) == Hex.encode(SHA256.hash(try #require(Hex.decode(contentHex)))), "\(v.name)")
            }
        }
        for kind in CertificateKind.allCases {
            #expect(file.vectors.contains { $0.name == "kf2_valid_\(kind.rawValue)" && $0.expected == "valid" })
        }
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KOFU_WRITE_SEAL_VECTORS"] == "1"))
    func writeVectors() throws {
        let day = Self.verifyDate
        let a = try SealTestKeys()
        let revoked = try SealTestKeys()
        let unpublished = try SealTestKeys()
        let ignoredKey = try SealTestKeys()
        var ring = SealKeyring(entries: [a.entry, revoked.entry])
        try ring.revoke(keyIDHex: revoked.entry.keyIDHex, from: LocalDate(year: 2026, month: 11, day: 20)!, reason: "key_compromise")

        var vectors: [Vector] = []
        func add(_ name: String, _ description: String, _ seal: String, _ expected: SealVerification.Outcome,
                 certificate: Certificate? = nil, pages: Int = 1) throws {
            var v = Vector(name: name, description: description, seal: seal, expected: expected.rawValue)
            if let parts = try? SealText.split(SealText.trimmingLineEnd(seal)), let p = try? SealPayload(decoding: parts.payload) {
                v.payload_hex = Hex.encode(parts.payload)
                v.signature_hex = Hex.encode(parts.signature)
                v.fields = Self.fields(p)
            }
            if let certificate {
                v.content = Self.content(certificate, pages: pages)
                v.content_hex = Hex.encode(try SealContent.bytes(certificate, pages: pages))
            }
            vectors.append(v)
        }
        func signed(_ keys: SealTestKeys, _ c: Certificate, pages: Int = 1, at: LocalDate? = nil) throws -> String {
            try keys.signer.seal(c, pages: pages, signedAt: SealSamples.noon(of: at ?? c.issueDate)).text
        }

        for kind in CertificateKind.allCases {
            let c = SealKF2Tests.full(kind)
            try add("kf2_valid_\(kind.rawValue)", "a valid KF2 seal of a \(kind.title)", try signed(a, c), .valid, certificate: c)
        }
        let big = SealKF2Tests.full(.taxPayment)
        try add("kf2_valid_tax_payment_2_pages", "a 納税証明書 printed on 2 pages", try signed(a, big, pages: 2), .valid,
                certificate: big, pages: 2)
        let base = SealKF2Tests.full(.incomeTaxation)
        let good = try signed(a, base)
        let (payload, signature) = try SealText.split(good)
        let decoded = try SealPayload(decoding: payload)
        var changed = decoded
        if let l = changed.incomeLevies { changed.incomeLevies?.cityIncomeLevy = l.cityIncomeLevy - 10_000 }
        try add("kf2_tampered_income_levy", "市町村民税所得割 lowered, signature of the original", "KF2:" + Base45.encode(try changed.encoded() + signature),
                .badSignature, certificate: base)
        var digestFlipped = payload
        digestFlipped[17] ^= 0x80
        try add("kf2_tampered_content_digest", "one bit of content_digest changed", "KF2:" + Base45.encode(digestFlipped + signature), .badSignature)
        var pagesChanged = payload
        pagesChanged[16] = 2
        try add("kf2_tampered_page_count", "page_count 1 → 2", "KF2:" + Base45.encode(pagesChanged + signature), .badSignature)
        var sigFlipped = signature
        sigFlipped[5] ^= 0x01
        try add("kf2_tampered_signature", "one bit of r changed", "KF2:" + Base45.encode(payload + sigFlipped), .badSignature)
        let twin = Array(signature[..<32]) + LowS.subtract(LowS.order, Array(signature[32...]))
        try add("kf2_high_s", "the valid seal's (r, n − s) twin: a correct ECDSA signature, but high-S",
                "KF2:" + Base45.encode(payload + twin), .badSignature)
        try add("kf2_trailing_crlf", "a valid seal followed by CR LF (removed)", good + "\r\n", .valid, certificate: base)
        try add("kf2_trailing_two_newlines", "a valid seal followed by two LF (only one is removed)", good + "\n\n", .malformed)
        try add("kf2_prefix_mismatch", "a KF2 body behind the KF1 prefix", "KF1:" + good.dropFirst(4), .malformed)

        var early = SealSamples.certificate(.nonTaxation)
        early.issueDate = LocalDate(year: 2026, month: 11, day: 19)!
        try add("kf2_revoked_key_signed_before", "key revoked from 2026-11-20, seal signed 2026-11-19: still valid",
                try signed(revoked, early), .valid, certificate: early)
        var onDay = SealSamples.certificate(.nonTaxation)
        onDay.issueDate = LocalDate(year: 2026, month: 11, day: 20)!
        try add("kf2_revoked_key_signed_on_day", "key revoked from 2026-11-20, seal signed that day", try signed(revoked, onDay), .keyRevoked)
        try add("kf2_revoked_key_backdated", "key revoked from 2026-11-20, issue_date 2026-11-19 but signed_at 2026-11-21",
                try signed(revoked, early, at: LocalDate(year: 2026, month: 11, day: 21)!), .keyRevoked)
        try add("kf2_unknown_key", "signed by a key not in the keyring", try signed(unpublished, base), .unknownKey)
        try add("kf2_ignored_key", "signed by a key whose keyring entry is malformed (ignored)", try signed(ignoredKey, base), .unknownKey)

        func implausible(_ name: String, _ description: String, _ edit: (inout Certificate) -> Void) throws {
            var c = SealSamples.certificate(.incomeTaxation)
            edit(&c)
            try add(name, description, try signed(a, c), .implausible)
        }
        try implausible("kf2_implausible_future_issue_date", "issue_date two days after the verification date") {
            $0.issueDate = day.adding(days: 2)
        }
        try implausible("kf2_implausible_birth_after_issue", "birth_date after issue_date") { $0.person.birthDate = day.adding(days: 1) }
        try implausible("kf2_implausible_negative_amount", "a negative 所得割") {
            guard case .incomeTaxation(var x) = $0.body else { return }
            x.cityIncomeLevy = -5_000; $0.body = .incomeTaxation(x)
        }
        try implausible("kf2_implausible_empty_name", "an empty name") { $0.person.name = "" }
        try implausible("kf2_implausible_blank_name", "a name of ideographic spaces") { $0.person.name = "　　" }
        var futureSigned = SealSamples.certificate(.vehicleInspection)
        futureSigned.issueDate = day
        try add("kf2_implausible_signed_in_future", "signed_at two days after the verification date",
                try signed(a, futureSigned, at: day.adding(days: 2)), .implausible)

        // KF1 compatibility beyond the KF1 vector set (vectors.json).
        try add("kf1_valid_income_taxation", "a KF1 seal still verifies", try a.signer.sealKF1(SealSamples.certificate(.incomeTaxation)), .valid)
        let kf1 = try a.signer.sealKF1(SealSamples.certificate(.taxPayment))
        let (p1, s1) = try SealText.split(kf1)
        let normal = LowS.normalized(s1)
        let high = Array(normal[..<32]) + LowS.subtract(LowS.order, Array(normal[32...]))
        try add("kf1_high_s_accepted", "KF1 signers did not normalise: a KF1 seal with high-S still verifies",
                "KF1:" + Base45.encode(p1 + high), .valid)
        var retired = SealSamples.certificate(.nonTaxation)
        retired.issueDate = SealVerifier.defaultKF1RetiredFrom
        try add("kf1_after_retirement", "a KF1 seal dated on the KF1 retirement day (2027-04-01): a downgrade", try a.signer.sealKF1(retired), .malformed)

        // The keyring: the two keys, an ES384 entry (ignored) and a malformed ES256 entry (ignored).
        var doc = try #require(try JSONSerialization.jsonObject(with: Data(ring.json())) as? [String: Any])
        var keys = try #require(doc["keys"] as? [[String: Any]])
        keys.append(["algorithm": "ES384", "key_id": "0011223344556677", "municipality_code": "131041",
                     "public_key": "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAE", "not_before": "2026-04-01", "not_after": "2038-03-31",
                     "signing_until": NSNull(), "revoked": NSNull()])
        let broken = try #require(try JSONSerialization.jsonObject(with: Data(SealKeyring(entries: [ignoredKey.entry]).json())) as? [String: Any])
        var brokenEntry = try #require((broken["keys"] as? [[String: Any]])?.first)
        brokenEntry["not_before"] = "2026-04-31"
        keys.append(brokenEntry)
        doc["keys"] = keys
        let keyringData = try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        let check = try SealKeyring(json: Array(keyringData))
        #expect(check.entries.count == 2 && check.ignored.count == 2)

        let file = File(description: "KF2 test vectors (docs/seal.md §11). Verify with keyring-kf2.json, municipality 131041, on 2026-11-22 (the end of that day in Japan as the present time).",
                        keyring_file: Self.keyringFile, municipality_code: "131041", verify_date: day.iso, vectors: vectors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let dir = SealFixtures.directory
        try (encoder.encode(file) + Data("\n".utf8)).write(to: URL(fileURLWithPath: dir + "/" + Self.vectorsFile))
        try (keyringData + Data("\n".utf8)).write(to: URL(fileURLWithPath: dir + "/" + Self.keyringFile))
    }

    /// The decoded payload as JSON (docs/seal.md §2 names).
    static func fields(_ p: SealPayload) -> [String: JSONValue] {
        var f: [String: JSONValue] = [
            "format_version": .int(Int(p.version)), "municipality_code": .string(p.municipalityCode), "key_id": .string(Hex.encode(p.keyID)),
            "certificate_number": .string(p.certificateNumber), "kind": .string(p.kind.rawValue), "fiscal_year": .int(p.fiscalYear),
            "issue_date": .string(p.issueDate.iso), "name": .string(p.name), "birth_date": .string(p.birthDate.iso),
        ]
        if let s = p.signedAt { f["signed_at"] = .int(Int(s)) }
        if let n = p.pageCount { f["page_count"] = .int(n) }
        if let d = p.contentDigest { f["content_digest"] = .string(Hex.encode(d)) }
        switch p.figures {
        case .taxPayment(let lines):
            f["tax_items"] = .array(lines.map {
                .object(["tax_item": .string($0.taxItem.code), "assessed": .int($0.assessed), "paid": .int($0.paid), "unpaid": .int($0.unpaid)])
            })
        case .incomeTaxation(let income, let tax):
            f["total_income"] = .int(income)
            if let l = p.incomeLevies {
                f["city_income_levy"] = .int(l.cityIncomeLevy); f["city_per_capita"] = .int(l.cityPerCapita)
                f["pref_income_levy"] = .int(l.prefIncomeLevy); f["pref_per_capita"] = .int(l.prefPerCapita)
            } else {
                f["total_tax"] = .int(tax)
            }
        case .nonTaxation(let nonTaxed, let income):
            f["non_taxed"] = .bool(nonTaxed); f["total_income"] = .int(income)
        case .vehicleInspection(let plate, let paid, let until):
            f["plate"] = .string(plate); f["paid"] = .int(paid); f["valid_until"] = .string(until.iso)
        }
        return f
    }

    /// The certificate as the `content` JSON of docs/seal.md §3.3.
    static func content(_ c: Certificate, pages: Int) -> JSONValue {
        func date(_ d: LocalDate?) -> JSONValue { d.map { .string($0.iso) } ?? .null }
        var o: [String: JSONValue] = [
            "page_count": .int(pages), "kind": .string(c.kind.rawValue), "certificate_number": .string(c.number.value),
            "issue_date": date(c.issueDate), "fiscal_year": .int(c.fiscalYear.year), "fee": .int(c.feeYen),
            "data_as_of": date(c.dataAsOf),
            "municipality": .object(["code": .string(c.municipality.code), "name": .string(c.municipality.name),
                                     "mayor_title": .string(c.municipality.mayorTitle), "mayor_name": .string(c.municipality.mayorName),
                                     "verify_url": .string(c.municipality.verifyURL)]),
            "person": .object(["addressee_id": .string(c.person.addresseeID.value), "name": .string(c.person.name),
                               "name_kana": .string(c.person.nameKana), "birth_date": date(c.person.birthDate), "sex": .int(c.person.sex),
                               "postal_code": .string(c.person.postalCode), "address": .string(c.person.address),
                               "address_extra": .string(c.person.addressExtra), "status": .string(c.person.status.rawValue),
                               "status_date": date(c.person.statusDate)]),
        ]
        switch c.issuedAt {
        case .counter: o["issued_at"] = .string("counter")
        case .kiosk(let chain, let store, let terminal):
            o["issued_at"] = .object(["kiosk": .object(["store_chain": .string(chain), "store_id": .string(store), "terminal_id": .string(terminal)])])
        }
        switch c.body {
        case .taxPayment(let items):
            o["body"] = .object(["items": .array(items.map { item in
                .object(["tax_item": .string(item.taxItem.code), "installments": .array(item.installments.map { l in
                    .object(["fiscal_year": .int(l.fiscalYear.year), "addressee_id": .string(l.addresseeID.value),
                             "tax_item": .string(l.taxItem.code), "notice_no": .string(l.noticeNo), "installment": .int(l.installment),
                             "assessed": .int(l.assessed), "paid": .int(l.paid), "due_date": date(l.dueDate), "paid_date": date(l.paidDate),
                             "payment_status": .string(l.paymentStatus.rawValue)])
                })])
            })])
        case .incomeTaxation(let a), .nonTaxation(let a):
            var x: [String: JSONValue] = [
                "fiscal_year": .int(a.fiscalYear.year), "addressee_id": .string(a.addresseeID.value), "status": .string(a.status.rawValue),
                "salary_income": .int(a.salaryIncome), "salary_net": .int(a.salaryNet), "pension_income": .int(a.pensionIncome),
                "pension_net": .int(a.pensionNet), "business_net": .int(a.businessNet), "other_net": .int(a.otherNet),
                "total_income": .int(a.totalIncome), "deductions_total": .int(a.deductionsTotal), "dependents": .int(a.dependents),
                "taxable_base": .int(a.taxableBase), "city_income_levy": .int(a.cityIncomeLevy), "city_per_capita": .int(a.cityPerCapita),
                "pref_income_levy": .int(a.prefIncomeLevy), "pref_per_capita": .int(a.prefPerCapita),
                "forest_environment_tax": a.forestEnvironmentTax.map { .int($0) } ?? .null,
            ]
            x["deductions"] = a.deductions.map { d in .object([
                "casualty_loss": .int(d.casualtyLoss), "medical": .int(d.medical), "social_insurance": .int(d.socialInsurance),
                "small_business_mutual_aid": .int(d.smallBusinessMutualAid), "life_insurance": .int(d.lifeInsurance),
                "earthquake_insurance": .int(d.earthquakeInsurance), "widow_or_single_parent": .int(d.widowOrSingleParent),
                "working_student": .int(d.workingStudent), "disability": .int(d.disability), "spouse": .int(d.spouse),
                "spouse_special": .int(d.spouseSpecial), "dependents": .int(d.dependents), "basic": .int(d.basic)]) } ?? .null
            x["dependents_breakdown"] = a.dependentsBreakdown.map { d in .object([
                "spouse": .int(d.spouse), "general": .int(d.general), "specified": .int(d.specified), "elderly": .int(d.elderly),
                "minor": .int(d.minor)]) } ?? .null
            x["tax_credits"] = a.taxCredits.map { t in .object([
                "adjustment": .int(t.adjustment), "dividend": .int(t.dividend), "housing_loan": .int(t.housingLoan),
                "donation": .int(t.donation), "foreign_tax": .int(t.foreignTax),
                "dividend_and_stock_transfer": .int(t.dividendAndStockTransfer)]) } ?? .null
            x["non_taxation"] = a.nonTaxation.map { n in .object([
                "per_capita_exempt": .bool(n.perCapitaExempt), "income_levy_exempt": .bool(n.incomeLevyExempt),
                "reason": .string(n.reason.rawValue)]) } ?? .null
            o["body"] = .object(["assessment": .object(x)])
        case .vehicleInspection(let v, let until):
            o["body"] = .object(["valid_until": date(until), "vehicle": .object([
                "vehicle_id": .string(v.vehicleID), "fiscal_year": .int(v.fiscalYear.year), "addressee_id": .string(v.addresseeID.value),
                "vehicle_class": .string(v.vehicleClass), "plate": .string(v.plate), "chassis_no": .string(v.chassisNo),
                "assessed": .int(v.assessed), "paid": .int(v.paid), "paid_date": date(v.paidDate),
                "payment_status": .string(v.paymentStatus.rawValue), "exempt": .bool(v.exempt)])])
        }
        return .object(o)
    }
}

/// A JSON value for the vector files (so that `content` and `fields` are written with their real types).
indirect enum JSONValue: Codable, Equatable {
    case string(String), int(Int), bool(Bool), null, array([JSONValue]), object([String: JSONValue])

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .int(let i): try c.encode(i)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }
}
