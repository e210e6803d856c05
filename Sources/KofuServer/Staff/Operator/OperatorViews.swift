import Foundation
import KofuDomain
import KofuStorage

/// What `operator/console.mustache` shows: the summary turned into labelled rows (Japanese labels, a unit
/// on every number), zero rows included.
struct OperatorConsoleView {
    struct Row {
        var label: String
        var hour: String
        var day: String
        /// Failures and expiries stand out when not zero.
        var alert: Bool
    }

    /// An `import` entry of the audit log.
    struct ImportLine {
        var at: String
        var batch: String
        var outcomeLabel: String
        var reason: String
    }

    struct Fact {
        var label: String
        var value: String
        var alert = false
    }

    var generatedAt: String
    var statusLine: String
    var open: Bool
    var paused: Bool
    var canPause: Bool
    var queue: [Fact]
    var rows: [Row]
    var refusalCodes: [Row]
    var refusalReasons: [Row]
    var minuteChart: String
    var minuteLatencyChart: String
    var hourChart: String
    var hourLatencyChart: String
    var terminals: [OperatorController.Summary.Terminal]
    var chains: [OperatorController.Summary.Terminal]
    var dataSets: [Fact]
    var keys: [Fact]
    var imports: [ImportLine]
    var today: String
    var nodes: [NodeLine]
    var missedBeats = NodeRegistry.missedBeats

    /// A node sharing the database (`nodes` table).
    struct NodeLine {
        var nodeID: String
        var stateLabel: String
        var lastHeartbeat: String
        var startedAt: String
        var version: String
        var listeners: String
        /// Not answering: its unfinished issuances are voided once their time is up.
        var alert: Bool
    }

    init(_ s: OperatorController.Summary, canPause: Bool) {
        generatedAt = Self.display(s.generated_at)
        statusLine = s.status_line
        open = s.kiosk_status == "open" && !s.overloaded
        paused = s.intake_paused
        self.canPause = canPause
        let q = s.queue
        queue = [
            Fact(label: "作成中", value: "\(q.rendering)件"),
            Fact(label: "受取待ち", value: "\(q.ready)件"),
            Fact(label: "最も古い待ち", value: q.oldest_age_seconds.map { "\($0)秒" } ?? "なし"),
            Fact(label: "5分以内に期限切れ", value: "\(q.ready_expiring_within_5min)件", alert: q.ready_expiring_within_5min > 0),
            Fact(label: "保管文書", value: "\(q.spool_files)件・\(q.spool_bytes)バイト"),
            Fact(label: "描画中・待ち", value: "\(s.renders_active)件・\(s.renders_waiting)件", alert: s.overloaded),
        ]
        let h = s.last_hour, d = s.last_24h
        func row(_ label: String, _ a: Int, _ b: Int, alert: Bool = false) -> Row {
            Row(label: label, hour: "\(a)件", day: "\(b)件", alert: alert && (a > 0 || b > 0))
        }
        rows = [row("受付(番号採番)", h.issued, d.issued), row("交付済み", h.delivered, d.delivered),
                row("受取待ち・作成中", h.waiting, d.waiting), row("取消", h.cancelled, d.cancelled)]
        let reasons = Set(IssuanceService.cancelReasons).union(["counter_cancel"]).union(h.cancelled_by_reason.keys).union(d.cancelled_by_reason.keys)
        rows += reasons.sorted().map { r in
            row("　取消: " + OperatorLabels.cancelReason(r), h.cancelled_by_reason[r] ?? 0, d.cancelled_by_reason[r] ?? 0)
        }
        rows += [row("期限切れ", h.expired, d.expired, alert: true), row("失敗", h.failed, d.failed, alert: true),
                 row("交付不可", h.refused, d.refused),
                 row("過負荷で受付せず(503 OVERLOADED、このノード)", h.shed, d.shed, alert: true),
                 row("受付停止中の応答(503 SERVICE_CLOSED、このノード)", h.closed, d.closed)]
        let codes = Set(RefusalCode.allCases.map(\.rawValue)).union(d.refused_by_code.keys)
        refusalCodes = codes.sorted().map { c in
            row(OperatorLabels.refusalCode(c) + "(\(c))", h.refused_by_code[c] ?? 0, d.refused_by_code[c] ?? 0)
        }
        refusalReasons = Set(d.refused_by_reason.keys).sorted().map { r in
            row(CounterText.reason(r).map { "\($0)(\(r))" } ?? r, h.refused_by_reason[r] ?? 0, d.refused_by_reason[r] ?? 0)
        }
        let minute = s.per_minute.map(Self.bucket), hour = s.per_hour.map(Self.bucket)
        let hm = { (d: Date) in String(StaffTime.display(d).dropFirst(11).prefix(5)) }
        minuteChart = OperatorCharts.throughput(minute, title: "直近1時間の受付件数(1分ごと、青: 受付、赤: 交付不可)", label: hm)
        minuteLatencyChart = OperatorCharts.latency(minute, title: "直近1時間の作成時間 p50(青)・p99(赤)、秒", label: hm)
        hourChart = OperatorCharts.throughput(hour, title: "直近24時間の受付件数(1時間ごと、青: 受付、赤: 交付不可)", label: hm)
        hourLatencyChart = OperatorCharts.latency(hour, title: "直近24時間の作成時間 p50(青)・p99(赤)、秒", label: hm)
        terminals = s.terminals
        chains = s.store_chains
        dataSets = s.data_sets.map {
            Fact(label: DataSetNames.japanese($0.data_set), value: "バッチ \($0.batch_id)・抽出 \(Self.display($0.extracted_at))・経過 \($0.age_hours)時間\($0.stale ? "(古い)" : "")",
                 alert: $0.stale)
        }
        dataSets.append(Fact(label: "保有年度", value: s.fiscal_years_held.map { "\($0)年度" }.joined(separator: "、")))
        dataSets.append(Fact(label: "次の年度切替", value: s.next_rollover))
        if let k = s.signing_key {
            keys = [Fact(label: "署名鍵ID", value: k.key_id), Fact(label: "署名開始日", value: "\(k.not_before)(\(k.age_days)日経過)"),
                    Fact(label: "署名終了日", value: "\(k.last_signing_day)(残り\(k.days_to_expiry)日)", alert: k.rotation_due),
                    Fact(label: "鍵の更新", value: k.rotation_due ? "更新が必要です(残り30日以内)" : "不要", alert: k.rotation_due)]
        } else {
            keys = [Fact(label: "署名鍵", value: "署名に使える鍵がありません", alert: true)]
        }
        imports = s.imports.map { ImportLine(at: $0.at, batch: $0.batch, outcomeLabel: $0.outcome == "success" ? "成功" : "失敗", reason: $0.reason) }
        today = String(s.generated_at.prefix(10))
        nodes = s.nodes.map { n in
            NodeLine(nodeID: n.this_node ? "\(n.node_id)(このノード)" : n.node_id, stateLabel: n.state_label,
                     lastHeartbeat: "\(Self.display(n.last_heartbeat))(\(n.seconds_since_heartbeat)秒前)",
                     startedAt: Self.display(n.started_at), version: n.version, listeners: n.listeners,
                     alert: n.state == "unresponsive")
        }
    }

    /// `2026-11-22 10:15:00` for `JapanTime.iso8601`'s `2026-11-22T10:15:00+09:00`.
    static func display(_ iso: String) -> String { String(iso.prefix(19)).replacingOccurrences(of: "T", with: " ") }

    static func bucket(_ p: OperatorController.Summary.Point) -> OperatorConsole.Bucket {
        OperatorConsole.Bucket(start: ISO8601DateFormatter().date(from: p.start) ?? .distantPast, issued: p.issued, refused: p.refused,
                               latencyP50: p.latency_p50_seconds, latencyP99: p.latency_p99_seconds)
    }
}

/// What `operator/settlement.mustache` shows.
struct SettlementView {
    struct Line {
        var chain: String
        var kind: String
        var delivered: String
        var copies: String
        var feePerCopy: String
        var fee: String
        var cancelled: String
        var voided: String
    }

    var date: String
    var lines: [Line]
    var total: Line
    var csvHref: String

    init(_ s: Settlement, date: String) {
        self.date = date
        func line(_ r: Settlement.Row) -> Line {
            Line(chain: r.storeChain, kind: r.kind.isEmpty ? "" : OperatorLabels.kind(r.kind), delivered: "\(r.delivered)件",
                 copies: "\(r.copies)通", feePerCopy: r.feePerCopy.map { "\($0)円" } ?? "—", fee: "\(r.feeYen)円",
                 cancelled: "\(r.cancelled)件", voided: "\(r.voidedNumbers)番号")
        }
        lines = s.rows.map(line)
        total = line(s.total)
        csvHref = "/staff/operator/settlement?date=\(date)&format=csv"
    }
}
