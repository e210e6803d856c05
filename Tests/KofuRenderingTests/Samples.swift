import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport

/// Certificates for the rendering tests, built from the sample data shipped in `Templates/samples/`.
enum Samples {
    static func certificate(_ kind: CertificateKind) throws -> Certificate {
        let url = URL(fileURLWithPath: TestSupport.templatesDirectory + "/samples/\(kind.rawValue).json")
        // Samples written before Municipality.verifyURL (issue 15) and Certificate.issuedAt (issue 14) lack them.
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] ?? [:]
        if json["issuedAt"] == nil { json["issuedAt"] = ["counter": [String: Any]()] }
        if var m = json["municipality"] as? [String: Any], m["verifyURL"] == nil {
            m["verifyURL"] = ""
            json["municipality"] = m
        }
        return try JSONDecoder().decode(Certificate.self, from: JSONSerialization.data(withJSONObject: json))
    }

    /// A 納税証明書 with `items` tax items × `installments` installments each.
    static func largeTaxPayment(items: Int = 5, installments: Int = 12) throws -> Certificate {
        var c = try certificate(.taxPayment)
        let id = c.person.addresseeID
        let taxItems = Array(TaxItem.allCases.prefix(items))
        c.body = .taxPayment(items: taxItems.map { item in
            TaxPaymentItem(taxItem: item, installments: (1...installments).map { n in
                Levy(fiscalYear: FiscalYear(2026), addresseeID: id, taxItem: item, noticeNo: "2026-00\(item.code)",
                     installment: n, assessed: 10_000 + n * 100, paid: 10_000 + n * 100,
                     dueDate: LocalDate(year: 2026, month: 4, day: 30)!.adding(days: 30 * (n - 1)),
                     paidDate: LocalDate(year: 2026, month: 4, day: 20)!.adding(days: 30 * (n - 1)), paymentStatus: .confirmed)
            })
        })
        return c
    }

    /// A Base45-style QR text of `length` characters (uppercase alphanumerics and the Base45 symbols).
    static func qrText(seed: Int, length: Int = 480) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
        var state = UInt64(truncatingIfNeeded: seed) &* 6364136223846793005 &+ 1442695040888963407
        return String((0..<length).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return alphabet[Int((state >> 33) % UInt64(alphabet.count))]
        })
    }

    static func renderer(templates: String = TestSupport.templatesDirectory,
                         seal: String = TestSupport.sealImagePath) throws -> CertificateRenderer {
        try CertificateRenderer(templatesDirectory: templates, fontPath: TestSupport.fontPath, sealImagePath: seal)
    }
}
