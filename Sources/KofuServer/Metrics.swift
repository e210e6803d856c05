import KofuDomain
import Metrics

/// Kofu's metrics. Labels are kinds, codes and reasons — never anything about a person.
enum Metrics {
    static func issued(_ kind: CertificateKind) {
        Counter(label: "kofu_issuances_total", dimensions: [("kind", kind.rawValue), ("outcome", "ready")]).increment()
    }

    /// By public code only: `/metrics` may be read by whoever reaches the listener, and an internal reason
    /// (support measure, issuance stop …) counted per request would tell them why one card was refused.
    /// Internal reasons are shown in aggregate on the staff pages only.
    static func refusal(_ r: Refusal) {
        Counter(label: "kofu_refusals_total", dimensions: [("code", r.code.rawValue)]).increment()
    }

    /// A request refused as SERVICE_CLOSED, by why (hours, closed day, pause, stale data: none of it personal).
    static func closed(_ reason: KioskAvailability.Reason) {
        Counter(label: "kofu_service_closed_total", dimensions: [("reason", reason.code)]).increment()
    }

    /// A connection closed because its client sent headers or body too slowly.
    static func slowClientClosed(phase: String) {
        Counter(label: "kofu_slow_clients_closed_total", dimensions: [("phase", phase)]).increment()
    }

    static let delivered = Counter(label: "kofu_deliveries_total")
    static let cancelled = Counter(label: "kofu_cancellations_total")
    static let expired = Counter(label: "kofu_expirations_total")
    static let failed = Counter(label: "kofu_issuance_failures_total")
    static let shed = Counter(label: "kofu_shed_total")
    static let issueDuration = Timer(label: "kofu_issue_duration_seconds", preferredDisplayUnit: .seconds)
    static let renderDuration = Timer(label: "kofu_render_duration_seconds", preferredDisplayUnit: .seconds)
}
