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

/// Issue #12, part 3: the 交付履歴, 再交付 and 窓口収納 pages on both backends, against the live server.
@Suite("History pages", .serialized)
struct HistoryPagesTests {
    /// A kiosk issuance of the `ordinary` card's income certificate, handed over: (issuance id, number, seal text).
    static func kioskIssuance(_ h: KioskHarness, _ client: any TestClientProtocol, requestID: String) async throws -> (String, String, String) {
        let headers = Kiosk.pdfHeaders
        let kiosk = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                             body: Kiosk.issueBody(requestID, card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
        try #require(kiosk.status == .created)
        let number = try #require(kiosk.headers[HTTPField.Name("Kofu-Certificate-Numbers")!])
        let id = try #require(kiosk.headers[HTTPField.Name("Kofu-Issuance-Id")!])
        let seal = try #require(try PDFTools.qrCodes(Array(buffer: kiosk.body)).first)
        try #require(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post).status == .ok)
        return (id, number, seal)
    }

    /// A counter issuance through the issue form; returns its issuance id.
    static func counterIssuance(_ h: KioskHarness, _ client: any TestClientProtocol, cookie: String, copies: Int) async throws -> String {
        let addressee = h.cards["ordinary"]!.addresseeID
        let issued = try await client.formPost("/staff/counter/residents/\(addressee)/issue",
                                               CounterPagesTests.issueForm(cookie, kind: "income_taxation", year: h.latestYear, copies: copies),
                                               cookie: cookie)
        let location = try #require(issued.location)
        return String(location.dropFirst("/staff/counter/issuances/".count))
    }

    static func reprintForm(_ cookie: String, reason: String, text: String = "") -> String {
        "_csrf=\(CounterPagesTests.csrf(cookie))&reason=\(reason)&reason_text=\(text)&document=my_number_card&applicant=self"
    }

    @Test("the history lists a kiosk and a counter issuance newest first, with their numbers' standing and staff, never amounts",
          arguments: StorageTestSupport.backends)
    func historyLists(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await CounterPagesTests.signIn(client)["clerk.a"])
            let addressee = h.cards["ordinary"]!.addresseeID
            let (kioskID, kioskNumber, _) = try await Self.kioskIssuance(h, client, requestID: "HP-1")
            let counterID = try await Self.counterIssuance(h, client, cookie: cookie, copies: 2)
            let cancelled = try await client.formPost("/staff/counter/issuances/\(counterID)/cancel", "_csrf=\(CounterPagesTests.csrf(cookie))",
                                                      cookie: cookie)
            #expect(cancelled.status == .seeOther)
            let counterNumbers = try #require(try await services.issuance.ledger.get(id: counterID)).numbers.map(\.value)
            #expect(counterNumbers.count == 2)

            let empty = try await client.page("/staff/history", cookie: cookie)
            #expect(empty.status == .ok && empty.html.contains(#"<label for="number">証明書番号"#))
            #expect(empty.html.contains(#"<a href="/staff/history" aria-current="page""#) || empty.html.contains(#"href="/staff/history""#))

            let page = try await client.page("/staff/history?addressee=\(addressee)", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.html.contains("宛名番号 \(addressee) の交付履歴"))
            for number in [kioskNumber] + counterNumbers { #expect(page.html.contains(number)) }
            // Newest first: the counter issuance came after the kiosk one.
            let counterAt = try #require(page.html.range(of: counterNumbers[0])).lowerBound
            let kioskAt = try #require(page.html.range(of: kioskNumber)).lowerBound
            #expect(counterAt < kioskAt)
            #expect(page.html.contains("コンビニ(1通)") && page.html.contains("窓口(2通)"))
            #expect(page.html.contains(#"<span class="ok">有効</span>"#) && page.html.contains(#"<span class="no">無効</span>"#))
            #expect(page.html.contains("交付済み") && page.html.contains("取消") && page.html.contains("<td>clerk.a</td>"))
            #expect(!page.html.contains("円"), "the history shows no amounts")
            #expect(!page.html.contains("再交付 0回"), "no reprint count where there was none")
            #expect(page.html.contains(#"href="/staff/counter/issuances/\#(kioskID)/reprint""#))
            #expect(page.html.contains(#"href="/staff/counter/issuances/\#(counterID)/reprint""#))

            let byNumber = try await client.page("/staff/history?number=\(kioskNumber)", cookie: cookie)
            #expect(byNumber.status == .ok && byNumber.html.contains("証明書番号 \(kioskNumber) の交付履歴"))
            #expect(!byNumber.html.contains(counterNumbers[0]) && byNumber.html.contains(#"href="/staff/history?addressee=\#(addressee)""#))
            let unknown = try await client.page("/staff/history?number=NOPE-1", cookie: cookie)
            #expect(unknown.status == .notFound && unknown.html.contains("この証明書番号の交付記録はありません"))
            let bad = try await client.page("/staff/history?addressee=12x", cookie: cookie)
            #expect(bad.status == .badRequest && bad.html.contains("宛名番号は1〜15桁"))

            // The resident page links here; an auditor sees the history but is not offered a reprint.
            let resident = try await client.page("/staff/counter/residents/\(addressee)?purpose=reissue", cookie: cookie)
            #expect(resident.html.contains(#"href="/staff/history?addressee=\#(addressee)">交付履歴</a>"#))
            _ = try await services.staffAuth.store.addUser("audit.a", role: .auditor, password: CounterAPITests.password("audit.a"))
            let auditor = try #require(try await client.formLogin("audit.a", CounterAPITests.password("audit.a")).cookie)
            let audited = try await client.page("/staff/history?addressee=\(addressee)", cookie: auditor)
            #expect(audited.status == .ok && audited.html.contains(kioskNumber) && !audited.html.contains("/reprint"))
            #expect(try await client.page("/staff/counter/issuances/\(kioskID)/reprint", cookie: auditor).status == .forbidden)
            #expect(try await client.page("/staff/counter/takings", cookie: auditor).status == .forbidden)
            // An operator has no business with residents' issuances.
            _ = try await services.staffAuth.store.addUser("oper.a", role: .operator, password: CounterAPITests.password("oper.a"))
            let oper = try #require(try await client.formLogin("oper.a", CounterAPITests.password("oper.a")).cookie)
            for path in ["/staff/history?addressee=\(addressee)", "/staff/counter/takings", "/staff/counter/issuances/\(kioskID)/reprint"] {
                #expect(try await client.page(path, cookie: oper).status == .forbidden, "\(path)")
            }
            let forged = try await client.formPost("/staff/counter/issuances/\(kioskID)/reprint",
                                                   Self.reprintForm(oper, reason: "paper_jam"), cookie: oper)
            #expect(forged.status == .forbidden)
            #expect(try await services.issuance.ledger.numberStatus(kioskNumber)?.status == .issued)

            try await services.audit.flush()
            #expect(try await services.audit.entries(limit: 10_000).contains {
                $0.actor == "clerk.a" && $0.action == "lookup" && $0.object == "addressee:\(addressee)" && $0.reason == "history"
            })
        }
    }

    @Test("a reprint through the form needs a reason (その他 with text), supersedes the old number and leads to the new one's print page; changed data offers a new issuance",
          arguments: StorageTestSupport.backends)
    func reprintSupersedes(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await CounterPagesTests.signIn(client)["clerk.a"])
            let addressee = h.cards["ordinary"]!.addresseeID
            let (kioskID, kioskNumber, seal) = try await Self.kioskIssuance(h, client, requestID: "HP-2")
            let path = "/staff/counter/issuances/\(kioskID)/reprint"

            let form = try await client.page(path, cookie: cookie)
            #expect(form.status == .ok && form.html.contains(kioskNumber))
            for label in ["印刷不良", "用紙詰まり", "汚損", "紛失", "その他"] { #expect(form.html.contains(">\(label)</option>")) }
            #expect(form.html.contains("マイナンバーカード") && form.html.contains("委任状を確認した"))

            let noReason = try await client.formPost(path, Self.reprintForm(cookie, reason: ""), cookie: cookie)
            #expect(noReason.status == .badRequest && noReason.html.contains("再交付の理由を選んでください"))
            let otherWithout = try await client.formPost(path, Self.reprintForm(cookie, reason: "other"), cookie: cookie)
            #expect(otherWithout.status == .badRequest && otherWithout.html.contains("「その他」の場合は理由を入力してください"))
            #expect(otherWithout.html.contains(#"<option value="other" selected>"#))
            #expect(try await services.issuance.ledger.numberStatus(kioskNumber)?.status == .issued)

            let done = try await client.formPost(path, Self.reprintForm(cookie, reason: "paper_jam"), cookie: cookie)
            #expect(done.status == .seeOther)
            let location = try #require(done.location)
            #expect(location.hasPrefix("/staff/counter/issuances/") && !location.contains(kioskID))
            let newID = String(location.dropFirst("/staff/counter/issuances/".count))
            let newNumber = try #require(try await services.issuance.ledger.get(id: newID)?.numbers.first?.value)
            let print = try await client.page(location, cookie: cookie)
            #expect(print.status == .ok && print.html.contains("印刷待ち") && print.html.contains(newNumber))
            #expect(try await services.issuance.ledger.numberStatus(kioskNumber)?.status == .superseded)
            let verify = Kiosk.json(try await client.execute(uri: "/verify/api/v1", method: .post, headers: Kiosk.jsonHeaders,
                                                             body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["seal": seal]))).body)
            #expect(verify["status"] as? String == "superseded")

            let history = try await client.page("/staff/history?addressee=\(addressee)", cookie: cookie)
            #expect(history.html.contains("再交付により置換(→<a href=\"/staff/history?number=\(newNumber)\">\(newNumber)</a>)"))
            #expect(history.html.contains("再交付 1回"))
            #expect(history.html.contains("再交付元: <a href=\"/staff/history?number=\(kioskNumber)\">\(kioskNumber)</a>(理由: 用紙詰まり)"))
            // A superseded original is not offered for another reprint.
            #expect(!history.html.contains(#"href="\#(path)""#))

            // Data that changed since: the service's message and a link to a new issuance of that kind and year.
            _ = try await client.formPost("\(location)/printed", "_csrf=\(CounterPagesTests.csrf(cookie))", cookie: cookie)
            try await services.database.transaction { db in
                try await db.raw("UPDATE issuances SET content_digest = 'changed' WHERE id = \(bind: newID)").run()
            }
            let changed = try await client.formPost("/staff/counter/issuances/\(newID)/reprint", Self.reprintForm(cookie, reason: "lost"), cookie: cookie)
            #expect(changed.status == .conflict && changed.html.contains(CounterError.contentChanged.message))
            #expect(changed.html.contains(#"href="/staff/counter/residents/\#(addressee)/issue?kind=income_taxation&amp;year=\#(h.latestYear)&amp;purpose=reissue">新規に交付する"#))
        }
    }

    @Test("the takings page lists the day's handed-over counter issuances with 件数, 通数 and 合計金額, and links the CSV",
          arguments: StorageTestSupport.backends)
    func takingsTotals(_ backend: TestBackend) async throws {
        try await CounterAPITests.withCounter(backend) { h, client, services in
            let cookie = try #require(try await CounterPagesTests.signIn(client)["clerk.a"])
            let csrf = "_csrf=\(CounterPagesTests.csrf(cookie))"
            let first = try await Self.counterIssuance(h, client, cookie: cookie, copies: 2)
            let second = try await Self.counterIssuance(h, client, cookie: cookie, copies: 1)
            let waiting = try await Self.counterIssuance(h, client, cookie: cookie, copies: 3)
            _ = try await client.formPost("/staff/counter/issuances/\(first)/printed", csrf, cookie: cookie)
            _ = try await client.formPost("/staff/counter/issuances/\(second)/printed", csrf, cookie: cookie)
            let waitingNumber = try #require(try await services.issuance.ledger.get(id: waiting)?.numbers.first?.value)
            let firstNumber = try #require(try await services.issuance.ledger.get(id: first)?.numbers.first?.value)

            let today = JapanTime.localDate(services.issuance.clock.now())
            let page = try await client.page("/staff/counter/takings", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.html.contains(#"<dd id="takings-count">2件</dd>"#))
            #expect(page.html.contains(#"<dd id="takings-copies">3通</dd>"#))
            #expect(page.html.contains(#"<dd id="takings-total">900円</dd>"#))
            #expect(page.html.contains(firstNumber) && !page.html.contains(waitingNumber), "only what was handed over")
            #expect(page.html.contains(#"<td class="amount">600円</td>"#) && page.html.contains("<td>clerk.a</td>"))
            #expect(page.html.contains(#"type="date" value="\#(today.iso)""#))
            #expect(page.html.contains(#"href="/staff/api/v1/counter/takings?date=\#(today.iso)&amp;format=csv""#))

            let yesterday = try await client.page("/staff/counter/takings?date=2000-01-01", cookie: cookie)
            #expect(yesterday.status == .ok && yesterday.html.contains(#"<dd id="takings-count">0件</dd>"#))
            #expect(yesterday.html.contains("この日の窓口交付はありません"))
            let bad = try await client.page("/staff/counter/takings?date=1.1.2026", cookie: cookie)
            #expect(bad.status == .badRequest && bad.html.contains("YYYY-MM-DD"))
        }
    }
}
