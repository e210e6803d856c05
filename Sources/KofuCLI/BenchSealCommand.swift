import ArgumentParser
import Foundation
import KofuCrypto
import KofuDomain
import KofuSeal

/// `kofu bench seal`: seal signing and verification speed on one core, with a throwaway key and a
/// fictional 納税証明書 with five tax items (the largest seal).
struct BenchSealCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seal",
        abstract: "Measure seals signed and verified per second on one core (target >= 5,000 signatures/s).")

    @Option(name: .long, help: "Seals to sign and to verify in each timed run.")
    var iterations: Int = 20_000

    @Option(name: .long, help: "Timed runs; the best run is reported.")
    var runs: Int = 3

    @Option(name: .long, help: "Instead of measuring: write keyring.json and seals.txt (live KF2 seals of every kind, signed now with a throwaway key) into this directory, for independent verifiers.")
    var emit: String?

    static func sampleCertificate() -> Certificate {
        let id = AddresseeID("900000000000001")!
        let fy = FiscalYear(2026)
        let items = TaxItem.allCases.map { item in
            TaxPaymentItem(taxItem: item, installments: (1...4).map { n in
                Levy(fiscalYear: fy, addresseeID: id, taxItem: item, noticeNo: "N\(n)", installment: n,
                     assessed: 123_400, paid: 123_400, dueDate: LocalDate(year: n == 4 ? 2027 : 2026, month: [6, 8, 10, 1][n - 1], day: 28)!,
                     paidDate: nil, paymentStatus: .confirmed)
            })
        }
        return Certificate(
            number: CertificateNumber(year: 2026, sequence: 1234567), issueDate: LocalDate(year: 2026, month: 11, day: 22)!,
            fiscalYear: fy,
            person: Person(addresseeID: id, name: "見本 花子", nameKana: "ミホン ハナコ", birthDate: LocalDate(year: 1980, month: 1, day: 2)!,
                           sex: 2, postalCode: "1600000", address: "見本市見本町1-1", addressExtra: "", status: .resident,
                           statusDate: LocalDate(year: 2000, month: 1, day: 1)!),
            municipality: Municipality(code: "131041", name: "見本市", mayorTitle: "見本市長", mayorName: "見本 一郎"),
            body: .taxPayment(items: items), feeYen: 300)
    }

    /// One fictional certificate of each kind (the 納税証明書 of `sampleCertificate`, the others derived from it).
    static func sampleCertificates() -> [Certificate] {
        let base = sampleCertificate()
        let id = base.person.addresseeID
        let assessment = Assessment(fiscalYear: base.fiscalYear, addresseeID: id, status: .taxed, salaryIncome: 5_800_000,
                                    salaryNet: 4_160_000, pensionIncome: 0, pensionNet: 0, businessNet: 0, otherNet: 0,
                                    totalIncome: 4_160_000, deductionsTotal: 1_250_000, dependents: 1, taxableBase: 2_910_000,
                                    cityIncomeLevy: 174_600, cityPerCapita: 3_500, prefIncomeLevy: 116_400, prefPerCapita: 1_500)
        var nonTaxed = assessment
        nonTaxed.status = .nonTaxed
        nonTaxed.cityIncomeLevy = 0; nonTaxed.cityPerCapita = 0; nonTaxed.prefIncomeLevy = 0; nonTaxed.prefPerCapita = 0
        let vehicle = Vehicle(vehicleID: "V1", fiscalYear: base.fiscalYear, addresseeID: id, vehicleClass: "軽四輪乗用",
                              plate: "見本 580 あ 12-34", chassisNo: "XX00-0000000", assessed: 10_800, paid: 10_800,
                              paidDate: LocalDate(year: 2026, month: 5, day: 10), paymentStatus: .confirmed, exempt: false)
        return [base] + [CertificateBody.incomeTaxation(assessment), .nonTaxation(nonTaxed),
                         .vehicleInspection(vehicle: vehicle, validUntil: LocalDate(year: 2027, month: 5, day: 31)!)].map {
            var c = base
            c.body = $0
            return c
        }
    }

    func emitSeals(into directory: String) throws {
        let key = try ECDSAP256.PrivateKey.generate()
        let signer = SealSigner(privateKey: key)
        let ring = SealKeyring(entries: [SealKeyring.Entry(
            municipalityCode: "131041", publicKey: key.publicKey, notBefore: LocalDate(year: 2026, month: 4, day: 1)!,
            signingUntil: nil, notAfter: LocalDate(year: 2038, month: 3, day: 31)!)])
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ring.save(file: (directory as NSString).appendingPathComponent("keyring.json"))
        var lines = ""
        for c in Self.sampleCertificates() {
            for pages in [1, 2] { lines += try signer.seal(c, pages: pages, signedAt: Date()).text + "\n" }
        }
        try Data(lines.utf8).write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent("seals.txt")))
    }

    func run() async throws {
        if let emit { return try emitSeals(into: emit) }
        guard iterations > 0, runs > 0 else { throw ValidationError("--iterations and --runs must be positive") }
        let r = try SealBenchmark.run(certificate: Self.sampleCertificate(), pages: 2, iterations: iterations, runs: runs)
        let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ")
        print("seal: \(r.sealLength) characters (KF2, 納税証明書, 5 tax items × 4 installments, 2 pages)")
        print("sign (content digest + payload + ECDSA P-256 + low-S + Base45): \(Int(r.signaturesPerSecond)) seals/s on one core")
        print("verify (Base45 + parse + ECDSA P-256): \(Int(r.verificationsPerSecond)) seals/s on one core")
        print("iterations \(iterations), best of \(runs) runs; load average \(load ?? "unknown")")
    }
}
