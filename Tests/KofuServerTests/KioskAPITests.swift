import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuDomain
import KofuSeal
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// The kiosk contract end to end over real HTTP, on the sample batch, against SQLite and PostgreSQL.
@Suite struct KioskAPITests {
    /// Issues, fetches and delivers one certificate; checks the PDF as a reader would and the seal.
    static func issueAndCheck(_ client: some TestClientProtocol, _ services: KofuServices, h: KioskHarness, requestID: String,
                              cardCase: String, kind: String, year: Int, plate: String? = nil) async throws {
        let card = h.cards[cardCase]!
        let person = try #require(try await services.issuance.taxData.person(AddresseeID(card.addresseeID)!))
        let created = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                               body: Kiosk.issueBody(requestID, card: card.cardSerial, kind: kind, year: year, plate: plate))
        #expect(created.status == .created, "\(kind) for \(cardCase): \(String(buffer: created.body))")
        #expect(created.headers[HTTPField.Name("X-Request-Id")!] != nil)
        let json = Kiosk.json(created.body)
        let id = try #require(json["issuance_id"] as? String)
        let numbers = try #require(json["certificate_numbers"] as? [String])
        #expect(json["status"] as? String == "ready")
        #expect(json["fee_yen"] as? Int == (kind == "vehicle_inspection" ? 0 : 300))
        #expect((json["document_url"] as? String) == "/kiosk/v1/issuances/\(id)/document")

        let doc = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get)
        #expect(doc.status == .ok)
        #expect(doc.headers[.contentType] == "application/pdf")
        let pdf = Array(buffer: doc.body)
        #expect(try PDFTools.qpdfCheck(pdf) == nil)
        let text = PDFTools.compact(try PDFTools.text(pdf))
        #expect(text.contains(PDFTools.compact(person.name)))
        #expect(text.contains(PDFTools.compact(person.address)))
        #expect(text.contains(numbers[0]))
        #expect(text.contains(FiscalYear(year).japaneseLabel))

        // The QR decodes to a seal that verifies, for this person and this certificate number.
        let seals = try PDFTools.qrCodes(pdf)
        let seal = try #require(seals.first)
        let verified = try await client.execute(uri: "/verify/api/v1", method: .post, headers: Kiosk.jsonHeaders,
                                                body: ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: ["seal": seal])))
        let v = Kiosk.json(verified.body)
        let sealed = v["certificate"] as? [String: Any]
        #expect(v["offline_outcome"] as? String == "valid", "\(String(buffer: verified.body))")
        #expect(sealed?["certificate_number"] as? String == numbers[0])
        #expect(sealed?["name"] as? String == person.name)
        #expect(v["status"] as? String == "not_delivered")

        let delivered = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post)
        #expect(delivered.status == .ok)
        #expect(Kiosk.json(delivered.body)["status"] as? String == "delivered")
        let again = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post)
        #expect(again.status == .ok, "delivered is idempotent")
        let gone = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get)
        #expect(gone.status == .gone)
        #expect(Kiosk.errorCode(gone.body) == "GONE")
        #expect(services.issuance.spool.contains(id: id) == false)
    }

    @Test(arguments: StorageTestSupport.backends)
    func everyKindIssuesOverHTTP(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let year = h.latestYear
            let ordinary = AddresseeID(h.cards["ordinary"]!.addresseeID)!
            let plate = try #require(try await services.issuance.taxData.vehicles(for: ordinary, year: FiscalYear(year)).first).plate
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-TP", cardCase: "ordinary", kind: "tax_payment", year: year)
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-IT", cardCase: "ordinary", kind: "income_taxation", year: year - 1)
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-NT", cardCase: "non_taxed", kind: "non_taxation", year: year)
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-VI", cardCase: "ordinary", kind: "vehicle_inspection", year: year, plate: plate)
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-5x12", cardCase: "five_items_twelve_installments", kind: "tax_payment", year: year)
            try await Self.issueAndCheck(client, services, h: h, requestID: "E2E-BD", cardCase: "birthday_1989_01_07", kind: "income_taxation", year: year)
        }
    }

    /// One call per error code of the contract (KIOSK_API.md), the ledger keeping the internal reason.
    @Test(arguments: StorageTestSupport.backends)
    func everyErrorCode(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let year = h.latestYear
            func issue(_ rid: String, _ cardCase: String, _ kind: String = "income_taxation", year y: Int? = nil, plate: String? = nil)
                async throws -> TestResponse {
                try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                         body: Kiosk.issueBody(rid, card: h.card(cardCase), kind: kind, year: y ?? year, plate: plate))
            }
            func expectError(_ r: TestResponse, _ status: HTTPResponse.Status, _ code: String, _ line: Int = #line) {
                #expect(r.status == status, "line \(line): \(String(buffer: r.body))")
                #expect(Kiosk.errorCode(r.body) == code, "line \(line)")
                #expect(r.headers[HTTPField.Name("X-Request-Id")!] != nil)
            }

            // 400 names the field.
            let bad = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                               body: ByteBuffer(string: #"{"request_id":"X1","card_serial":"0A","kind":"passport","fiscal_year":2026}"#))
            expectError(bad, .badRequest, "INVALID_REQUEST")
            let badMessage = (Kiosk.json(bad.body)["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(badMessage.contains("kind: "))
            expectError(try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: ByteBuffer(string: "not json")), .badRequest, "INVALID_REQUEST")
            expectError(try await issue("X2", "ordinary", "vehicle_inspection"), .badRequest, "INVALID_REQUEST")

            expectError(try await client.execute(uri: "/kiosk/v1/issuances/\(UUID().uuidString.lowercased())", method: .get), .notFound, "NOT_FOUND")
            expectError(try await client.execute(uri: "/kiosk/v1/issuances/not-an-id/document", method: .get), .notFound, "NOT_FOUND")

            // Idempotency: same body → same issuance; other body → 409.
            let first = try await issue("IDEM-1", "ordinary")
            #expect(first.status == .created)
            let replay = try await issue("IDEM-1", "ordinary")
            #expect(replay.status == .created)
            #expect(Kiosk.json(replay.body)["issuance_id"] as? String == Kiosk.json(first.body)["issuance_id"] as? String)
            #expect(Kiosk.json(replay.body)["certificate_numbers"] as? [String] == Kiosk.json(first.body)["certificate_numbers"] as? [String])
            expectError(try await issue("IDEM-1", "ordinary", year: year - 1), .conflict, "REQUEST_ID_REUSED")

            // Cancel → void; document gone; the seal's number verifies as void.
            let id = Kiosk.json(first.body)["issuance_id"] as! String
            let number = (Kiosk.json(first.body)["certificate_numbers"] as! [String])[0]
            let cancelled = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/cancel", method: .post, headers: Kiosk.jsonHeaders,
                                                     body: ByteBuffer(string: #"{"reason":"print_failure"}"#))
            #expect(cancelled.status == .ok)
            expectError(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get), .gone, "GONE")
            expectError(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post), .gone, "GONE")
            #expect(try await services.issuance.ledger.numberStatus(number)?.status == .void)
            expectError(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/cancel", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: ByteBuffer(string: #"{"reason":"because"}"#)), .badRequest, "INVALID_REQUEST")

            // Refusals: the public code only; the ledger keeps the internal reason.
            let refusals: [(String, String, String, Int, String?, String, String)] = [
                ("R1", "unknown_card", "income_taxation", year, nil, "CARD_NOT_REGISTERED", "card_unknown"),
                ("R2", "revoked_card", "income_taxation", year, nil, "CARD_NOT_REGISTERED", "card_revoked"),
                ("R3", "moved_out", "income_taxation", year, nil, "COUNTER_ONLY", "moved_out"),
                ("R4", "deceased", "income_taxation", year, nil, "COUNTER_ONLY", "deceased"),
                ("R5", "moved_in_today", "income_taxation", year, nil, "COUNTER_ONLY", "moved_in_today"),
                ("R6", "support_measure", "income_taxation", year, nil, "COUNTER_ONLY", "support_measure"),
                ("R7", "issuance_stop", "income_taxation", year, nil, "COUNTER_ONLY", "issuance_stop"),
                ("R8", "unprintable_name_character", "income_taxation", year, nil, "COUNTER_ONLY", "unprintable_character_in_name"),
                ("R9", "ordinary", "income_taxation", year - 4, nil, "OUT_OF_RETENTION", "fiscal_year_not_held"),
                ("R10", "ordinary", "non_taxation", year, nil, "NOT_ASSESSED", "taxed_not_non_taxed"),
                ("R11", "ordinary", "vehicle_inspection", year, "品川 500 さ 99-99", "NO_VEHICLE", "no_such_vehicle"),
                ("R12", "vehicle_tax_unpaid", "vehicle_inspection", year, nil, "UNPAID_TAX", "vehicle_tax_unpaid"),
                ("R13", "vehicle_tax_provisional", "vehicle_inspection", year, nil, "PAYMENT_UNCONFIRMED", "vehicle_provisional_payment"),
            ]
            for (rid, cardCase, kind, y, plateOverride, code, reason) in refusals {
                var plate = plateOverride
                if kind == "vehicle_inspection" && plate == nil {
                    plate = try await services.issuance.taxData.vehicles(for: AddresseeID(h.cards[cardCase]!.addresseeID)!, year: FiscalYear(y)).first?.plate
                }
                let r = try await issue(rid, cardCase, kind, year: y, plate: plate)
                expectError(r, .unprocessableContent, code)
                let message = (Kiosk.json(r.body)["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(!message.contains("転出") && !message.contains("死亡") && !message.contains("支援"), "never says why")
                let record = try #require(try await services.issuance.ledger.get(requestID: rid))
                #expect(record.status == .refused)
                #expect(record.internalReason == reason, "\(rid)")
                #expect(record.numbers.isEmpty)
            }
            // Unpaid past due and provisional payment, in whichever held year the sample put them.
            var sawUnpaid = false, sawProvisional = false
            for y in h.fiscalYears {
                let u = try await issue("U\(y)", "unpaid_past_due", "tax_payment", year: y)
                if Kiosk.errorCode(u.body) == "UNPAID_TAX" { sawUnpaid = true }
                let p = try await issue("P\(y)", "provisional_payment", "tax_payment", year: y)
                if Kiosk.errorCode(p.body) == "PAYMENT_UNCONFIRMED" { sawProvisional = true }
            }
            #expect(sawUnpaid)
            #expect(sawProvisional)

            // Operator pause → SERVICE_CLOSED with Retry-After; resume reopens.
            try await services.issuance.setIntakePaused(true, by: "op1")
            let closed = try await issue("C1", "ordinary")
            expectError(closed, .serviceUnavailable, "SERVICE_CLOSED")
            #expect(closed.headers[.retryAfter] != nil)
            try await services.issuance.setIntakePaused(false, by: "op1")
            #expect(try await issue("C2", "ordinary").status == .created)
        }
    }

    /// Outside service hours and on 12/29–1/3 the kiosk gets SERVICE_CLOSED.
    @Test func serviceHoursAndClosedDays() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        let now = h.clock.now()
        let minute = JapanTime.minuteOfDay(now)
        // A one-minute window that is not now.
        let open = (minute + 120) % 1380
        let hours = String(format: "%02d:%02d-%02d:%02d", open / 60, open % 60, (open + 1) / 60, (open + 1) % 60)
        try await h.withLiveServer(["KOFU_ISSUANCE_SERVICE_HOURS": hours]) { client, _ in
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                             body: Kiosk.issueBody("H1", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
            #expect(r.status == .serviceUnavailable)
            #expect(Kiosk.errorCode(r.body) == "SERVICE_CLOSED")
            #expect(Int(r.headers[.retryAfter] ?? "") ?? 0 >= 60)
        }
        let today = JapanTime.localDate(now)
        let closedToday = String(format: "%02d-%02d", today.month, today.day)
        try await h.withLiveServer(["KOFU_ISSUANCE_CLOSED_DAYS": closedToday]) { client, _ in
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                             body: Kiosk.issueBody("H2", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
            #expect(Kiosk.errorCode(r.body) == "SERVICE_CLOSED")
        }
    }

    /// `Accept: application/pdf` answers with the document and `Kofu-*` headers; TTL expiry wipes and voids.
    @Test func pdfInOneRoundTripAndDeliveryTTL() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let headers = Kiosk.pdfHeaders
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                             body: Kiosk.issueBody("PDF-1", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear, copies: 2))
            #expect(r.status == .created)
            #expect(r.headers[.contentType] == "application/pdf")
            let id = try #require(r.headers[HTTPField.Name("Kofu-Issuance-Id")!])
            let numbers = try #require(r.headers[HTTPField.Name("Kofu-Certificate-Numbers")!]).split(separator: ",").map(String.init)
            #expect(numbers.count == 2 && numbers[0] != numbers[1])
            let pdf = Array(buffer: r.body)
            #expect(try PDFTools.pageCount(pdf) == 2)
            let text = try PDFTools.text(pdf)
            #expect(numbers.allSatisfy { text.contains($0) })

            // Not delivered within the TTL: wiped, expired, numbers void.
            h.clock.advance(601)
            #expect(try await services.issuance.expireOverdue() == 1)
            let gone = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get)
            #expect(gone.status == .gone)
            let status = try await client.execute(uri: "/kiosk/v1/issuances/\(id)", method: .get)
            #expect(Kiosk.json(status.body)["status"] as? String == "expired")
            for n in numbers { #expect(try await services.issuance.ledger.numberStatus(n)?.status == .void) }
            #expect(services.issuance.spool.count() == 0)
        }
    }

    /// After `delivered` the document's bytes are nowhere in the data directory (database, WAL) nor in the
    /// spool's memory.
    @Test func deliveredDocumentIsNotRecoverable() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let headers = Kiosk.pdfHeaders
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                             body: Kiosk.issueBody("WIPE-1", card: h.card("ordinary"), kind: "tax_payment", year: h.latestYear))
            let pdf = Array(buffer: r.body)
            let id = try #require(r.headers[HTTPField.Name("Kofu-Issuance-Id")!])
            // While ready, the document waits in the spool's memory (no file: SpoolIssuanceTests).
            #expect(services.issuance.spool.contains(id: id))
            _ = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post)
            try await services.audit.flush()
            await #expect(throws: DocumentSpool.Error.missing) { try await services.issuance.spool.load(id: id) }
            for probeAt in [pdf.count / 4, pdf.count / 2, pdf.count * 3 / 4] {
                let chunk = Array(pdf[probeAt..<(probeAt + 48)])
                for file in try FileManager.default.subpathsOfDirectory(atPath: h.dataDir) {
                    let path = "\(h.dataDir)/\(file)"
                    guard let data = FileManager.default.contents(atPath: path) else { continue }
                    #expect(Self.find(chunk, in: Array(data)) == false, "document bytes found in \(file)")
                }
            }
        }
    }

    /// Each kiosk step leaves its audit entry (written in the ledger change's own transaction), and the chain
    /// still verifies.
    @Test(arguments: StorageTestSupport.backends)
    func everyKioskStepIsAudited(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            func issue(_ requestID: String, _ card: String) async throws -> String? {
                let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: Kiosk.issueBody(requestID, card: card, kind: "income_taxation", year: h.latestYear))
                return (try JSONSerialization.jsonObject(with: Data(buffer: r.body)) as? [String: Any])?["issuance_id"] as? String
            }
            let delivered = try #require(try await issue("AUD-1", h.card("ordinary")))
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(delivered)/document", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(delivered)/delivered", method: .post).status == .ok)
            let cancelled = try #require(try await issue("AUD-2", h.card("ordinary")))
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(cancelled)/cancel", method: .post, headers: Kiosk.jsonHeaders,
                                             body: ByteBuffer(string: #"{"reason":"user_cancelled"}"#)).status == .ok)
            _ = try await issue("AUD-3", h.card("moved_out"))
            try await services.audit.flush()

            let entries = try await services.audit.entries(limit: 10_000)
            func actions(_ id: String) -> [String] {
                entries.filter { $0.object == AuditObject.issuance(id).rawValue }.map(\.action)
            }
            #expect(actions(delivered) == [AuditAction.kioskIssue, .kioskFetch, .kioskDelivered].map(\.rawValue))
            #expect(actions(cancelled) == [AuditAction.kioskIssue, .kioskCancel].map(\.rawValue))
            let refused = try #require(try await services.issuance.ledger.get(requestID: "AUD-3"))
            #expect(actions(refused.id) == [AuditAction.kioskRefusal.rawValue])
            let check = try await AuditVerifier(database: services.database, signer: services.checkpointSigner).verify()
            #expect(check.isIntact)
        }
    }

    /// Base45 seals hold spaces and pluses: both arrive intact whether the query is fully percent-encoded or
    /// form-encoded (`+` for a space, `%2B` for a plus), as a browser form or `curl --data-urlencode` sends it.
    @Test func sealQueryDecoding() {
        let seal = "KF1:AB C+D%E/F"
        #expect(FormQuery.value("s", in: "s=KF1%3AAB+C%2BD%25E%2FF") == seal)
        #expect(FormQuery.value("s", in: "x=1&s=KF1%3AAB%20C%2BD%25E%2FF") == seal)
        #expect(FormQuery.value("s", in: "x=1") == nil)
        #expect(FormQuery.value("s", in: nil) == nil)
        #expect(FormQuery.value("s", in: "s=%ZZ") == nil)
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return haystack.withUnsafeBufferPointer { h in
            var i = 0
            while i <= h.count - needle.count {
                if h[i] == needle[0] && Array(h[i..<(i + needle.count)]) == needle { return true }
                i += 1
            }
            return false
        }
    }

    /// Health, readiness and metrics answer, and metrics carry no personal data.
    @Test func operationsEndpoints() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, _ in
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok)
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .ok)
            #expect(String(buffer: ready.body).contains("fiscal_years="))
            _ = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                         body: Kiosk.issueBody("M1", card: h.card("moved_out"), kind: "income_taxation", year: h.latestYear))
            let metrics = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("kofu_refusals_total"))
            #expect(!metrics.contains(h.card("moved_out")))
            let keys = try await client.execute(uri: "/.well-known/kofu/seal-keys.json", method: .get)
            #expect(keys.status == .ok)
            #expect(!String(buffer: keys.body).contains("PRIVATE"))
        }
    }
}
