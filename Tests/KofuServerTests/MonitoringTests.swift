import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import Testing

/// The gauges `/metrics` computes at scrape time (issue 13, monitoring): each checked against state the
/// test made, and none of them carrying anything about a person.
@Suite("Monitoring gauges")
struct MonitoringTests {
    /// The samples of a Prometheus text: `name{labels}` (as written) → value.
    static func samples(_ text: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            out[String(line[..<space])] = value
        }
        return out
    }

    static func scrape(_ client: any TestClientProtocol) async throws -> String {
        try await client.execute(uri: "/metrics", method: .get) { r in
            #expect(r.status == .ok)
            return String(buffer: r.body)
        }
    }

    @Test("/metrics reports the ready queue, pause, kiosk state, data age, key expiry, spool and audit anchors as they are",
          arguments: StorageTestSupport.backends)
    func gaugesMatchState(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            // Two documents rendered and left waiting for the kiosk, then intake paused and two minutes pass.
            for id in ["MON-1", "MON-2"] {
                let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                                 body: Kiosk.issueBody(id, card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear))
                #expect(r.status == .created, "\(String(buffer: r.body))")
            }
            try await services.issuance.setIntakePaused(true, by: "monitor-test", reason: "monitoring test")
            h.clock.advance(120)

            let text = try await Self.scrape(client)
            let s = Self.samples(text)
            let now = services.issuance.clock.now()

            #expect(s["kofu_ready_queue_documents"] == 2, "\(text)")
            #expect(s["kofu_rendering_documents"] == 0)
            let oldest = try #require(s["kofu_ready_queue_oldest_age_seconds"])
            #expect(oldest >= 120 && oldest < 120 + 60, "oldest age \(oldest)")
            // Delivery TTL 600 s, two minutes gone: 480 s left, so none expires within 5 minutes.
            #expect(s["kofu_ready_queue_expiring_5m"] == 0)
            #expect(s["kofu_intake_paused"] == 1)
            #expect(s["kofu_kiosk_open"] == 0)
            #expect(s["kofu_kiosk_closed_reason{reason=\"paused\"}"] == 1, "\(text)")
            #expect(s.keys.filter { $0.hasPrefix("kofu_kiosk_closed_reason") }.count == 1, "\(text)")
            #expect(s["kofu_kiosk_kind_open{kind=\"income_taxation\"}"] == 0)

            let freshness = try await services.issuance.loadedData.freshness()
            #expect(!freshness.isEmpty)
            for f in freshness {
                let age = try #require(s["kofu_data_age_seconds{data_set=\"\(f.dataSet)\"}"], "no age for \(f.dataSet)")
                #expect(abs(age - now.timeIntervalSince(f.extractedAt)) < 30, "\(f.dataSet): \(age)")
            }
            #expect(s["kofu_data_max_age_seconds"] == Double(48 * 3600))

            let signing = services.sealKeys.signingKeyID
            let entry = try #require(services.keyring.entries.first { $0.keyIDHex == signing })
            let days = entry.lastSigningDay.dayNumber - JapanTime.localDate(now).dayNumber
            #expect(s["kofu_seal_key_days_to_expiry{key_id=\"\(signing)\"}"] == Double(days), "\(text)")
            #expect(days > 60)

            #expect(s["kofu_spool_documents"] == 2)
            #expect((s["kofu_spool_bytes"] ?? 0) > 1000, "\(text)")
            #expect(s["kofu_node_info{node=\"test-node\",version=\"0.1.0\",backend=\"\(backend == .sqlite ? "sqlite" : "postgres")\"}"] == 1, "\(text)")
            for source in ["queue", "availability", "data", "audit"] {
                #expect(s["kofu_monitoring_source_up{source=\"\(source)\"}"] == 1, "\(source)")
            }

            // The audit log: entries since the last anchor, then none once the head is anchored (at the test clock).
            let anchors = try #require(services.audit.anchors)
            let head = try await services.audit.committedHeadSeq()
            #expect(head > 0)
            #expect(s["kofu_audit_unanchored_entries"] == Double(head - (anchors.lastAnchor?.seq ?? 0)), "\(text)")
            #expect(s["kofu_audit_anchor_failing"] == 0)
            try await services.audit.anchorHead()
            h.clock.advance(30)
            let after = Self.samples(try await Self.scrape(client))
            #expect(after["kofu_audit_unanchored_entries"] == 0)
            let anchorAge = try #require(after["kofu_audit_last_anchor_age_seconds"])
            #expect(anchorAge >= 30 && anchorAge < 60, "anchor age \(anchorAge)")

            // Resumed: open again, no closed reason left over from the last scrape.
            try await services.issuance.setIntakePaused(false, by: "monitor-test")
            let resumed = Self.samples(try await Self.scrape(client))
            #expect(resumed["kofu_intake_paused"] == 0)
            #expect(resumed["kofu_kiosk_open"] == 1)
            #expect(!resumed.keys.contains { $0.hasPrefix("kofu_kiosk_closed_reason") })

            // Nothing about the demo people: no card serial, addressee id or name in any name, label or help text
            // (values are numbers, which may equal an id by chance without telling anything).
            let names = text.split(separator: "\n").map { line -> Substring in
                line.hasPrefix("#") ? line : line[..<(line.lastIndex(of: " ") ?? line.endIndex)]
            }.joined(separator: "\n")
            for card in h.cards.values {
                #expect(!names.contains(card.cardSerial), "\(card.caseName)'s card serial in /metrics")
                #expect(!names.contains(card.addresseeID), "\(card.caseName)'s addressee id in /metrics")
                if let id = AddresseeID(card.addresseeID), let person = try await services.issuance.taxData.person(id) {
                    #expect(!text.contains(person.name), "\(card.caseName)'s name in /metrics")
                    #expect(!text.contains(person.address), "\(card.caseName)'s address in /metrics")
                }
            }
        }
    }

    @Test("data older than issuance.max_data_age_hours shows in the data age and as the closed reason")
    func staleDataGauges() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, _ in
            h.clock.advance(52 * 3600)  // older than max_data_age_hours (48) at any time of day (the batch says 02:00 JST)
            let text = try await Self.scrape(client)
            let s = Self.samples(text)
            #expect(s["kofu_kiosk_open"] == 0)
            #expect(s["kofu_intake_paused"] == 0)
            #expect(s["kofu_kiosk_closed_reason{reason=\"data_stale_residents\"}"] == 1, "\(text)")
            #expect((s["kofu_data_age_seconds{data_set=\"residents\"}"] ?? 0) > 48 * 3600, "\(text)")
        }
    }
}
