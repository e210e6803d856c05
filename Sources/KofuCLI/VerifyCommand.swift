import ArgumentParser
import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal

/// `kofu verify <seal text>`: checks a seal offline and prints what it carries.
///
/// Exit codes (also in docs/seal.md): 0 valid, 3 malformed, 4 unknown key, 5 key expired,
/// 6 key not yet valid, 7 bad signature, 8 other municipality, 9 implausible, 10 key revoked; 1 when the
/// keyring or configuration cannot be read, 64 for a usage error. `--batch` reads one seal a line from
/// standard input and prints one outcome a line (exit 0 unless the keyring cannot be read).
struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify a QR seal text and print its decoded fields and the outcome.",
        discussion: """
            Quote the seal text: Base45 contains spaces. Pass - to read it from standard input \
            (e.g. `zbarimg --raw -q page.png | kofu verify -`); one trailing newline is removed.
            Exit codes: 0 valid, 3 malformed, 4 unknown_key, 5 key_expired, 6 key_not_yet_valid, \
            7 bad_signature, 8 other_municipality, 9 implausible, 10 key_revoked, \
            1 keyring/configuration unreadable. With --batch, one seal a line on standard input gives one \
            outcome a line on standard output.
            """)

    @Argument(help: "The seal text (starting with KF2: or KF1:), or - for standard input.")
    var seal: String?

    @Flag(name: .long, help: "Read one seal a line from standard input; print one outcome a line.")
    var batch = false

    @Option(name: .long, help: "Configuration file (default: KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    @Option(name: .long, help: "Keyring JSON file (default: seal.keyring from the configuration).")
    var keyring: String?

    @Option(name: .long, help: "Municipality code to verify for (default: municipality.code).")
    var municipality: String?

    @Option(name: .long, help: "Verify as of this date, YYYY-MM-DD (default: today in Japan).")
    var date: String?

    static func exitCode(_ o: SealVerification.Outcome) -> Int32 {
        switch o {
        case .valid: 0
        case .malformed: 3
        case .unknownKey: 4
        case .keyExpired: 5
        case .keyNotYetValid: 6
        case .badSignature: 7
        case .otherMunicipality: 8
        case .implausible: 9
        case .keyRevoked: 10
        }
    }

    func validate() throws {
        if batch == (seal != nil) { throw ValidationError("give either a seal text (or -) or --batch") }
    }

    func run() async throws {
        let asOf: LocalDate
        if let date {
            guard let d = LocalDate(iso: date) else { throw ValidationError("--date must be YYYY-MM-DD") }
            asOf = d
        } else {
            asOf = .todayInJapan()
        }
        let ring: SealKeyring
        let code: String
        do {
            let cfg = try KofuConfiguration.load(file: config)
            ring = try SealKeyring.load(file: keyring ?? cfg.sealSettings().keyringFile)
            code = municipality ?? cfg.municipality.code
        } catch {
            FileHandle.standardError.write(Data("kofu verify: \(error)\n".utf8))
            throw ExitCode(1)
        }
        for ignored in ring.ignored {
            FileHandle.standardError.write(Data("kofu verify: keyring entry ignored: \(ignored)\n".utf8))
        }
        let verifier = SealVerifier(keyring: ring, municipalityCode: code)
        let now = date == nil ? Date() : JapanDay.end(of: asOf)
        if batch {
            var out = ""
            while let line = readLine(strippingNewline: true) {
                out += verifier.verify(line, at: asOf, now: now).outcome.rawValue + "\n"
                if out.utf8.count > 1 << 16 { FileHandle.standardOutput.write(Data(out.utf8)); out = "" }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            return
        }
        var text = seal ?? "-"
        if text == "-" {
            text = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        }
        let result = verifier.verify(text, at: asOf, now: now)
        for line in Self.describe(result) { print(line) }
        throw ExitCode(Self.exitCode(result.outcome))
    }

    /// The report lines: decoded fields (marked unverified unless valid), then `result: <outcome>`.
    static func describe(_ r: SealVerification) -> [String] {
        var lines: [String] = []
        if let p = r.payload {
            if !r.isValid { lines.append("WARNING: the fields below are NOT verified") }
            lines.append("format_version: \(p.version)")
            lines.append("municipality_code: \(p.municipalityCode)")
            lines.append("key_id: \(Hex.encode(p.keyID))")
            lines.append("certificate_number: \(p.certificateNumber)")
            lines.append("kind: \(p.kind.rawValue) (\(p.kind.title))")
            lines.append("fiscal_year: \(p.fiscalYear)")
            lines.append("issue_date: \(p.issueDate.iso)")
            lines.append("name: \(p.name)")
            lines.append("birth_date: \(p.birthDate.iso)")
            if let s = p.signedAt { lines.append("signed_at: \(s)") }
            if let n = p.pageCount { lines.append("page_count: \(n)") }
            if let d = p.contentDigest { lines.append("content_digest: \(Hex.encode(d))") }
            switch p.figures {
            case .taxPayment(let items):
                for t in items {
                    lines.append("tax_item: \(t.taxItem.code) \(t.taxItem.japaneseName) assessed=\(t.assessed) paid=\(t.paid) unpaid=\(t.unpaid)")
                }
            case .incomeTaxation(let totalIncome, let totalTax):
                lines.append("total_income: \(totalIncome)")
                if let l = p.incomeLevies {
                    lines.append("city_income_levy: \(l.cityIncomeLevy)")
                    lines.append("city_per_capita: \(l.cityPerCapita)")
                    lines.append("pref_income_levy: \(l.prefIncomeLevy)")
                    lines.append("pref_per_capita: \(l.prefPerCapita)")
                }
                lines.append("total_tax: \(totalTax)")
            case .nonTaxation(let nonTaxed, let totalIncome):
                lines.append("non_taxed: \(nonTaxed)")
                lines.append("total_income: \(totalIncome)")
            case .vehicleInspection(let plate, let paid, let validUntil):
                lines.append("plate: \(plate)")
                lines.append("paid: \(paid)")
                lines.append("valid_until: \(validUntil.iso)")
            }
        }
        if let k = r.key {
            lines.append("key: not_before=\(k.notBefore.iso) signing_until=\(k.signingUntil?.iso ?? "-") not_after=\(k.notAfter.iso)"
                         + (k.revocation.map { " revoked_from=\($0.from.iso) reason=\($0.reason)" } ?? ""))
        }
        if let e = r.formatError { lines.append("detail: \(e)") }
        if let i = r.implausibility { lines.append("detail: \(i.rawValue)") }
        if r.highS { lines.append("detail: high_s") }
        lines.append("result: \(r.outcome.rawValue)")
        return lines
    }
}
