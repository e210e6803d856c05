import Foundation
import KofuDomain
import KofuStorage

/// The state a municipality's monitoring watches, computed when `/metrics` is scraped and appended to the
/// registry's counters and histograms: the ready queue, the intake pause and the kiosk's open/closed
/// decision (`availability(at:)`, the one the kiosk makes), the age of each data set, the signing key's days
/// to expiry, the spool, the audit anchors, and the node. Counts, ages and public codes only: nothing here
/// names a person, an issuance or an internal refusal reason, since whoever reaches the listener may read it.
///
/// Rendered per scrape rather than set on process-wide registry gauges: a registry gauge keeps its last
/// value (and every label it ever had, e.g. a closed reason long gone) until the next scrape sets it,
/// and two services in one process (the tests) would overwrite each other's values.
struct MonitoringGauges: Sendable {
    let services: KofuServices

    /// The version `kofu_node_info` reports; raised with each release.
    static let version = "0.1.0"

    /// The gauges in the Prometheus text format (0.0.4). A source that cannot be read (the database down)
    /// leaves its gauges out and shows as `kofu_monitoring_source_up{source="…"} 0`.
    func render() async -> String {
        var out = PrometheusText()
        let issuance = services.issuance
        let now = issuance.clock.now()
        var sourceUp: [(String, Bool)] = []

        out.gauge("kofu_node_info", help: "This node: node.id, Kofu version and database backend (always 1).",
                  [([("node", issuance.settings.nodeID), ("version", Self.version),
                     ("backend", services.database.backend == .sqlite ? "sqlite" : "postgres")], 1)])

        do {
            let q = try await issuance.ledger.queueStats(nodeID: issuance.settings.nodeID, now: now, expiringWithin: 300)
            out.gauge("kofu_ready_queue_documents", help: "Documents rendered and waiting for the kiosk (status ready) on this node.", q.ready)
            out.gauge("kofu_rendering_documents", help: "Issuances being rendered (status rendering) on this node.", q.rendering)
            out.gauge("kofu_ready_queue_oldest_age_seconds",
                      help: "Age of the oldest ready or rendering issuance on this node (0 when none waits).",
                      q.oldestCreatedAt.map { max(0, now.timeIntervalSince($0)) } ?? 0)
            out.gauge("kofu_ready_queue_expiring_5m", help: "Ready documents whose delivery time runs out within 5 minutes.", q.expiringSoon)
            sourceUp.append(("queue", true))
        } catch {
            sourceUp.append(("queue", false))
        }

        do {
            // One read, so that the pause and the closed reasons of a scrape always agree.
            let availability = try await issuance.availability(at: now)
            let paused = availability.closedForAll.contains { if case .paused = $0 { true } else { false } }
            out.gauge("kofu_intake_paused", help: "1 while an operator has paused kiosk intake (all nodes).", paused ? 1 : 0)
            out.gauge("kofu_kiosk_open", help: "1 when the kiosk takes every kind of certificate, 0 when it closes any.",
                      availability.isFullyOpen ? 1 : 0)
            out.gauge("kofu_kiosk_kind_open", help: "1 when the kiosk takes this kind of certificate.",
                      CertificateKind.allCases.map { ([("kind", $0.rawValue)], availability.reason(for: $0) == nil ? 1 : 0) })
            out.gauge("kofu_kiosk_closed_reason",
                      help: "1 for each reason the kiosk is closed now (public codes: closed_day, outside_hours, paused, data_stale_<set>, data_missing_<set>).",
                      availability.allReasons.map { ([("reason", $0.code)], 1) })
            sourceUp.append(("availability", true))
        } catch {
            sourceUp.append(("availability", false))
        }

        do {
            let freshness = try await issuance.loadedData.freshness()
            out.gauge("kofu_data_age_seconds", help: "Age of each loaded data set: now minus its batch's extracted_at.",
                      freshness.sorted { $0.dataSet < $1.dataSet }.map { ([("data_set", $0.dataSet)], now.timeIntervalSince($0.extractedAt)) })
            out.gauge("kofu_data_max_age_seconds", help: "issuance.max_data_age_hours in seconds: older data closes the kiosk.",
                      Double(issuance.settings.policy.maxDataAgeHours) * 3600)
            sourceUp.append(("data", true))
        } catch {
            sourceUp.append(("data", false))
        }

        let signing = services.sealKeys.signingKeyID
        if let entry = services.sealKeys.keyring.entries.first(where: { $0.keyIDHex == signing }) {
            let today = JapanTime.localDate(now)
            out.gauge("kofu_seal_key_days_to_expiry",
                      help: "Days from today (Japan) to the last day the signing seal key may sign (its signing_until or not_after).",
                      [([("key_id", signing)], Double(entry.lastSigningDay.dayNumber - today.dayNumber))])
        }

        let spool = issuance.spool.usage()
        out.gauge("kofu_spool_documents", help: "Encrypted documents waiting in this node's in-memory spool.", spool.documents)
        out.gauge("kofu_spool_bytes", help: "Locked memory holding the encrypted documents of this node's spool, in bytes.", spool.bytes)
        out.gauge("kofu_spool_max_bytes", help: "issuance.spool_max_bytes: documents and room reserved for renders beyond it are shed (503).",
                  issuance.spool.maxBytes)

        if let anchors = services.audit.anchors {
            let last = anchors.lastAnchor
            if let last, let at = Self.anchorTime(last.at) {
                out.gauge("kofu_audit_last_anchor_age_seconds", help: "Seconds since this node last anchored the audit log outside the database.",
                          max(0, now.timeIntervalSince(at)))
            }
            out.gauge("kofu_audit_anchor_failing", help: "1 while writing the last audit anchor failed (cleared by the next success).",
                      anchors.lastError == nil ? 0 : 1)
            do {
                let head = try await services.audit.committedHeadSeq()
                out.gauge("kofu_audit_unanchored_entries", help: "Audit entries committed after the last anchor of this node.",
                          Int(max(0, head - (last?.seq ?? 0))))
                sourceUp.append(("audit", true))
            } catch {
                sourceUp.append(("audit", false))
            }
        }

        out.gauge("kofu_monitoring_source_up", help: "1 when the source of these gauges could be read at this scrape.",
                  sourceUp.map { ([("source", $0.0)], $0.1 ? 1 : 0) })
        return out.text
    }

    /// An anchor's `at` (`AuditChain.timestamp`: UTC, milliseconds, `Z`).
    static func anchorTime(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}

/// Gauge families in the Prometheus text exposition format.
struct PrometheusText {
    private(set) var text = ""

    mutating func gauge(_ name: String, help: String, _ value: Int) { gauge(name, help: help, Double(value)) }

    mutating func gauge(_ name: String, help: String, _ value: Double) { gauge(name, help: help, [([], value)]) }

    /// One family: `# HELP`, `# TYPE … gauge`, then a line per labelled sample.
    mutating func gauge(_ name: String, help: String, _ samples: [([(String, String)], Double)]) {
        text += "# HELP \(name) \(help.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n"))\n"
        text += "# TYPE \(name) gauge\n"
        for (labels, value) in samples {
            let rendered = labels.isEmpty ? "" : "{" + labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",") + "}"
            text += "\(name)\(rendered) \(Self.number(value))\n"
        }
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    static func number(_ v: Double) -> String {
        if v.isNaN { return "NaN" }
        if v.isInfinite { return v > 0 ? "+Inf" : "-Inf" }
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}
