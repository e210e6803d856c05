import Foundation
import KofuTestSupport
import KofuCrypto
import KofuDomain
@testable import KofuSeal

/// Fictional certificates for seal tests (names and amounts are invented).
enum SealSamples {
    static let municipality = Municipality(code: "131041", name: "見本区", mayorTitle: "見本区長", mayorName: "見本 一郎")
    static let otherMunicipality = Municipality(code: "011002", name: "例示市", mayorTitle: "例示市長", mayorName: "例示 次郎")
    static let issueDate = LocalDate(year: 2026, month: 11, day: 22)!
    static let addressee = AddresseeID("900000000000001")!

    static let person = Person(
        addresseeID: addressee, name: "見本 花子", nameKana: "ミホン ハナコ",
        birthDate: LocalDate(year: 1980, month: 1, day: 2)!, sex: 2, postalCode: "1600000",
        address: "見本区見本町1-2-3", addressExtra: "", status: .resident, statusDate: LocalDate(year: 2001, month: 4, day: 1)!)

    static func assessment(_ status: Assessment.Status) -> Assessment {
        let taxed = status == .taxed
        return Assessment(
            fiscalYear: FiscalYear(2026), addresseeID: addressee, status: status,
            salaryIncome: taxed ? 5_800_000 : 980_000, salaryNet: taxed ? 4_160_000 : 430_000,
            pensionIncome: 0, pensionNet: 0, businessNet: 0, otherNet: 0, totalIncome: taxed ? 4_160_000 : 430_000,
            deductionsTotal: taxed ? 1_250_000 : 430_000, dependents: 1, taxableBase: taxed ? 2_910_000 : 0,
            cityIncomeLevy: taxed ? 174_600 : 0, cityPerCapita: taxed ? 3_500 : 0,
            prefIncomeLevy: taxed ? 116_400 : 0, prefPerCapita: taxed ? 1_500 : 0)
    }

    /// The largest seal: a 納税証明書 with all five tax items and large amounts, some unpaid.
    static func taxPaymentItems() -> [TaxPaymentItem] {
        TaxItem.allCases.enumerated().map { i, item in
            TaxPaymentItem(taxItem: item, installments: (1...4).map { n in
                Levy(fiscalYear: FiscalYear(2026), addresseeID: addressee, taxItem: item, noticeNo: "T\(i)\(n)",
                     installment: n, assessed: 12_345_600 + i * 1_000, paid: n == 4 && i == 2 ? 0 : 12_345_600 + i * 1_000,
                     dueDate: LocalDate(year: n == 4 ? 2027 : 2026, month: [6, 8, 10, 1][n - 1], day: 28)!, paidDate: nil, paymentStatus: .confirmed)
            })
        }
    }

    static func certificate(_ kind: CertificateKind, municipality: Municipality = municipality,
                            sequence: Int = 123) -> Certificate {
        let body: CertificateBody
        switch kind {
        case .taxPayment: body = .taxPayment(items: taxPaymentItems())
        case .incomeTaxation: body = .incomeTaxation(assessment(.taxed))
        case .nonTaxation: body = .nonTaxation(assessment(.nonTaxed))
        case .vehicleInspection:
            body = .vehicleInspection(
                vehicle: Vehicle(vehicleID: "V1", fiscalYear: FiscalYear(2026), addresseeID: addressee, vehicleClass: "軽四輪乗用",
                                 plate: "見本 580 あ 12-34", chassisNo: "XX00-0000000", assessed: 10_800, paid: 10_800,
                                 paidDate: LocalDate(year: 2026, month: 5, day: 10), paymentStatus: .confirmed, exempt: false),
                validUntil: LocalDate(year: 2027, month: 5, day: 31)!)
        }
        return Certificate(number: CertificateNumber(year: 2026, sequence: sequence), issueDate: issueDate,
                           fiscalYear: FiscalYear(2026), person: person, municipality: municipality, body: body,
                           feeYen: kind == .vehicleInspection ? 0 : 300)
    }
}

/// A throwaway signing key with its keyring and verifier. Reusable for render → QR → verify tests.
struct SealTestKeys {
    let privateKey: ECDSAP256.PrivateKey
    let signer: SealSigner
    let entry: SealKeyring.Entry
    let keyring: SealKeyring

    init(municipalityCode: String = SealSamples.municipality.code,
         notBefore: LocalDate = LocalDate(year: 2026, month: 4, day: 1)!,
         signingUntil: LocalDate? = nil,
         notAfter: LocalDate = LocalDate(year: 2038, month: 3, day: 31)!) throws {
        privateKey = try ECDSAP256.PrivateKey.generate()
        signer = SealSigner(privateKey: privateKey)
        entry = SealKeyring.Entry(municipalityCode: municipalityCode, publicKey: privateKey.publicKey,
                                  notBefore: notBefore, signingUntil: signingUntil, notAfter: notAfter)
        keyring = SealKeyring(entries: [entry])
    }

    func verifier(municipalityCode: String = SealSamples.municipality.code) -> SealVerifier {
        SealVerifier(keyring: keyring, municipalityCode: municipalityCode)
    }
}

/// A fresh temporary directory, removed by `cleanup()`.
struct TempDir {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "kofu-seal-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// The `qrencode` and `zbarimg` command-line tools, for drawing a seal as a QR and reading it back.
enum QRTools {
    static func which(_ tool: String) -> String? {
        ["/usr/bin/", "/usr/local/bin/", "/bin/"].map { $0 + tool }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var qrencode: String? { which("qrencode") }
    static var zbarimg: String? { which("zbarimg") }

    struct ToolError: Error, CustomStringConvertible {
        var description: String
    }

    /// Runs a tool; returns its standard output; throws with its standard error on failure.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String]) throws -> [UInt8] {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try ProcessSpawn.locked { try p.run() }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ToolError(description: "\(tool) exited \(p.terminationStatus): \(String(decoding: errData, as: UTF8.self))")
        }
        return Array(data)
    }

    /// Draws `text` as a QR PNG at error correction M, the smallest version that holds it (`-v 1`),
    /// `scale` pixels a module and a 4-module quiet zone. Returns the PNG path.
    static func png(_ text: String, at path: String, scale: Int = 4) throws -> String {
        guard let qrencode else { throw ToolError(description: "qrencode not installed") }
        try run(qrencode, ["-l", "M", "-v", "1", "-m", "4", "-s", String(scale), "-o", path, text])
        return path
    }

    /// The number of modules on a side of the QR `qrencode` makes for `text` at level M (21 for
    /// version 1, +4 a version: version 15 is 77).
    static func symbolModules(_ text: String, in dir: TempDir, minimumVersion: Int = 1) throws -> Int {
        guard let qrencode else { throw ToolError(description: "qrencode not installed") }
        let path = dir.file("modules-\(UUID().uuidString).png")
        try run(qrencode, ["-l", "M", "-v", String(minimumVersion), "-m", "0", "-s", "1", "-o", path, text])
        return try pngWidth(path)
    }

    /// Width in pixels from a PNG's IHDR chunk.
    static func pngWidth(_ path: String) throws -> Int {
        guard let d = FileManager.default.contents(atPath: path), d.count > 24 else {
            throw ToolError(description: "not a PNG")
        }
        let b = Array(d)
        return Int(b[16]) << 24 | Int(b[17]) << 16 | Int(b[18]) << 8 | Int(b[19])
    }

    /// Reads the one QR in an image with `zbarimg --raw` and returns its text exactly (without the
    /// line end zbarimg adds).
    static func decode(image path: String) throws -> String {
        guard let zbarimg else { throw ToolError(description: "zbarimg not installed") }
        var out = try run(zbarimg, ["--raw", "-q", "-Sbinary", path])
        if out.last == 0x0A { out.removeLast() }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Where committed fixtures live.
enum SealFixtures {
    static var directory: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/seal").path
    }
}

extension SealSigner {
    /// A KF2 seal of `certificate` on one page (or `pages`), signed at noon (Japan) of its issue date.
    func seal(_ certificate: Certificate, pages: Int = 1) throws -> String {
        try seal(certificate, pages: pages, signedAt: SealSamples.noon(of: certificate.issueDate)).text
    }

    /// A KF1 seal of `certificate` (the previous format, for compatibility tests).
    func sealKF1(_ certificate: Certificate) throws -> String {
        try seal(payload: SealPayload(certificate: certificate, keyID: keyID))
    }
}

extension SealSamples {
    /// 12:00 in Japan on `date`.
    static func noon(of date: LocalDate) -> Date { JapanDay.end(of: date).addingTimeInterval(-12 * 3600 + 1) }
}
