import Foundation
import HTTPTypes
import Hummingbird
import KofuStorage

/// The auditor's pages: the audit log with filters and paging (`GET /staff/audit`), its export as CSV or
/// JSON Lines for the same filter (`GET /staff/audit/download`), and the chain's verification with the last
/// external anchor (`POST /staff/audit/verify`). Every view and export of the log is itself audited
/// (action `export`, one entry per page shown); the filter's object text is not recorded, since an
/// auditor may have typed anything into it.
public struct AuditPages: Sendable {
    public let auth: StaffAuth
    public let checkpointSigner: (any CheckpointSigner)?
    public let pages: StaffPageRenderer
    /// Entries per page of the log view.
    public var pageSize: Int

    public init(auth: StaffAuth, checkpointSigner: (any CheckpointSigner)?, pages: StaffPageRenderer, pageSize: Int = 100) {
        self.auth = auth
        self.checkpointSigner = checkpointSigner
        self.pages = pages
        self.pageSize = max(1, pageSize)
    }

    public static let log = StaffEndpoint(.get, "audit", .permission(.auditExport))
    public static let download = StaffEndpoint(.get, "audit/download", .permission(.auditExport))
    public static let verify = StaffEndpoint(.post, "audit/verify", .permission(.auditVerify))
    public static let endpoints = [log, download, verify]

    public func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.log) { request, _, user in try await self.logPage(request, user: user) }
        staff.add(Self.download) { request, _, user in try await self.download(request, user: user) }
        staff.add(Self.verify) { request, _, user in try await self.verifyPage(request, user: user) }
    }

    // MARK: The log

    private func logPage(_ request: Request, user: StaffUser) async throws -> Response {
        let query = try AuditQuery(request.uri.queryParameters)
        let rows = try await auth.audit.entries(matching: query.filter, newestFirst: true,
                                                offset: (query.page - 1) * pageSize, limit: pageSize + 1)
        let shown = Array(rows.prefix(pageSize))
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .export, object: .other("audit_log", "page"),
                                               reason: query.auditReason(count: shown.count)))
        let actors = try await auth.audit.actors()
        let view = AuditLogView(query: query, entries: shown, hasNext: rows.count > pageSize, actors: actors,
                                canVerify: user.role.allows(.auditVerify))
        return try pages.page("audit/log", title: "監査ログ", content: view, user: user, request: request)
    }

    private func download(_ request: Request, user: StaffUser) async throws -> Response {
        let params = request.uri.queryParameters
        let query = try AuditQuery(params)
        guard let format = params.get("format").flatMap(AuditDownloadFormat.init(rawValue:)) else {
            throw HTTPError(.badRequest, message: "format: expected csv or jsonl")
        }
        let entries = try await auth.audit.allEntries(matching: query.filter)
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .export,
                                               object: .other("audit_log", format.rawValue),
                                               reason: query.auditReason(count: entries.count, paged: false)))
        let body: String
        switch format {
        case .csv: body = AuditCSV.document(entries)
        case .jsonl: body = entries.map { AuditExport.jsonLine($0) + "\n" }.joined()
        }
        let name = AuditDownloadFormat.fileName(query: query, entries: entries, now: auth.clock(), format: format)
        return Response(status: .ok, headers: [
            .contentType: format.contentType,
            .contentDisposition: "attachment; filename=\"\(name)\"",
            .cacheControl: "no-store",
        ], body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    // MARK: Verification

    private func verifyPage(_ request: Request, user: StaffUser) async throws -> Response {
        try await auth.audit.flush()
        // The anchors are read before the database (see `AuditAnchorSet`).
        let anchors = try auth.audit.anchors?.readOwnAnchors()
        let result = try await AuditVerifier(database: auth.audit.database, signer: checkpointSigner, anchors: anchors).verify()
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .auditVerify, object: .other("audit_log", "page"),
                                               outcome: result.isIntact ? .success : .failure,
                                               reason: result.isIntact ? "intact" : "\(result.problems.count)_problems"))
        let view = AuditVerifyView(result, anchorsConfigured: auth.audit.anchors != nil)
        return try pages.page("audit/verify", title: "監査ログの検証結果", content: view, user: user, request: request)
    }
}

/// The log view's query string: the filter and the page. Bad input is a 400 naming the field.
struct AuditQuery: Equatable {
    /// The form's values as typed, to fill the form again and to build links.
    var fromText = ""
    var toText = ""
    var actor = ""
    var action = ""
    var object = ""
    var outcome = ""
    var page = 1
    var filter = AuditFilter()

    init(_ q: Parameters) throws {
        func text(_ name: String) -> String { (q.get(name) ?? "").trimmingCharacters(in: .whitespaces) }
        fromText = text("from")
        toText = text("to")
        actor = text("actor")
        action = text("action")
        object = text("object")
        outcome = text("outcome")
        if !fromText.isEmpty {
            guard let d = StaffTime.startOfDay(fromText) else { throw HTTPError(.badRequest, message: "from: expected a date YYYY-MM-DD") }
            filter.from = d
        }
        if !toText.isEmpty {
            guard let d = StaffTime.startOfDay(toText) else { throw HTTPError(.badRequest, message: "to: expected a date YYYY-MM-DD") }
            filter.to = d.addingTimeInterval(86_400)
        }
        if let from = filter.from, let to = filter.to, from >= to { throw HTTPError(.badRequest, message: "from: must not be after to") }
        guard actor.utf8.count <= 64, object.utf8.count <= 200 else { throw HTTPError(.badRequest, message: "actor/object: too long") }
        filter.actor = actor.isEmpty ? nil : actor
        filter.objectContains = object.isEmpty ? nil : object
        if !action.isEmpty {
            guard let a = AuditAction(rawValue: action) else { throw HTTPError(.badRequest, message: "action: unknown action") }
            filter.action = a
        }
        if !outcome.isEmpty {
            guard let o = AuditOutcome(rawValue: outcome) else { throw HTTPError(.badRequest, message: "outcome: unknown outcome") }
            filter.outcome = o
        }
        if let p = q.get("page"), !p.isEmpty {
            guard let n = Int(p), n >= 1, n <= 1_000_000 else { throw HTTPError(.badRequest, message: "page: expected a number from 1") }
            page = n
        }
    }

    /// The filter as a query string (without the page), for the paging and export links.
    func queryString(page: Int? = nil, extra: [(String, String)] = []) -> String {
        var pairs = [("from", fromText), ("to", toText), ("actor", actor), ("action", action), ("object", object), ("outcome", outcome)]
            .filter { !$0.1.isEmpty }
        if let page, page > 1 { pairs.append(("page", String(page))) }
        pairs += extra
        return pairs.map { "\($0.0)=\(Self.encode($0.1))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
    static func encode(_ s: String) -> String { s.addingPercentEncoding(withAllowedCharacters: unreserved) ?? "" }

    /// What the audit entry of a view or export records: the range and conditions, never the object text.
    func auditReason(count: Int, paged: Bool = true) -> String {
        var parts = [AuditExport.rangeDescription(from: filter.from, to: filter.to, count: count)]
        if let a = filter.actor, StaffStore.isValidUserID(a) { parts.append("actor=\(a)") } else if filter.actor != nil { parts.append("actor=set") }
        if let a = filter.action { parts.append("action=\(a.rawValue)") }
        if filter.objectContains != nil { parts.append("object=set") }
        if let o = filter.outcome { parts.append("outcome=\(o.rawValue)") }
        if paged { parts.append("page=\(page)") }
        return parts.joined(separator: " ")
    }
}

/// Dates and times as the staff pages show them: Japan time (UTC+9, no daylight saving).
enum StaffTime {
    static let offset: TimeInterval = 9 * 3600

    /// 00:00 Japan time of `YYYY-MM-DD`, or nil when it is no such date.
    static func startOfDay(_ text: String) -> Date? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(secondsFromGMT: Int(offset))!
        guard let date = cal.date(from: DateComponents(year: y, month: m, day: d)),
              cal.component(.day, from: date) == d, cal.component(.month, from: date) == m else { return nil }
        return date
    }

    /// `2026-12-07 14:15:02` for a stored timestamp (`2026-12-07T05:15:02.123Z`); the text itself if it does not parse.
    static func display(_ stored: String) -> String {
        guard let date = try? Date(stored, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) else { return stored }
        return display(date)
    }

    static func display(_ date: Date) -> String {
        let t = AuditChain.timestamp(date.addingTimeInterval(offset))
        return String(t.prefix(10)) + " " + String(t.dropFirst(11).prefix(8))
    }

    /// `20261207`: the Japan date of `date`.
    static func compactDate(_ date: Date) -> String {
        String(AuditChain.timestamp(date.addingTimeInterval(offset)).prefix(10)).replacingOccurrences(of: "-", with: "")
    }
}

enum AuditDownloadFormat: String {
    case csv, jsonl

    var contentType: String {
        switch self {
        case .csv: "text/csv; charset=utf-8"
        case .jsonl: "application/jsonl; charset=utf-8"
        }
    }

    /// `kofu-audit-YYYYMMDD-YYYYMMDD.csv`: the filter's dates (Japan time), or, for an open end, the date of
    /// the first or last entry exported (today when there is none).
    static func fileName(query: AuditQuery, entries: [AuditEntry], now: Date, format: Self) -> String {
        func entryDate(_ e: AuditEntry?) -> Date? {
            e.flatMap { try? Date($0.at, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) }
        }
        let from = query.filter.from ?? entryDate(entries.first) ?? now
        let to = query.filter.to.map { $0.addingTimeInterval(-1) } ?? entryDate(entries.last) ?? now
        return "kofu-audit-\(StaffTime.compactDate(from))-\(StaffTime.compactDate(to)).\(format.rawValue)"
    }
}

extension AuditAction {
    /// The action's name on the staff pages.
    public var japaneseLabel: String {
        switch self {
        case .kioskIssue: "キオスク交付"
        case .kioskRefusal: "キオスク交付拒否"
        case .kioskFetch: "キオスク取得"
        case .kioskDelivered: "キオスク交付完了"
        case .kioskCancel: "キオスク取消"
        case .login: "ログイン"
        case .logout: "ログアウト"
        case .loginFailed: "ログイン失敗"
        case .lockout: "アカウントロック"
        case .accessDenied: "アクセス拒否"
        case .lookup: "照会"
        case .issue: "窓口交付"
        case .reprint: "再印刷"
        case .approval: "承認"
        case .export: "監査ログの閲覧・出力"
        case .import: "データ取込"
        case .rollover: "年度切替"
        case .keyOperation: "鍵操作"
        case .userChange: "アカウント変更"
        case .configChange: "設定変更"
        case .auditVerify: "監査ログの検証"
        case .auditPurge: "監査ログの保存期間経過削除"
        case .intakePause: "受付停止"
        case .intakeResume: "受付再開"
        case .kioskExpire: "受取期限切れ"
        case .spoolRecovery: "起動時の復旧"
        case .backup: "バックアップ"
        }
    }
}

extension AuditOutcome {
    public var japaneseLabel: String {
        switch self {
        case .success: "成功"
        case .refused: "拒否(規則)"
        case .denied: "拒否(権限)"
        case .failure: "失敗"
        }
    }
}

/// A choice in a select.
struct SelectOption {
    var value: String
    var label: String
    var selected: Bool
}

/// The log page's values.
struct AuditLogView {
    struct Row {
        var seq: Int64
        var at: String
        var actor: String
        var action: String
        var object: String
        var outcome: String
        var failed: Bool
        var reason: String
    }

    var from: String
    var to: String
    var object: String
    var actors: [SelectOption]
    var actions: [SelectOption]
    var outcomes: [SelectOption]
    var rows: [Row]
    var empty: Bool
    var pageNumber: Int
    var range: String
    var previous: String?
    var next: String?
    var csv: String
    var jsonl: String
    var filtered: Bool
    var canVerify: Bool

    init(query: AuditQuery, entries: [AuditEntry], hasNext: Bool, actors: [String], canVerify: Bool) {
        from = query.fromText
        to = query.toText
        object = query.object
        var actorList = actors
        if !query.actor.isEmpty && !actorList.contains(query.actor) { actorList.append(query.actor) }
        self.actors = [SelectOption(value: "", label: "すべて", selected: query.actor.isEmpty)]
            + actorList.map { SelectOption(value: $0, label: Self.actorLabel($0), selected: $0 == query.actor) }
        actions = [SelectOption(value: "", label: "すべて", selected: query.action.isEmpty)]
            + AuditAction.allCases.map { SelectOption(value: $0.rawValue, label: $0.japaneseLabel, selected: $0.rawValue == query.action) }
        outcomes = [SelectOption(value: "", label: "すべて", selected: query.outcome.isEmpty)]
            + AuditOutcome.allCases.map { SelectOption(value: $0.rawValue, label: $0.japaneseLabel, selected: $0.rawValue == query.outcome) }
        rows = entries.map { e in
            let outcome = AuditOutcome(rawValue: e.outcome)
            return Row(seq: e.seq, at: StaffTime.display(e.at), actor: Self.actorLabel(e.actor),
                       action: AuditAction(rawValue: e.action)?.japaneseLabel ?? e.action, object: e.object.isEmpty ? "—" : e.object,
                       outcome: outcome?.japaneseLabel ?? e.outcome, failed: outcome != .success, reason: e.reason)
        }
        empty = entries.isEmpty
        pageNumber = query.page
        range = entries.isEmpty ? "" : "\(query.page) ページ目(番号 \(entries.last!.seq)〜\(entries.first!.seq)、\(entries.count) 件)"
        previous = query.page > 1 ? "/staff/audit?" + query.queryString(page: query.page - 1) : nil
        next = hasNext ? "/staff/audit?" + query.queryString(page: query.page + 1) : nil
        csv = "/staff/audit/download?" + query.queryString(extra: [("format", "csv")])
        jsonl = "/staff/audit/download?" + query.queryString(extra: [("format", "jsonl")])
        filtered = query.filter != AuditFilter()
        self.canVerify = canVerify
    }

    static func actorLabel(_ actor: String) -> String {
        switch actor {
        case AuditActor.system.rawValue: "system(システム)"
        case AuditActor.kioskCenter.rawValue: "kiosk-center(交付センター)"
        case AuditActor.unknown.rawValue: "unknown(不明なID)"
        default: actor
        }
    }
}

/// The verification result page's values.
struct AuditVerifyView {
    var intact: Bool
    var entriesChecked: Int
    var checkpointsChecked: Int
    var firstSeq: String
    var lastSeq: String
    var problems: [String]
    /// Problems beyond the 50 shown; nil when none.
    var moreProblems: Int?
    var anchorsConfigured: Bool
    var anchorsChecked: Int
    var lastAnchor: Anchor?
    var entriesAfterLastAnchor: String

    struct Anchor {
        var seq: Int64
        var at: String
        var node: String
    }

    init(_ v: AuditVerification, anchorsConfigured: Bool) {
        intact = v.isIntact
        entriesChecked = v.entriesChecked
        checkpointsChecked = v.checkpointsChecked
        firstSeq = v.firstSeq.map(String.init) ?? "—"
        lastSeq = v.lastSeq.map(String.init) ?? "—"
        problems = v.problems.prefix(50).map(\.description)
        moreProblems = v.problems.count > 50 ? v.problems.count - 50 : nil
        self.anchorsConfigured = anchorsConfigured
        anchorsChecked = v.anchorsChecked
        lastAnchor = v.lastAnchor.map { Anchor(seq: $0.anchor.seq, at: StaffTime.display($0.anchor.at), node: $0.anchor.node) }
        entriesAfterLastAnchor = v.entriesAfterLastAnchor.map(String.init) ?? "—"
    }
}
