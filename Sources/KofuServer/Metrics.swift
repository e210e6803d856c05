import KofuDomain
import Metrics

/// Kofu's metrics. Labels are kinds, codes and reasons — never anything about a person.
enum Metrics {
    static func issued(_ kind: CertificateKind) {
        Counter(label: "kofu_issuances_total", dimensions: [("kind", kind.rawValue), ("outcome", "ready")]).increment()
    }

    static func refusal(_ r: Refusal) {
        Counter(label: "kofu_refusals_total", dimensions: [("code", r.code.rawValue), ("reason", r.internalReason)]).increment()
    }

    static let delivered = Counter(label: "kofu_deliveries_total")
    static let cancelled = Counter(label: "kofu_cancellations_total")
    static let expired = Counter(label: "kofu_expirations_total")
    static let failed = Counter(label: "kofu_issuance_failures_total")
    static let shed = Counter(label: "kofu_shed_total")
    static let closed = Counter(label: "kofu_service_closed_total")
    static let issueDuration = Timer(label: "kofu_issue_duration_seconds", preferredDisplayUnit: .seconds)
    static let renderDuration = Timer(label: "kofu_render_duration_seconds", preferredDisplayUnit: .seconds)
}
