import Foundation
import KofuDomain
import KofuRendering
import KofuServer
import Testing

/// The seal signs the page count before the one render; it must be the count the renderer then draws.
@Suite struct SealPaginationTests {
    static let root = KioskHarness.packageRoot

    static func taxPayment(items: Int, installments: Int) -> Certificate {
        let id = AddresseeID("900000000000001")!
        let fy = FiscalYear(2026)
        let list = TaxItem.allCases.prefix(items).map { item in
            TaxPaymentItem(taxItem: item, installments: (0..<installments).map { n in
                Levy(fiscalYear: fy, addresseeID: id, taxItem: item, noticeNo: "N\(n)", installment: n % 12 + 1, assessed: 12_300,
                     paid: 12_300, dueDate: LocalDate(year: 2026, month: 6, day: 30)!.adding(days: 30 * n), paidDate: nil,
                     paymentStatus: .confirmed)
            })
        }
        return Certificate(
            number: CertificateNumber(year: 2026, sequence: 1), issueDate: LocalDate(year: 2026, month: 11, day: 22)!, fiscalYear: fy,
            person: Person(addresseeID: id, name: "見本 花子", nameKana: "ミホン ハナコ", birthDate: LocalDate(year: 1980, month: 1, day: 2)!,
                           sex: 2, postalCode: "1600000", address: "見本区見本町1-2-3", addressExtra: "", status: .resident,
                           statusDate: LocalDate(year: 2001, month: 4, day: 1)!),
            municipality: Municipality(code: "131041", name: "見本区", mayorTitle: "見本区長", mayorName: "見本 一郎"),
            body: .taxPayment(items: Array(list)), feeYen: 300)
    }

    @Test func thePaginationTheSealSignsIsTheRenderers() throws {
        let renderer = try CertificateRenderer(templatesDirectory: "\(Self.root)/Templates",
                                               fontPath: "\(Self.root)/Fonts/\(CertificateRenderer.defaultFontFileName)",
                                               sealImagePath: "\(Self.root)/Templates/seal.png")
        var seen = Set<Int>()
        for (items, installments) in [(1, 1), (2, 7), (3, 4), (1, 16), (1, 17), (2, 8), (5, 4), (5, 12), (3, 16)] {
            let c = Self.taxPayment(items: items, installments: installments)
            let rendered = try renderer.render([(certificate: c, qrText: "KF2:TEST")]).pageCount
            #expect(renderer.pageCount(of: c) == rendered, "\(items) items × \(installments) installments")
            seen.insert(rendered)
        }
        #expect(seen.count >= 3, "the cases cover one, two and more pages")
    }
}
