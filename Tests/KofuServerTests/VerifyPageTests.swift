import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// `/verify` and `/verify/api/v1` (issue 15): the offline check, then the ledger and the seal registry; the
/// seal travels only in a POST body; the page speaks the paper's language.
@Suite(.serialized) struct VerifyPageTests {
    static let formHeaders: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .accept: "text/html"]

    static func formBody(_ seal: String) -> ByteBuffer {
        var allowed = CharacterSet.alphanumerics
        allowed.remove(charactersIn: "+")
        return ByteBuffer(string: "seal=" + seal.addingPercentEncoding(withAllowedCharacters: allowed)!.replacingOccurrences(of: "%20", with: "+"))
    }

    static func api(_ client: any TestClientProtocol, _ seal: String) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: ["seal": seal])
        let r = try await client.execute(uri: "/verify/api/v1", method: .post, headers: Kiosk.jsonHeaders, body: ByteBuffer(bytes: body))
        #expect(r.status == .ok)
        return Kiosk.json(r.body)
    }

    static func page(_ client: any TestClientProtocol, _ seal: String) async throws -> String {
        let r = try await client.execute(uri: "/verify", method: .post, headers: formHeaders, body: formBody(seal))
        #expect(r.status == .ok)
        #expect(r.headers[.cacheControl] == "no-store")
        return String(buffer: r.body)
    }

    /// Issues one certificate at the kiosk; returns its issuance id, number and seal (read from the PDF's QR).
    static func issue(_ client: any TestClientProtocol, _ h: KioskHarness, id: String, card: String = "ordinary",
                      kind: String = "income_taxation") async throws -> (id: String, number: String, seal: String) {
        let headers = Kiosk.pdfHeaders
        let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                         body: Kiosk.issueBody(id, card: h.card(card), kind: kind, year: h.latestYear))
        #expect(r.status == .created, "\(String(buffer: r.body))")
        let number = try #require(r.headers[HTTPField.Name("Kofu-Certificate-Numbers")!])
        let issuance = try #require(r.headers[HTTPField.Name("Kofu-Issuance-Id")!])
        let seal = try #require(try PDFTools.qrCodes(Array(buffer: r.body)).first)
        return (issuance, number, seal)
    }

    @Test("valid, not delivered, delivered, void, superseded, forged, revoked and malformed over HTTP",
          arguments: StorageTestSupport.backends)
    func statesOverHTTP(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let first = try await Self.issue(client, h, id: "VP-1")
            #expect(first.seal.hasPrefix("KF2:"))

            // Printed, not yet confirmed: 未交付.
            var v = try await Self.api(client, first.seal)
            #expect(v["status"] as? String == "not_delivered" && v["genuine"] as? Bool == false, "\(v)")
            #expect(try await Self.page(client, first.seal).contains("未交付"))

            // Delivered: 真正・交付済み, with the paper's wording.
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(first.id)/delivered", method: .post).status == .ok)
            v = try await Self.api(client, first.seal)
            #expect(v["status"] as? String == "valid_delivered" && v["genuine"] as? Bool == true, "\(v)")
            let content = try #require(v["certificate"] as? [String: Any])
            #expect(content["certificate_number"] as? String == first.number)
            #expect(content["page_count"] as? Int == 1)
            let html = try await Self.page(client, first.seal + "\r\n")
            #expect(html.contains("真正・交付済み"))
            #expect(html.contains("所得・課税証明書"))
            #expect(html.contains("令和"))
            #expect(html.contains("円"))
            #expect(!html.contains("income_taxation"))
            #expect(html.contains(first.number))
            // In the municipality's own words (Templates/wording.yaml: a 特別区), as the paper prints them.
            #expect(html.contains("特別区民税所得割") && html.contains("都民税均等割"))
            #expect(!html.contains("市町村民税") && !html.contains("道府県民税"))

            // The seal never goes into a URL: GET with a query does not read it.
            let query = first.seal.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let get = try await client.execute(uri: "/verify?s=\(query)", method: .get)
            #expect(get.status == .badRequest)
            let getHTML = String(buffer: get.body)
            #expect(!getHTML.contains(first.number) && !getHTML.contains("真正"))
            #expect(getHTML.contains("<form method=\"post\" action=\"/verify\""))
            #expect(try await client.execute(uri: "/verify.json?s=\(query)", method: .get).status == .gone)

            // Void: cancelled before delivery.
            let second = try await Self.issue(client, h, id: "VP-2")
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(second.id)/cancel", method: .post,
                                             headers: Kiosk.jsonHeaders, body: ByteBuffer(string: #"{"reason":"print_failure"}"#)).status == .ok)
            #expect(try await Self.api(client, second.seal)["status"] as? String == "void")
            #expect(try await Self.page(client, second.seal).contains("無効（取消）"))

            // Superseded by a counter reprint.
            let third = try await Self.issue(client, h, id: "VP-3")
            #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(third.id)/delivered", method: .post).status == .ok)
            try await services.database.transaction { db in
                try await LedgerStore.supersede(original: third.id, by: third.id, newNumber: "2099-0000001", reason: "paper_jam")(db)
            }
            #expect(try await Self.api(client, third.seal)["status"] as? String == "superseded")
            #expect(try await Self.page(client, third.seal).contains("再交付により失効"))

            // A forgery with the (leaked) real key under a real number: the name in clear changed around the
            // original content digest, then the content digest changed too. Both fail online.
            let settings = try h.configuration().sealSettings()
            let leaked = try SealSigner(privateKeyPEMFile: settings.privateKeyFile)
            let (payload, _) = try SealText.split(first.seal)
            var forged = try SealPayload(decoding: payload)
            forged.name = "偽造 太郎"
            let forgedText = try leaked.seal(payload: forged)
            #expect(services.sealKeys.verifier.verify(forgedText, at: JapanTime.localDate(h.clock.now())).isValid, "valid offline")
            #expect(try await Self.api(client, forgedText)["status"] as? String == "content_mismatch")
            forged.contentDigest = SHA256.hash(Array("other content".utf8))
            let forged2 = try leaked.seal(payload: forged)
            #expect(try await Self.api(client, forged2)["status"] as? String == "content_mismatch")
            let forgedHTML = try await Self.page(client, forged2)
            #expect(forgedHTML.contains("記録と不一致") && !forgedHTML.contains("偽造 太郎"))

            // A KF1 seal (the old format, still accepted offline) for a number issued with KF2: a downgrade.
            let downgrade = try leaked.seal(payload: SealPayload(version: 1, municipalityCode: forged.municipalityCode,
                                                                 keyID: forged.keyID, certificateNumber: first.number,
                                                                 fiscalYear: forged.fiscalYear, issueDate: forged.issueDate,
                                                                 name: forged.name, birthDate: forged.birthDate,
                                                                 figures: .incomeTaxation(totalIncome: 1, totalTax: 0)))
            #expect(downgrade.hasPrefix("KF1:"))
            #expect(try await Self.api(client, downgrade)["status"] as? String == "content_mismatch")

            // Malformed.
            let bad = try await Self.api(client, "KF2:NOT A SEAL")
            #expect(bad["status"] as? String == "malformed" && bad["certificate"] == nil)
            #expect(try await Self.page(client, "KF2:NOT A SEAL").contains("形式エラー"))

            // The keyring and its signature are published; the signature verifies with the signing key.
            let keysJSON = Array(buffer: try await client.execute(uri: "/verify/keys.json", method: .get).body)
            let sigJSON = Array(buffer: try await client.execute(uri: "/verify/keys.json.sig", method: .get).body)
            let ring = try SealKeyring(json: keysJSON)
            let sig = try KeyringSignature(json: sigJSON)
            let signing = try #require(ring.entry(keyID: sig.keyID))
            #expect(sig.isValid(for: keysJSON, key: signing.publicKey))

            // Revoked: after rotating, the old key is revoked from today; its seals fail.
            let oldID = services.sealKeys.signingKeyID
            _ = try SealKeyInstall.install(settings: settings, municipality: "131041", validFrom: JapanTime.localDate(h.clock.now()),
                                           replace: true)
            var rotated = try SealKeyring.load(file: settings.keyringFile)
            try rotated.revoke(keyIDHex: oldID, from: JapanTime.localDate(h.clock.now()), reason: "key_compromise")
            try rotated.save(file: settings.keyringFile)
            try services.sealKeys.reloadIfChanged()
            #expect(try await Self.api(client, first.seal)["status"] as? String == "key_revoked")
            let revokedHTML = try await Self.page(client, first.seal)
            #expect(revokedHTML.contains("失効した鍵") && !revokedHTML.contains(first.number))
        }
    }

    /// Screenshots for docs/seal.md: set KOFU_VERIFY_SCREENSHOT_PORT to keep a server with every state up.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["KOFU_VERIFY_SCREENSHOT_DIR"] != nil))
    func writeSealsForScreenshots() async throws {
        let out = ProcessInfo.processInfo.environment["KOFU_VERIFY_SCREENSHOT_DIR"]!
        let h = try await KioskHarness.make(backend: .sqlite)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let a = try await Self.issue(client, h, id: "SS-1")
            _ = try await client.execute(uri: "/kiosk/v1/issuances/\(a.id)/delivered", method: .post)
            let b = try await Self.issue(client, h, id: "SS-2")
            _ = try await client.execute(uri: "/kiosk/v1/issuances/\(b.id)/cancel", method: .post, headers: Kiosk.jsonHeaders,
                                         body: ByteBuffer(string: #"{"reason":"print_failure"}"#))
            let c = try await Self.issue(client, h, id: "SS-3", kind: "tax_payment")
            _ = try await client.execute(uri: "/kiosk/v1/issuances/\(c.id)/delivered", method: .post)
            try await services.database.transaction { db in
                try await LedgerStore.supersede(original: c.id, by: c.id, newNumber: "2099-0000001", reason: "paper_jam")(db)
            }
            var pages: [String: String] = [:]
            pages["valid"] = try await Self.page(client, a.seal)
            pages["void"] = try await Self.page(client, b.seal)
            pages["superseded"] = try await Self.page(client, c.seal)
            pages["malformed"] = try await Self.page(client, "KF2:THIS IS NOT A SEAL")
            let settings = try h.configuration().sealSettings()
            let oldID = services.sealKeys.signingKeyID
            _ = try SealKeyInstall.install(settings: settings, municipality: "131041", validFrom: JapanTime.localDate(h.clock.now()), replace: true)
            var ring = try SealKeyring.load(file: settings.keyringFile)
            try ring.revoke(keyIDHex: oldID, from: JapanTime.localDate(h.clock.now()), reason: "key_compromise")
            try ring.save(file: settings.keyringFile)
            try services.sealKeys.reloadIfChanged()
            pages["revoked"] = try await Self.page(client, a.seal)
            for (name, html) in pages {
                try Data(html.utf8).write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent("verify-\(name).html")))
            }
        }
    }
}
