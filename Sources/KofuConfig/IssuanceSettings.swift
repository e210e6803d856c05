import KofuDomain

/// `issuance.*`: service window, fees, delivery TTL, admission control and refusal policy (issue #5).
public struct IssuanceSettings: Sendable, Hashable {
    /// Service hours in Japan time, `HH:MM-HH:MM` (`issuance.service_hours`, default 06:30-23:00).
    public var opensAtMinute: Int
    public var closesAtMinute: Int
    /// Closed days as `MM-DD` or `MM-DD..MM-DD` ranges (`issuance.closed_days`, default 12-29..01-03).
    public var closedDays: [ClosedDays]
    /// Fees in yen per kind (`issuance.fee_tax_payment` …); the vehicle inspection certificate is free.
    public var fees: [CertificateKind: Int]
    /// Counter (窓口) fees per copy in yen (`counter.fee_<kind>`, default 300; the vehicle certificate is free).
    public var counterFees: [CertificateKind: Int] = [:]
    /// How long a restricted counter issuance may wait for a second staff member's approval
    /// (`counter.approval_minutes`, default 30).
    public var counterApprovalMinutes: Int = 30
    /// How long a ready document waits for `delivered` (`issuance.delivery_ttl_seconds`, default 600).
    public var deliveryTTLSeconds: Int
    /// Renders running at once (`issuance.max_concurrent_renders`, default: cores).
    public var maxConcurrentRenders: Int
    /// Requests waiting for a render slot before shedding (`issuance.max_waiting`, default 64).
    public var maxWaiting: Int
    /// How long a request may wait for a render slot before it is shed (`issuance.max_queue_wait_ms`, default 150):
    /// what bounds the latency of accepted requests under overload.
    public var maxQueueWaitMilliseconds: Int
    /// `Retry-After` seconds for OVERLOADED (`issuance.retry_after_seconds`, default 2).
    public var retryAfterSeconds: Int
    /// The whole request must finish within this (`issuance.request_timeout_seconds`, default 20); else it is aborted and voided.
    public var requestTimeoutSeconds: Int
    public var policy: IssuancePolicy
    /// At most this many bytes of encrypted documents wait in this node's in-memory spool
    /// (`issuance.spool_max_bytes`, default 64 MiB); a request that would pass it is shed (503 OVERLOADED).
    public var spoolMaxBytes: Int = IssuanceSettings.defaultSpoolMaxBytes
    /// This node's name in the ledger (`node.id`, default: the host name).
    public var nodeID: String

    public static let defaultSpoolMaxBytes = 64 << 20

    /// An inclusive range of month-days, possibly wrapping the new year.
    public struct ClosedDays: Sendable, Hashable {
        public var from: (month: Int, day: Int)
        public var to: (month: Int, day: Int)
        public static func == (a: ClosedDays, b: ClosedDays) -> Bool {
            a.from == b.from && a.to == b.to
        }
        public func hash(into h: inout Hasher) { h.combine(from.month); h.combine(from.day); h.combine(to.month); h.combine(to.day) }
        public func contains(month: Int, day: Int) -> Bool {
            let x = month * 100 + day, f = from.month * 100 + from.day, t = to.month * 100 + to.day
            return f <= t ? (f <= x && x <= t) : (x >= f || x <= t)
        }
    }

    /// 休業日: the date falls in `issuance.closed_days`.
    public func isClosedDay(month: Int, day: Int) -> Bool {
        closedDays.contains(where: { $0.contains(month: month, day: day) })
    }

    /// Whether the kiosk service is open at this Japan-time moment.
    public func isOpen(month: Int, day: Int, minuteOfDay: Int) -> Bool {
        if isClosedDay(month: month, day: day) { return false }
        return opensAtMinute <= minuteOfDay && minuteOfDay < closesAtMinute
    }
}

extension KofuConfiguration {
    /// Reads and checks the `issuance.*` section.
    public func issuanceSettings() throws -> IssuanceSettings {
        let v = values
        let hours = v.string("issuance.service_hours", default: "06:30-23:00")
        func minute(_ s: Substring) -> Int? {
            let p = s.split(separator: ":")
            guard p.count == 2, let h = Int(p[0]), let m = Int(p[1]), (0...24).contains(h), (0..<60).contains(m), h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }
        let parts = hours.split(separator: "-")
        guard parts.count == 2, let open = minute(parts[0]), let close = minute(parts[1]), open < close else {
            throw v.error("issuance.service_hours", "expected HH:MM-HH:MM with opening before closing, got '\(hours)'")
        }
        var closed: [IssuanceSettings.ClosedDays] = []
        for item in v.list("issuance.closed_days", default: ["12-29..01-03"]) {
            func md(_ s: Substring) -> (Int, Int)? {
                let p = s.split(separator: "-")
                guard p.count == 2, let m = Int(p[0]), let d = Int(p[1]), (1...12).contains(m), (1...31).contains(d) else { return nil }
                return (m, d)
            }
            let ends = item.components(separatedBy: "..")
            guard (1...2).contains(ends.count), let a = md(Substring(ends[0])), let b = md(Substring(ends.last!)) else {
                throw v.error("issuance.closed_days", "expected MM-DD or MM-DD..MM-DD items, got '\(item)'")
            }
            closed.append(.init(from: a, to: b))
        }
        var fees: [CertificateKind: Int] = [:]
        for kind in CertificateKind.allCases {
            fees[kind] = kind == .vehicleInspection ? 0 : try v.int("issuance.fee_\(kind.rawValue)", default: 300, range: 0...100_000)
        }
        var counterFees: [CertificateKind: Int] = [:]
        for kind in CertificateKind.allCases {
            counterFees[kind] = kind == .vehicleInspection ? 0 : try v.int("counter.fee_\(kind.rawValue)", default: 300, range: 0...100_000)
        }
        let noLeviesText = v.string("issuance.no_levies", default: NoLeviesPolicy.issue.rawValue)
        guard let noLevies = NoLeviesPolicy(rawValue: noLeviesText.trimmingCharacters(in: .whitespaces).lowercased()) else {
            throw v.error("issuance.no_levies", "expected issue or refuse, got '\(noLeviesText)'")
        }
        let cores = max(1, System.cores)
        var settings = IssuanceSettings(
            opensAtMinute: open, closesAtMinute: close, closedDays: closed, fees: fees,
            deliveryTTLSeconds: try v.int("issuance.delivery_ttl_seconds", default: 600, range: 1...86_400),
            maxConcurrentRenders: try v.int("issuance.max_concurrent_renders", default: cores, range: 1...256),
            maxWaiting: try v.int("issuance.max_waiting", default: 64, range: 0...100_000),
            maxQueueWaitMilliseconds: try v.int("issuance.max_queue_wait_ms", default: 150, range: 1...600_000),
            retryAfterSeconds: try v.int("issuance.retry_after_seconds", default: 2, range: 1...3600),
            requestTimeoutSeconds: try v.int("issuance.request_timeout_seconds", default: 20, range: 1...600),
            policy: IssuancePolicy(
                refuseUnpaidPastDue: try v.bool("issuance.refuse_unpaid_past_due", default: true),
                refuseProvisionalPayment: try v.bool("issuance.refuse_provisional_payment", default: true),
                maxDataAgeHours: try v.int("issuance.max_data_age_hours", default: 48, range: 1...8760),
                noLevies: noLevies),
            nodeID: v.string("node.id", default: System.hostName))
        settings.counterFees = counterFees
        settings.counterApprovalMinutes = try v.int("counter.approval_minutes", default: 30, range: 1...1440)
        // From one page (a cap below one document sheds every request, which tests use) to 1 TiB.
        settings.spoolMaxBytes = try v.int("issuance.spool_max_bytes", default: IssuanceSettings.defaultSpoolMaxBytes,
                                           range: 4096...(1 << 40))
        return settings
    }
}

import Foundation

enum System {
    static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }
    static var hostName: String { ProcessInfo.processInfo.hostName }
}
