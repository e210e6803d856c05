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
    let pages: StaffPageRenderer

    static let dashboard = StaffEndpoint(.get, "operator", .permission(.operatorDashboard))
    static let summary = StaffEndpoint(.get, "operator/summary", .permission(.operatorDashboard))
    static let script = StaffEndpoint(.get, "operator/console.js", .permission(.operatorDashboard))
    static let settlement = StaffEndpoint(.get, "operator/settlement", .permission(.operatorDashboard))
    static let pause = StaffEndpoint(.post, "operator/intake/pause", .permission(.operatorPauseResume))
    static let resume = StaffEndpoint(.post, "operator/intake/resume", .permission(.operatorPauseResume))
    static let endpoints = [dashboard, summary, script, settlement, pause, resume]

    func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.summary) { _, _, _ in KioskJSON.response(.ok, try await self.makeSummary()) }
        staff.add(Self.dashboard) { request, _, user in
            let summary = try await self.makeSummary()
            let view = OperatorConsoleView(summary, canPause: user.role.allows(.operatorPauseResume))
            return try pages.page("operator/console", title: "運用状況", content: view, user: user, request: request)
        }
        staff.add(Self.script) { _, _, _ in
            // A file, not an inline script: the staff pages' Content-Security-Policy allows only those.
            guard let js = pages.library.render((), withTemplate: "operator/console.js") else {
                throw HTTPError(.notFound)
            }
            return Response(status: .ok, headers: [.contentType: "text/javascript; charset=utf-8", .cacheControl: "no-store"],
                             body: .init(byteBuffer: ByteBuffer(string: js)))
        }
        staff.add(Self.settlement) { request, _, user in try await self.settlementPage(request, user: user) }
        staff.add(Self.pause) { request, _, user in try await self.setPaused(true, request, by: user) }
        staff.add(Self.resume) { request, _, user in try await self.setPaused(false, request, by: user) }
    }

    /// The daily settlement of `?date=YYYY-MM-DD` (today, Japan time, without one): a page, or with
    /// `format=csv` the CSV download.
    func settlementPage(_ request: Request, user: StaffUser) async throws -> Response {
        let params = request.uri.queryParameters
        let now = services.issuance.clock.now()
        let dateText = params.get("date").flatMap { $0.isEmpty ? nil : $0 } ?? JapanTime.localDate(now).iso
        guard let start = StaffTime.startOfDay(dateText) else { throw HTTPError(.badRequest, message: "date: expected a date YYYY-MM-DD") }
        let settlement = Settlement(try await services.issuance.ledger.activity(from: start, to: start.addingTimeInterval(86_400)))
        if let format = params.get("format"), !format.isEmpty {
            guard format == "csv" else { throw HTTPError(.badRequest, message: "format: expected csv") }
            return Response(status: .ok, headers: [
                .contentType: "text/csv; charset=utf-8",
                .contentDisposition: "attachment; filename=\"kofu-settlement-\(dateText.replacingOccurrences(of: "-", with: "")).csv\"",
                .cacheControl: "no-store",
            ], body: .init(byteBuffer: ByteBuffer(string: settlement.csv(date: dateText))))
        }
        return try pages.page("operator/settlement", title: "日次精算", content: SettlementView(settlement, date: dateText),
                              user: user, request: request)
    }

    /// Pause or resume with an optional reason (`reason` in the JSON body or the form). A form post is
    /// answered with a redirect back to the page; a JSON call with the summary.
    func setPaused(_ paused: Bool, _ request: Request, by user: StaffUser) async throws -> Response {
        var request = request
        let body = String(buffer: try await request.collectBody(upTo: RequestBodyPolicy.staffLimit))
        let isForm = RequestBodyPolicy.mediaType(request) == "application/x-www-form-urlencoded"
        var reason: String?
        if isForm {
            reason = FormQuery.value("reason", in: body)
            if paused && (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                throw HTTPError(.badRequest, message: "reason: 停止理由を入力してください")
            }
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
        /// The one-line status the console shows first (受付中, 受付不可・…, 過負荷).
        var status_line: String
        /// Renders wait and none may queue (`OVERLOADED` now).
        var overloaded: Bool
        var queue: Queue
        var last_hour: Window
        var last_24h: Window
        /// Per minute for the last hour and per hour for 24 h, oldest first.
        var per_minute: [Point]
        var per_hour: [Point]
        /// Issuances of the last 24 h per terminal (the counter as `窓口`) and per store chain, worst first.
        var terminals: [Terminal]
        var store_chains: [Terminal]
        var signing_key: SigningKey?
        /// The latest `import` entries of the audit log, newest first.
        var imports: [Import]
        /// April 1 of the next fiscal year: the held years roll over then.
        var next_rollover: String
        /// Every node sharing the database, with its last heartbeat (`nodes` table).
        var nodes: [Node]

        struct Node: Encodable {
            var node_id: String
            /// `alive`, `unresponsive` (missed `NodeRegistry.missedBeats` heartbeats) or `stopped`.
            var state: String
            var state_label: String
            var last_heartbeat: String
            var seconds_since_heartbeat: Int
            var started_at: String
            var version: String
            var listeners: String
            var this_node: Bool
        }

        struct Queue: Encodable {
            var rendering: Int
            var ready: Int
            var oldest_age_seconds: Int?
            var ready_expiring_within_5min: Int
            var spool_files: Int
            var spool_bytes: Int
        }

        struct Window: Encodable {
            var issued: Int
            var delivered: Int
            var waiting: Int
            var cancelled: Int
            var cancelled_by_reason: [String: Int]
            var expired: Int
            var failed: Int
            var refused: Int
            var refused_by_code: [String: Int]
            var refused_by_reason: [String: Int]
            /// This node's 503 OVERLOADED and 503 SERVICE_CLOSED answers (not in the ledger).
            var shed: Int
            var closed: Int

            init(_ c: OperatorConsole.Counts, rejections: (shed: Int, closed: Int)) {
                issued = c.issued; delivered = c.delivered; waiting = c.waiting; cancelled = c.cancelled
                cancelled_by_reason = c.cancelledByReason; expired = c.expired; failed = c.failed; refused = c.refused
                refused_by_code = c.refusedByCode; refused_by_reason = c.refusedByReason
                shed = rejections.shed; closed = rejections.closed
            }
        }

        struct Point: Encodable {
            var start: String
            var issued: Int
            var refused: Int
            var latency_p50_seconds: Double?
            var latency_p99_seconds: Double?

            init(_ b: OperatorConsole.Bucket) {
                start = JapanTime.iso8601(b.start); issued = b.issued; refused = b.refused
                latency_p50_seconds = b.latencyP50; latency_p99_seconds = b.latencyP99
            }
        }

        struct Terminal: Encodable {
            var terminal: String
            var store_chain: String
            var issued: Int
            var failed: Int
            var cancelled: Int
            var expired: Int
            var problem_rate_percent: Double

            init(_ t: OperatorConsole.TerminalRate) {
                terminal = t.terminal; store_chain = t.storeChain; issued = t.issued; failed = t.failed
                cancelled = t.cancelled; expired = t.expired; problem_rate_percent = (t.problemRate * 10).rounded() / 10
            }
        }

        struct SigningKey: Encodable {
            var key_id: String
            var not_before: String
            var last_signing_day: String
            var age_days: Int
            var days_to_expiry: Int
            /// Rotate within 30 days of the last signing day.
            var rotation_due: Bool
        }

        struct Import: Encodable {
            var at: String
            var batch: String
            var outcome: String
            var reason: String
        }

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
                                 kinds: availability.closedForAll.contains(reason) ? CertificateKind.allCases.map(\.rawValue)
                                     : CertificateKind.allCases.filter { availability.closedKinds[$0] == reason }.map(\.rawValue))
        }
        let hourAgo = now.addingTimeInterval(-3600)
        let activity = try await service.ledger.activity(from: since, to: now.addingTimeInterval(1))
        let lastHour = activity.filter { $0.createdAt >= hourAgo }
        let q = try await service.ledger.queueStats(nodeID: service.settings.nodeID, now: now, expiringWithin: 300)
        let usage = service.spool.usage()
        let terminals = OperatorConsole.terminalRates(activity)
        let overloaded = !service.admission.hasRoom
        var statusLine = availability.isFullyOpen ? "受付中" : "受付不可・" + reasons.map { r in
            var text = r.label
            if r.code == "paused" {
                text += "(\(pause.by ?? "不明")、\(pause.since.map(StaffTime.display) ?? "")から\(pause.reason.map { "、理由: \($0)" } ?? ""))"
            }
            if r.kinds.count < CertificateKind.allCases.count {
                text += " — 対象: " + r.kinds.compactMap { CertificateKind(rawValue: $0)?.title }.joined(separator: "、")
            }
            return text
        }.joined(separator: "／")
        if overloaded { statusLine += "・過負荷" }
        let imports = try await services.audit.entries(matching: { var f = AuditFilter(); f.action = .import; return f }(),
                                                       newestFirst: true, offset: 0, limit: 5)
        let today = JapanTime.localDate(now)
        var key: Summary.SigningKey?
        let signing = services.sealKeys.signingKeyID
        if let entry = services.sealKeys.keyring.entries.first(where: { $0.keyIDHex == signing }) {
            let left = entry.lastSigningDay.dayNumber - today.dayNumber
            key = Summary.SigningKey(key_id: signing, not_before: entry.notBefore.iso, last_signing_day: entry.lastSigningDay.iso,
                                     age_days: today.dayNumber - entry.notBefore.dayNumber, days_to_expiry: left, rotation_due: left <= 30)
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
            data_sets: sets, fiscal_years_held: try await service.taxData.heldFiscalYears().map(\.year),
            status_line: statusLine, overloaded: overloaded,
            queue: .init(rendering: q.rendering, ready: q.ready,
                         oldest_age_seconds: q.oldestCreatedAt.map { Int(now.timeIntervalSince($0)) },
                         ready_expiring_within_5min: q.expiringSoon, spool_files: usage.documents, spool_bytes: usage.bytes),
            last_hour: .init(OperatorConsole.Counts(lastHour), rejections: service.rejections.counts(last: 3600, now: now)),
            last_24h: .init(OperatorConsole.Counts(activity), rejections: service.rejections.counts(last: 86_400, now: now)),
            per_minute: OperatorConsole.buckets(lastHour, end: now, length: 60, count: 60).map(Summary.Point.init),
            per_hour: OperatorConsole.buckets(activity, end: now, length: 3600, count: 24).map(Summary.Point.init),
            terminals: terminals.map(Summary.Terminal.init), store_chains: OperatorConsole.chainRates(terminals).map(Summary.Terminal.init),
            signing_key: key,
            imports: imports.map { Summary.Import(at: StaffTime.display($0.at), batch: $0.object, outcome: $0.outcome, reason: $0.reason) },
            next_rollover: LocalDate(year: today.fiscalYear.year + 1, month: 4, day: 1)?.iso ?? "",
            nodes: try await NodeRegistry(database: services.database).all().map { n in
                let state = n.state(at: now)
                return Summary.Node(node_id: n.nodeID, state: state.rawValue, state_label: state.japanese,
                                    last_heartbeat: JapanTime.iso8601(n.lastHeartbeat),
                                    seconds_since_heartbeat: max(0, Int(now.timeIntervalSince(n.lastHeartbeat))),
                                    started_at: JapanTime.iso8601(n.startedAt), version: n.version, listeners: n.listeners,
                                    this_node: n.nodeID == service.settings.nodeID)
            })
    }
}

