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

/// Issue #12: the counter's pages on both backends, against the live server — look-up, the resident page,
/// the issue form and its redirect to printing, the approval flow, and the permissions.
@Suite("Counter pages", .serialized)
struct CounterPagesTests {
    /// Signs the counter users in through the sign-in form; returns id → cookie.
    static func signIn(_ client: any TestClientProtocol) async throws -> [String: String] {
        var cookies: [String: String] = [:]
        for (id, _) in CounterAPITests.staff {
            let r = try await client.formLogin(id, CounterAPITests.password(id))
            cookies[id] = try #require(r.cookie)
        }
        return cookies
    }

    static func csrf(_ cookie: String) -> String {
        StaffAuth.csrfToken(forSession: String(cookie.dropFirst("kofu_staff=".count)))
    }

    /// The issue form as a clerk fills it in.
    static func issueForm(_ cookie: String, kind: String, year: Int, copies: Int = 1, applicant: String = "self", poa: Bool = false) -> String {
        "_csrf=\(csrf(cookie))&kind=\(kind)&year=\(year)&purpose=certificate_request&copies=\(copies)&document=driver_license"
            + "&applicant=\(applicant)" + (poa ? "&power_of_attorney=yes" : "")
    }

    @Test("the look-up page finds a resident by name and birth date, and says so when none matches; a number goes to the resident page",
          arguments: StorageTestSupport.backends)
    func lookUp(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await Self.signIn(client)["clerk.a"])
            let form = try await client.page("/staff/counter", cookie: cookie)
            #expect(form.status == .ok)
            #expect(form.html.contains(#"<label for="purpose">照会目的"#) && form.html.contains("証明書の交付申請"))
            #expect(form.html.contains(#"type="date""#))

            let addressee = h.cards["moved_out"]!.addresseeID
            let id = try #require(AddresseeID(addressee))
            let person = try #require(try await services.issuance.taxData.person(id))
            let kana = person.nameKana.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let found = try await client.page("/staff/counter?search=1&purpose=inquiry&name=\(kana)&birth_date=\(person.birthDate.iso)",
                                              cookie: cookie)
            #expect(found.status == .ok)
            #expect(found.html.contains(person.name) && found.html.contains(person.birthDate.japaneseEraFormatted))
            #expect(found.html.contains(#"href="/staff/counter/residents/\#(addressee)?purpose=inquiry""#))
            #expect(found.html.contains("転出"))

            let none = try await client.page("/staff/counter?search=1&purpose=inquiry&name=x&birth_date=1900-01-01", cookie: cookie)
            #expect(none.status == .ok && none.html.contains("該当する住民が見つかりません"))
            let noPurpose = try await client.page("/staff/counter?search=1&addressee=\(addressee)", cookie: cookie)
            #expect(noPurpose.status == .badRequest && noPurpose.html.contains("照会目的を選んでください"))
            let byNumber = try await client.page("/staff/counter?search=1&purpose=inquiry&addressee=\(addressee)", cookie: cookie)
            #expect(byNumber.status == .seeOther && byNumber.location == "/staff/counter/residents/\(addressee)?purpose=inquiry")
            let unknown = try await client.page("/staff/counter/residents/999999999999999?purpose=inquiry", cookie: cookie)
            #expect(unknown.status == .notFound && unknown.html.contains("該当する住民が見つかりません"))
        }
    }

    @Test("the resident page of a support-measure resident shows the restriction and 承認が必要, linking to the issue form",
          arguments: StorageTestSupport.backends)
    func residentWithRestriction(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await Self.signIn(client)["clerk.a"])
            let addressee = h.cards["support_measure"]!.addresseeID
            let page = try await client.page("/staff/counter/residents/\(addressee)?purpose=kiosk_refusal", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.html.contains("DV等支援措置 — 交付には責任者の承認が必要です"))
            #expect(page.html.contains("承認が必要"))
            #expect(page.html.contains(#"href="/staff/counter/residents/\#(addressee)/issue?kind=income_taxation&amp;year=\#(h.latestYear)&amp;purpose=kiosk_refusal""#))
            #expect(page.html.contains(#"<th scope="col">コンビニ</th>"#))
            try await services.audit.flush()
            #expect(try await services.audit.entries(limit: 10_000).contains {
                $0.actor == "clerk.a" && $0.action == "lookup" && $0.object == "addressee:\(addressee)" && $0.reason == "kiosk_refusal"
            })
        }
    }

    @Test("the issue form issues for an ordinary resident and redirects to the print page; the PDF opens; 印刷完了 wipes it",
          arguments: StorageTestSupport.backends)
    func issueAndPrint(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await Self.signIn(client)["clerk.a"])
            let addressee = h.cards["ordinary"]!.addresseeID
            let form = try await client.page("/staff/counter/residents/\(addressee)/issue?kind=income_taxation&year=\(h.latestYear)&purpose=certificate_request",
                                             cookie: cookie)
            #expect(form.status == .ok)
            #expect(form.html.contains("所得・課税証明書") && form.html.contains("委任状を確認した") && form.html.contains("運転免許証"))

            // A proxy without a power of attorney: the form again, with the reason, nothing issued.
            let proxy = try await client.formPost("/staff/counter/residents/\(addressee)/issue",
                                                  Self.issueForm(cookie, kind: "income_taxation", year: h.latestYear, applicant: "proxy"), cookie: cookie)
            #expect(proxy.status == .badRequest && proxy.html.contains("委任状"))
            #expect(try await services.issuance.ledger.statusCounts(since: .distantPast).isEmpty)

            let issued = try await client.formPost("/staff/counter/residents/\(addressee)/issue",
                                                   Self.issueForm(cookie, kind: "income_taxation", year: h.latestYear, copies: 2,
                                                                  applicant: "proxy", poa: true), cookie: cookie)
            #expect(issued.status == .seeOther)
            let location = try #require(issued.location)
            #expect(location.hasPrefix("/staff/counter/issuances/"))
            let id = String(location.dropFirst("/staff/counter/issuances/".count))
            let print = try await client.page(location, cookie: cookie)
            #expect(print.status == .ok && print.html.contains("印刷待ち") && print.html.contains("600円"))
            #expect(print.html.contains(#"href="/staff/api/v1/counter/issuances/\#(id)/document" target="_blank""#))
            let pdf = try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get,
                                               headers: [.cookie: cookie])
            #expect(pdf.status == .ok && pdf.headers[.contentType] == "application/pdf")

            let confirm = try await client.page("\(location)/confirm?action=printed", cookie: cookie)
            #expect(confirm.status == .ok && confirm.html.contains(#"action="\#(location)/printed""#))
            let printed = try await client.formPost("\(location)/printed", "_csrf=\(Self.csrf(cookie))", cookie: cookie)
            #expect(printed.status == .seeOther && printed.location == location)
            #expect(try await client.page(location, cookie: cookie).html.contains("交付済み"))
            #expect(try await client.execute(uri: "/staff/api/v1/counter/issuances/\(id)/document", method: .get,
                                             headers: [.cookie: cookie]).status == .gone)
            // Without the form's token the post is refused.
            #expect(try await client.formPost("\(location)/cancel", "", cookie: cookie).status == .forbidden)
        }
    }

    @Test("a restricted issue waits for approval: the requester cannot approve, another supervisor can, and lands on the print page",
          arguments: StorageTestSupport.backends)
    func approvalFlow(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookies = try await Self.signIn(client)
            let clerk = try #require(cookies["clerk.a"]), superA = try #require(cookies["super.a"]), superB = try #require(cookies["super.b"])
            let addressee = h.cards["support_measure"]!.addresseeID
            let requested = try await client.formPost("/staff/counter/residents/\(addressee)/issue",
                                                      Self.issueForm(superA, kind: "income_taxation", year: h.latestYear), cookie: superA)
            #expect(requested.status == .seeOther)
            let waiting = try await client.page(try #require(requested.location), cookie: superA)
            #expect(waiting.status == .ok && waiting.html.contains("承認待ち") && waiting.html.contains("super.a以外の窓口責任者"))

            // A clerk may not open the approvals page.
            #expect(try await client.page("/staff/counter/approvals", cookie: clerk).status == .forbidden)
            // The requester sees their own request without buttons; a direct post is refused with the service's message.
            let approval = try #require(try await services.counter.approvals.pending(now: services.issuance.clock.now()).first)
            let own = try await client.page("/staff/counter/approvals", cookie: superA)
            #expect(own.status == .ok && own.html.contains(CounterError.approval(.selfApproval).message))
            #expect(!own.html.contains(#"action="/staff/counter/approvals/\#(approval.id)/approve""#))
            let selfApproval = try await client.formPost("/staff/counter/approvals/\(approval.id)/approve", "_csrf=\(Self.csrf(superA))", cookie: superA)
            #expect(selfApproval.status == .forbidden && selfApproval.html.contains(CounterError.approval(.selfApproval).message))

            let list = try await client.page("/staff/counter/approvals", cookie: superB)
            #expect(list.status == .ok && list.html.contains(addressee) && list.html.contains("DV等支援措置") && list.html.contains(#"action="/staff/counter/approvals/\#(approval.id)/approve""#))
            let approved = try await client.formPost("/staff/counter/approvals/\(approval.id)/approve", "_csrf=\(Self.csrf(superB))", cookie: superB)
            #expect(approved.status == .seeOther)
            let location = try #require(approved.location)
            #expect(location.hasPrefix("/staff/counter/issuances/"))
            let print = try await client.page(location, cookie: superB)
            #expect(print.status == .ok && print.html.contains("印刷待ち"))
            // The requester's page now leads to printing.
            #expect(try await client.page(try #require(requested.location), cookie: superA).html.contains(location))
            let again = try await client.formPost("/staff/counter/approvals/\(approval.id)/approve", "_csrf=\(Self.csrf(superB))", cookie: superB)
            #expect(again.status == .conflict && again.html.contains("既に処理されています"))
        }
    }
}
