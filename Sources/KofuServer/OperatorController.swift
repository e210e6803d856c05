import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// The operators' dashboard and intake pause, behind staff login (`/staff/operator…`). It shows counts,
/// never individuals (seeds/001 L130): issuances by status and kind, refusals by reason, data freshness,
/// the spool and the admission queue.
struct OperatorController: Sendable {
    let services: KofuServices

    static let dashboard = StaffEndpoint(.get, "operator", .permission(.operatorDashboard))
    static let summary = StaffEndpoint(.get, "operator/summary", .permission(.operatorDashboard))
    static let pause = StaffEndpoint(.post, "operator/intake/pause", .permission(.operatorPauseResume))
    static let resume = StaffEndpoint(.post, "operator/intake/resume", .permission(.operatorPauseResume))
    static let endpoints = [dashboard, summary, pause, resume]

    func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.summary) { _, _, _ in KioskJSON.response(.ok, try await self.makeSummary()) }
        staff.add(Self.dashboard) { request, _, _ in
            let csrf = request.cookies[StaffAuth.cookieName].map { StaffAuth.csrfToken(forSession: $0.value) } ?? ""
            return Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html(try await self.makeSummary(), csrfToken: csrf))))
        }
        staff.add(Self.pause) { request, _, user in try await self.setPaused(true, request, by: user) }
        staff.add(Self.resume) { request, _, user in try await self.setPaused(false, request, by: user) }
    }

    /// Pause or resume with an optional reason (`reason` in the JSON body or the form). A form post is
    /// answered with a redirect back to the page; a JSON call with the summary.
    func setPaused(_ paused: Bool, _ request: Request, by user: StaffUser) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: 64 * 1024))
        let isForm = RequestBodyPolicy.mediaType(request) == "application/x-www-form-urlencoded"
        var reason: String?
        if isForm {
            reason = FormQuery.value("reason", in: body)
        } else if case .object(let o) = JSONValue.parse(Array(body.utf8)) ?? .null, case .string(let r) = o["reason"] ?? .null {
            reason = r
        }
        reason = reason?.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason?.isEmpty == true { reason = nil }
        try await services.issuance.setIntakePaused(paused, by: user.userID, reason: reason)
        if isForm {
            return Response(status: .seeOther, headers: [.location: "/staff/operator", .cacheControl: "no-store"])
        }
        return KioskJSON.response(.ok, try await self.makeSummary())
    }

    struct Summary: Encodable {
        var generated_at: String
        var intake_paused: Bool
        var service_open_now: Bool
        /// `open`, or `closed` / `partly_closed` with `closed_reasons` (the kiosk's own decision).
        var kiosk_status: String
        var closed_reasons: [ClosedReason]
        var paused_by: String?
        var paused_since: String?
        var pause_reason: String?
        var issuances_24h_by_status: [String: Int]
        var issuances_24h_by_kind: [String: Int]
        var refusals_24h_by_reason: [String: Int]
        var spool_documents: Int
        var renders_active: Int
        var renders_waiting: Int
        var data_sets: [DataSet]
        var fiscal_years_held: [Int]

        struct ClosedReason: Encodable {
            var code: String
            var label: String
            /// The kinds it closes (every kind when it closes the service).
            var kinds: [String]
        }

        struct DataSet: Encodable {
            var data_set: String
            var batch_id: String
            var extracted_at: String
            var loaded_at: String
            var age_hours: Double
            var stale: Bool
        }
    }

    func makeSummary() async throws -> Summary {
        let service = services.issuance
        let now = service.clock.now()
        let since = now.addingTimeInterval(-86400)
        let load = service.admission.load()
        let day = JapanTime.localDate(now)
        let maxAge = Double(service.settings.policy.maxDataAgeHours)
        let sets = try await service.taxData.freshness().map { f in
            let age = (now.timeIntervalSince(f.extractedAt) / 360).rounded() / 10
            return Summary.DataSet(data_set: f.dataSet, batch_id: f.batchID, extracted_at: JapanTime.iso8601(f.extractedAt),
                                   loaded_at: JapanTime.iso8601(f.loadedAt), age_hours: age, stale: age > maxAge)
        }
        let availability = try await service.availability(at: now)
        let pause = try await service.intakePause()
        let reasons = availability.allReasons.map { reason in
            Summary.ClosedReason(code: reason.code, label: reason.japanese,
                                 kinds: CertificateKind.allCases.filter { availability.reason(for: $0) == reason }.map(\.rawValue))
        }
        return Summary(
            generated_at: JapanTime.iso8601(now),
            intake_paused: pause.paused,
            service_open_now: service.settings.isOpen(month: day.month, day: day.day, minuteOfDay: JapanTime.minuteOfDay(now)),
            kiosk_status: availability.isFullyOpen ? "open" : (availability.isClosed ? "closed" : "partly_closed"),
            closed_reasons: reasons,
            paused_by: pause.paused ? pause.by : nil, paused_since: pause.paused ? pause.since.map(JapanTime.iso8601) : nil,
            pause_reason: pause.paused ? pause.reason : nil,
            issuances_24h_by_status: try await service.ledger.statusCounts(since: since),
            issuances_24h_by_kind: try await service.ledger.kindCounts(since: since),
            refusals_24h_by_reason: try await service.ledger.refusalCounts(since: since),
            spool_documents: service.spool.count(),
            renders_active: load.active, renders_waiting: load.waiting,
            data_sets: sets, fiscal_years_held: try await service.taxData.heldFiscalYears().map(\.year))
    }
}

/// The dashboard page: counts only, refreshed every 15 s, no scripts.
enum DashboardPage {
    static func table(_ title: String, _ counts: [String: Int]) -> String {
        let rows = counts.sorted { $0.key < $1.key }
            .map { "<tr><td>\(VerificationPage.escape($0.key))</td><td class=n>\($0.value)</td></tr>" }.joined()
        return "<h2>\(title)</h2><table>\(rows.isEmpty ? "<tr><td>なし</td></tr>" : rows)</table>"
    }

    static func html(_ s: OperatorController.Summary, csrfToken: String) -> String {
        let e = VerificationPage.escape
        let state: String
        if s.kiosk_status == "open" {
            state = "<span class=ok>受付中</span>"
        } else {
            let why = s.closed_reasons.map { r in
                var text = r.label
                if r.code == "paused" {
                    text += "(\(s.paused_by ?? "不明")、\(s.paused_since ?? "")から\(s.pause_reason.map { "、理由: \($0)" } ?? ""))"
                }
                if r.kinds.count < CertificateKind.allCases.count {
                    text += " — 対象: " + r.kinds.compactMap { CertificateKind(rawValue: $0)?.title }.joined(separator: "、")
                }
                return e(text)
            }.joined(separator: "／")
            state = "<span class=ng>受付不可</span>・\(why)"
        }
        let pauseForm = s.intake_paused
            ? "<form method=\"post\" action=\"/staff/operator/intake/resume\"><input type=hidden name=_csrf value=\"\(e(csrfToken))\"><button>受付再開</button></form>"
            : "<form method=\"post\" action=\"/staff/operator/intake/pause\"><input type=hidden name=_csrf value=\"\(e(csrfToken))\"><label>停止理由 <input name=reason required maxlength=200></label> <button>受付停止</button></form>"
        let data = s.data_sets.map {
            "<tr><td>\($0.data_set)</td><td>\(VerificationPage.escape($0.batch_id))</td><td>\($0.extracted_at)</td><td class=n>\($0.age_hours)</td><td>\($0.stale ? "<span class=ng>古い</span>" : "OK")</td></tr>"
        }.joined()
        return """
        <!doctype html><html lang="ja"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15"><title>Kofu 運用状況</title>
        <style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .6em}.n{text-align:right}.ok{color:#060}.ng{color:#a00}</style>
        </head><body><h1>Kofu 運用状況</h1>
        <p>\(s.generated_at) ／ キオスク受付: \(state) ／ 保管文書: \(s.spool_documents) ／ 描画中: \(s.renders_active) 待ち: \(s.renders_waiting)</p>
        \(pauseForm)
        \(table("直近24時間の交付(状態別)", s.issuances_24h_by_status))
        \(table("直近24時間の交付(種類別)", s.issuances_24h_by_kind))
        \(table("直近24時間の交付拒否(理由別)", s.refusals_24h_by_reason))
        <h2>連携データ</h2><table><tr><th>データ</th><th>バッチ</th><th>抽出日時</th><th>経過時間</th><th>状態</th></tr>\(data)</table>
        <p>保有年度: \(s.fiscal_years_held.map(String.init).joined(separator: ", "))</p>
        </body></html>
        """
    }
}
