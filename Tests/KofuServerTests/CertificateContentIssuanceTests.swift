import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// Issue 14 through the server: the issuance point and the batch's as-of date on the printed page, the fee
/// per copy on each copy with fee × copies in the ledger, and the 「課税なし」 policy, on SQLite and PostgreSQL.
@Suite("Certificate content through the server")
struct CertificateContentIssuanceTests {
    static func pdfRequest(_ requestID: String, card: String, kind: String, year: Int, copies: Int = 1) -> (HTTPFields, ByteBuffer) {
        let headers = Kiosk.pdfHeaders
        return (headers, Kiosk.issueBody(requestID, card: card, kind: kind, year: year, copies: copies))
    }

    @Test("a kiosk 納税証明書: the store and terminal, the batch's 「…現在」, each copy's own fee and fee × copies in the ledger",
          arguments: StorageTestSupport.backends)
    func kioskCopies(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let (headers, body) = Self.pdfRequest("CC-1", card: h.card("ordinary"), kind: "tax_payment", year: h.latestYear, copies: 2)
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers, body: body)
            #expect(r.status == .created, "\(String(buffer: r.body))")
            let id = try #require(r.headers[HTTPField.Name("Kofu-Issuance-Id")!])
            let pdf = Array(buffer: r.body)
            let pages = try PDFTools.pageCount(pdf)
            #expect(pages >= 2)
            let text = PDFTools.compact(try PDFTools.text(pdf))
            // Kiosk.issueBody's terminal: store_chain 7, store_id 131041-0042, terminal_id K03.
            #expect(text.components(separatedBy: "コンビニ交付（7店舗131041-0042端末K03）").count - 1 == pages)
            #expect(text.components(separatedBy: "手数料300円（1通につき）").count - 1 == pages)
            #expect(!text.contains("手数料600円"))
            // 「…現在」 is the day the levies batch in force was extracted (Japan time), not a query's guess.
            let levies = try #require(try await services.issuance.taxData.freshness().first { $0.dataSet == "levies" })
            #expect(text.contains(JapanTime.localDate(levies.extractedAt).japaneseEraFormatted + "現在"))
            let record = try #require(try await services.issuance.ledger.get(id: id))
            #expect(record.copies == 2 && record.feeYen == 600)
        }
    }

    @Test("a counter issuance says 窓口交付", arguments: StorageTestSupport.backends)
    func counterSaysCounter(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookies = try await CounterAPITests.signIn(client)
            let clerk = staffHeaders(cookie: cookies["clerk.a"])
            let addressee = h.cards["ordinary"]!.addresseeID
            _ = try await client.execute(uri: "/staff/api/v1/counter/residents/\(addressee)?purpose=certificate_request", method: .get, headers: clerk)
            let issued = try await client.execute(uri: "/staff/api/v1/counter/issuances", method: .post, headers: clerk,
                                                  body: CounterAPITests.issueBody(addressee, kind: "income_taxation", year: h.latestYear))
            #expect(issued.status == .created, "\(String(buffer: issued.body))")
            let id = try #require(Kiosk.json(issued.body)["issuance_id"] as? String)
            let pdf = try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get, headers: clerk)
            let text = PDFTools.compact(try PDFTools.text(Array(buffer: pdf.body)))
            #expect(text.contains("窓口交付"))
            #expect(!text.contains("コンビニ交付"))
        }
    }

    @Test("no levies in the year: a 「課税なし」 certificate by default, NOT_ASSESSED with issuance.no_levies = refuse",
          arguments: StorageTestSupport.backends)
    func noLevies(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        let card = try #require(h.cards["non_taxed"])
        let person = try #require(AddresseeID(card.addresseeID))
        try await h.withLiveServer { client, services in
            let levies = try await services.issuance.taxData.levies(for: person, year: FiscalYear(h.latestYear))
            try #require(levies.isEmpty, "the sample's non_taxed person has no levies")
            let (headers, body) = Self.pdfRequest("NL-1", card: card.cardSerial, kind: "tax_payment", year: h.latestYear)
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers, body: body)
            #expect(r.status == .created, "\(String(buffer: r.body))")
            let text = PDFTools.compact(try PDFTools.text(Array(buffer: r.body)))
            #expect(text.contains("課税なし"))
            #expect(text.contains("課税されていないことを証明します"))
        }
        try await h.withLiveServer(["KOFU_ISSUANCE_NO_LEVIES": "refuse"]) { client, _ in
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                             body: Kiosk.issueBody("NL-2", card: card.cardSerial, kind: "tax_payment", year: h.latestYear))
            #expect(Kiosk.errorCode(r.body) == "NOT_ASSESSED")
        }
    }
}
