import ArgumentParser
import Foundation
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

    func run() async throws {
        guard iterations > 0, runs > 0 else { throw ValidationError("--iterations and --runs must be positive") }
        let r = try SealBenchmark.run(certificate: Self.sampleCertificate(), iterations: iterations, runs: runs)
        print("seal: \(r.sealLength) characters (納税証明書, 5 tax items)")
        print("sign (payload + ECDSA P-256 + Base45): \(Int(r.signaturesPerSecond)) seals/s on one core")
        print("verify (Base45 + parse + ECDSA P-256): \(Int(r.verificationsPerSecond)) seals/s on one core")
        print("iterations \(iterations), best of \(runs) runs")
    }
}
