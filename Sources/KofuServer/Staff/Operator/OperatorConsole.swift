import Foundation
import KofuDomain
import KofuStorage

/// The numbers of the operators' console, counted from the ledger's `IssuanceActivity` (counts and times,
/// never an individual). Pure functions of the rows, so the page, the JSON summary and the tests agree.
enum OperatorConsole {
    /// What became of the requests received in one window.
    struct Counts: Equatable {
        /// Requests that took numbers (everything but refusals).
        var issued = 0
        var delivered = 0
        var waiting = 0
        var cancelledByReason: [String: Int] = [:]
        var expired = 0
        var failed = 0
        var refusedByCode: [String: Int] = [:]
        var refusedByReason: [String: Int] = [:]

        var cancelled: Int { cancelledByReason.values.reduce(0, +) }
        var refused: Int { refusedByCode.values.reduce(0, +) }

        init(_ rows: some Sequence<IssuanceActivity>) {
            for row in rows {
                if row.status != .refused { issued += 1 }
                switch row.status {
                case .rendering, .ready: waiting += 1
                case .delivered: delivered += 1
                case .cancelled: cancelledByReason[row.cancelReason ?? "unknown", default: 0] += 1
                case .expired: expired += 1
                case .failed: failed += 1
                case .refused:
                    refusedByCode[row.refusalCode ?? "unknown", default: 0] += 1
                    refusedByReason[row.internalReason ?? "unknown", default: 0] += 1
                }
            }
        }
    }

    /// One bar of a chart: requests received in `[start, start + length)`.
    struct Bucket: Equatable {
        var start: Date
        var issued: Int
        var refused: Int
        /// Seconds from receipt to ready (the document made), of the issuances that became ready.
        var latencyP50: Double?
        var latencyP99: Double?
    }

    /// `count` buckets of `length` seconds ending at `end`, oldest first.
    static func buckets(_ rows: [IssuanceActivity], end: Date, length: TimeInterval, count: Int) -> [Bucket] {
        let start = end.addingTimeInterval(-length * Double(count))
        var issued = [Int](repeating: 0, count: count), refused = issued
        var latencies = [[Double]](repeating: [], count: count)
        for row in rows {
            let i = Int((row.createdAt.timeIntervalSince(start) / length).rounded(.down))
            guard i >= 0, i < count else { continue }
            if row.status == .refused { refused[i] += 1 } else { issued[i] += 1 }
            if let ready = row.readyAt { latencies[i].append(max(0, ready.timeIntervalSince(row.createdAt))) }
        }
        return (0..<count).map { i in
            Bucket(start: start.addingTimeInterval(length * Double(i)), issued: issued[i], refused: refused[i],
                   latencyP50: percentile(latencies[i], 0.5), latencyP99: percentile(latencies[i], 0.99))
        }
    }

    /// The nearest-rank percentile; nil for no values.
    static func percentile(_ values: [Double], _ p: Double) -> Double? {
        guard !values.isEmpty else { return nil }
        let sorted = values.sorted()
        let rank = Int((p * Double(sorted.count)).rounded(.up))
        return sorted[min(max(rank, 1), sorted.count) - 1]
    }

    /// Failure and cancel rates of one terminal (or the counter).
    struct TerminalRate: Equatable {
        /// `store_chain/store_id/terminal_id`, or `窓口`.
        var terminal: String
        var storeChain: String
        var issued = 0
        var failed = 0
        var cancelled = 0
        var expired = 0

        /// Percent of issued that failed, were cancelled or expired.
        var problemRate: Double { issued == 0 ? 0 : Double(failed + cancelled + expired) / Double(issued) * 100 }
    }

    /// Per terminal (issuances that took numbers only), worst first.
    static func terminalRates(_ rows: [IssuanceActivity]) -> [TerminalRate] {
        var by: [String: TerminalRate] = [:]
        for row in rows where row.status != .refused {
            let name = row.terminal ?? counterName
            var rate = by[name] ?? TerminalRate(terminal: name, storeChain: row.storeChain ?? counterName)
            rate.issued += 1
            switch row.status {
            case .failed: rate.failed += 1
            case .cancelled: rate.cancelled += 1
            case .expired: rate.expired += 1
            default: break
            }
            by[name] = rate
        }
        return by.values.sorted { ($0.problemRate, $1.terminal) > ($1.problemRate, $0.terminal) }
    }

    /// Per store chain: the terminals' numbers added up.
    static func chainRates(_ terminals: [TerminalRate]) -> [TerminalRate] {
        var by: [String: TerminalRate] = [:]
        for t in terminals {
            var c = by[t.storeChain] ?? TerminalRate(terminal: t.storeChain, storeChain: t.storeChain)
            c.issued += t.issued; c.failed += t.failed; c.cancelled += t.cancelled; c.expired += t.expired
            by[t.storeChain] = c
        }
        return by.values.sorted { ($0.problemRate, $1.terminal) > ($1.problemRate, $0.terminal) }
    }

    /// How counter issuances (no terminal) are named in every table.
    static let counterName = "窓口"
}

/// The daily settlement (日次精算): per store chain and kind, what was delivered and paid for, what was
/// cancelled, and how many certificate numbers were voided — of the requests received that day (Japan time).
struct Settlement: Equatable {
    struct Row: Equatable {
        var storeChain: String
        var kind: String
        /// Issuances delivered (printed and paid).
        var delivered = 0
        var copies = 0
        var feeYen = 0
        /// Cancelled, expired or failed after taking numbers.
        var cancelled = 0
        var voidedNumbers = 0

        var feePerCopy: Int? { copies == 0 ? nil : feeYen / copies }
    }

    var rows: [Row]
    var total: Row

    init(_ activity: [IssuanceActivity]) {
        var by: [String: Row] = [:]
        for a in activity where a.status != .refused {
            let chain = a.storeChain ?? OperatorConsole.counterName
            let key = chain + "\u{0}" + a.kind
            var row = by[key] ?? Row(storeChain: chain, kind: a.kind)
            switch a.status {
            case .delivered:
                row.delivered += 1; row.copies += a.copies; row.feeYen += a.feeYen
            case .cancelled, .expired, .failed:
                row.cancelled += 1
            default: break
            }
            row.voidedNumbers += a.voidedNumbers
            by[key] = row
        }
        rows = by.values.sorted { ($0.storeChain, $0.kind) < ($1.storeChain, $1.kind) }
        total = Row(storeChain: "合計", kind: "")
        for r in rows {
            total.delivered += r.delivered; total.copies += r.copies; total.feeYen += r.feeYen
            total.cancelled += r.cancelled; total.voidedNumbers += r.voidedNumbers
        }
    }

    /// The CSV download: UTF-8 with a byte order mark (so Excel reads the Japanese), CRLF lines.
    func csv(date: String) -> String {
        var out = "\u{FEFF}日付,店舗チェーン,証明書の種類,交付件数,交付通数,1通あたり手数料(円),手数料計(円),取消・期限切れ・失敗件数,無効化した証明書番号数\r\n"
        for r in rows + [total] {
            let kind = CertificateKind(rawValue: r.kind)?.title ?? r.kind
            let cells = [date, r.storeChain, kind, String(r.delivered), String(r.copies), r.feePerCopy.map(String.init) ?? "",
                         String(r.feeYen), String(r.cancelled), String(r.voidedNumbers)]
            out += cells.map(Self.csvCell).joined(separator: ",") + "\r\n"
        }
        return out
    }

    static func csvCell(_ s: String) -> String {
        // A leading =, +, - or @ would be a formula in a spreadsheet.
        let safe = s.first.map { "=+-@".contains($0) } == true ? "'" + s : s
        return safe.contains(where: { ",\"\r\n".contains($0) }) ? "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : safe
    }
}

/// Japanese labels for the console's codes.
enum OperatorLabels {
    static func status(_ s: IssuanceStatus) -> String {
        switch s {
        case .rendering: "作成中"
        case .ready: "受取待ち"
        case .delivered: "交付済み"
        case .cancelled: "取消"
        case .expired: "期限切れ"
        case .refused: "交付不可"
        case .failed: "失敗"
        }
    }

    static func cancelReason(_ r: String) -> String {
        switch r {
        case "print_failure": "印刷失敗"
        case "payment_cancelled": "支払い取消"
        case "user_cancelled": "利用者による取消"
        case "timeout": "時間切れ"
        case "counter_cancel": "窓口での取消"
        default: "その他(\(r))"
        }
    }

    static func refusalCode(_ c: String) -> String {
        switch RefusalCode(rawValue: c) {
        case .cardNotRegistered: "カード未登録"
        case .counterOnly: "窓口のみ"
        case .outOfRetention: "保存期間外"
        case .notAssessed: "課税データなし"
        case .unpaidTax: "未納あり"
        case .paymentUnconfirmed: "納付未確認"
        case .noVehicle: "車両なし"
        case .serviceClosed: "受付不可(サービス停止)"
        case nil: "不明"
        }
    }

    static func kind(_ k: String) -> String { CertificateKind(rawValue: k)?.title ?? k }
}
