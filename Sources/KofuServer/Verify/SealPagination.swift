import Foundation
import KofuConfig
import KofuDomain
import KofuRendering

/// How many pages a certificate prints on, known before it is rendered, because the KF2 seal signs the page
/// count and the QR is drawn on every page. The 納税証明書 table paginates: each installment of each tax item
/// is a row, plus one subtotal row per item, `rowsPerPage` rows a page (from the template's table geometry, the
/// renderer's own formula). Every other kind is one page. `IssuanceService.produce` checks the rendered count
/// against the signed one, so a divergence stops an issuance instead of printing a seal that lies.
public struct SealPagination: Sendable {
    /// Rows per page for the kinds whose template has a table.
    public var rowsPerPage: [CertificateKind: Int]

    public init(rowsPerPage: [CertificateKind: Int]) { self.rowsPerPage = rowsPerPage }

    /// Reads the table geometry of each kind's template in `templatesDirectory`.
    public init(templatesDirectory: String) throws {
        var rows: [CertificateKind: Int] = [:]
        for kind in CertificateKind.allCases {
            let file = (templatesDirectory as NSString).appendingPathComponent(kind.rawValue + ".yaml")
            if let n = try SealSettings.tableRowsPerPage(templateFile: file) { rows[kind] = n }
        }
        self.init(rowsPerPage: rows)
    }

    /// The page count of `certificate`.
    public func pages(of certificate: Certificate) -> Int {
        guard let perPage = rowsPerPage[certificate.kind] else { return 1 }
        var rows = 0
        if case .taxPayment(let items) = certificate.body {
            rows = items.reduce(0) { $0 + $1.installments.count + 1 }
        }
        return max(1, (rows + perPage - 1) / perPage)
    }
}
