import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuSeal
import KofuStorage

/// Public verification of a printed seal: a page for people (`GET /verify?s=…`), JSON for machines
/// (`GET /verify.json?s=…`), and the published keys (`/.well-known/kofu/seal-keys.json`).
/// It answers the offline check plus the number's online status, and never more personal data than
/// the seal itself carries.
struct VerificationController: Sendable {
    /// The keys in force, read per request so a rotation shows without a restart.
    let keys: SealKeys
    let ledger: LedgerStore
    let clock: any KofuClock

    func addRoutes(to router: Router<KofuRequestContext>) {
        router.get(".well-known/kofu/seal-keys.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(bytes: keys.keyring.json())))
        }
        router.get("verify.json") { request, _ in
            let result = try await check(request)
            return KioskJSON.response(result.valid ? .ok : .unprocessableContent, result)
        }
        router.get("verify") { request, _ in
            let result = try await check(request)
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: VerificationPage.html(result))))
        }
    }

    struct Result: Encodable {
        var valid: Bool
        var outcome: String
        /// `issued`, `void`, `superseded`, or `unknown` (online status from the ledger).
        var status: String?
        var certificate_number: String?
        var kind: String?
        var fiscal_year: Int?
        var issue_date: String?
        var name: String?
        var birth_date: String?
        var figures: [String: String]?
    }

    func check(_ request: Request) async throws -> Result {
        guard let text = FormQuery.value("s", in: request.uri.query), !text.isEmpty, text.utf8.count <= 4096 else {
            return Result(valid: false, outcome: "malformed")
        }
        let v = keys.verifier.verify(text, at: JapanTime.localDate(clock.now()))
        var r = Result(valid: v.isValid, outcome: v.outcome.rawValue)
        guard v.isValid, let p = v.payload else { return r }
        r.certificate_number = p.certificateNumber
        r.kind = p.kind.rawValue
        r.fiscal_year = p.fiscalYear
        r.issue_date = p.issueDate.iso
        r.name = p.name
        r.birth_date = p.birthDate.iso
        var f: [String: String] = [:]
        switch p.figures {
        case .taxPayment(let lines):
            for l in lines { f["tax_item_\(l.taxItem.rawValue)"] = "assessed=\(l.assessed) paid=\(l.paid) unpaid=\(l.unpaid)" }
        case .incomeTaxation(let income, let tax): f["total_income"] = String(income); f["total_tax"] = String(tax)
        case .nonTaxation(let nonTaxed, let income): f["non_taxed"] = String(nonTaxed); f["total_income"] = String(income)
        case .vehicleInspection(let plate, let paid, let until): f["plate"] = plate; f["paid"] = String(paid); f["valid_until"] = until.iso
        }
        r.figures = f
        let status = try await ledger.numberStatus(p.certificateNumber)
        r.status = status?.status.rawValue ?? "unknown"
        if status?.status != .issued { r.valid = false }
        return r
    }
}

/// The verification page: plain HTML, no scripts, nothing loaded from elsewhere.
enum VerificationPage {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func html(_ r: VerificationController.Result) -> String {
        let verdict: String
        switch (r.outcome, r.status) {
        case ("valid", "issued"): verdict = "<p class=ok>この証明書は真正です(署名が正しく、交付済みです)。印字内容と下記を照合してください。</p>"
        case ("valid", "void"): verdict = "<p class=ng>署名は正しいですが、この証明書番号は無効(交付取消)です。</p>"
        case ("valid", "superseded"): verdict = "<p class=ng>署名は正しいですが、この証明書は再交付により置き換えられています。</p>"
        case ("valid", _): verdict = "<p class=ng>署名は正しいですが、この証明書番号の交付記録がありません。</p>"
        default: verdict = "<p class=ng>この証明書の電子署名を確認できません(\(escape(r.outcome)))。</p>"
        }
        var rows = ""
        let fields: [(String, String?)] = [("証明書番号", r.certificate_number), ("種類", r.kind), ("年度", r.fiscal_year.map(String.init)),
                                           ("発行日", r.issue_date), ("氏名", r.name), ("生年月日", r.birth_date)]
        for (k, v) in fields { if let v { rows += "<tr><th>\(k)</th><td>\(escape(v))</td></tr>" } }
        for (k, v) in (r.figures ?? [:]).sorted(by: { $0.key < $1.key }) { rows += "<tr><th>\(escape(k))</th><td>\(escape(v))</td></tr>" }
        return """
        <!doctype html><html lang="ja"><head><meta charset="utf-8"><title>証明書の確認</title>
        <style>body{font-family:sans-serif;max-width:40em;margin:2em auto}.ok{color:#060}.ng{color:#a00}th{text-align:left;padding-right:1em}</style>
        </head><body><h1>証明書の確認</h1>\(verdict)<table>\(rows)</table></body></html>
        """
    }
}
