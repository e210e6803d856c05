import Foundation
import HTTPTypes
import Hummingbird
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
        staff.add(Self.dashboard) { _, _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html(try await self.makeSummary()))))
        }
        staff.add(Self.pause) { _, _, user in
            try await services.issuance.setIntakePaused(true, by: user.userID)
            return KioskJSON.response(.ok, try await self.makeSummary())
        }
        staff.add(Self.resume) { _, _, user in
            try await services.issuance.setIntakePaused(false, by: user.userID)
            return KioskJSON.response(.ok, try await self.makeSummary())
        }
    }

    struct Summary: Encodable {
        var generated_at: String
        var intake_paused: Bool
        var service_open_now: Bool
        var issuances_24h_by_status: [String: Int]
        var issuances_24h_by_kind: [String: Int]
        var refusals_24h_by_reason: [String: Int]
        var spool_documents: Int
        var renders_active: Int
        var renders_waiting: Int
        var data_sets: [DataSet]
        var fiscal_years_held: [Int]

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
        return Summary(
            generated_at: JapanTime.iso8601(now),
            intake_paused: try await service.intakePaused(),
            service_open_now: service.settings.isOpen(month: day.month, day: day.day, minuteOfDay: JapanTime.minuteOfDay(now)),
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

    static func html(_ s: OperatorController.Summary) -> String {
        let state = s.intake_paused ? "<span class=ng>受付停止中</span>" : (s.service_open_now ? "<span class=ok>受付中</span>" : "<span class=ng>サービス時間外</span>")
        let data = s.data_sets.map {
            "<tr><td>\($0.data_set)</td><td>\(VerificationPage.escape($0.batch_id))</td><td>\($0.extracted_at)</td><td class=n>\($0.age_hours)</td><td>\($0.stale ? "<span class=ng>古い</span>" : "OK")</td></tr>"
        }.joined()
        return """
        <!doctype html><html lang="ja"><head><meta charset="utf-8"><meta http-equiv="refresh" content="15"><title>Kofu 運用状況</title>
        <style>body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .6em}.n{text-align:right}.ok{color:#060}.ng{color:#a00}</style>
        </head><body><h1>Kofu 運用状況</h1>
        <p>\(s.generated_at) ／ キオスク受付: \(state) ／ 保管文書: \(s.spool_documents) ／ 描画中: \(s.renders_active) 待ち: \(s.renders_waiting)</p>
        <form method="post" action="/staff/operator/intake/\(s.intake_paused ? "resume" : "pause")"><button>\(s.intake_paused ? "受付再開" : "受付停止")</button></form>
        \(table("直近24時間の交付(状態別)", s.issuances_24h_by_status))
        \(table("直近24時間の交付(種類別)", s.issuances_24h_by_kind))
        \(table("直近24時間の交付拒否(理由別)", s.refusals_24h_by_reason))
        <h2>連携データ</h2><table><tr><th>データ</th><th>バッチ</th><th>抽出日時</th><th>経過時間</th><th>状態</th></tr>\(data)</table>
        <p>保有年度: \(s.fiscal_years_held.map(String.init).joined(separator: ", "))</p>
        </body></html>
        """
    }
}
