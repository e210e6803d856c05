import Foundation
import HummingbirdTesting
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// DOMAIN.md §3: every document belongs to exactly one request, under load, with cancels and expiries.
@Suite(.timeLimit(.minutes(10))) struct ConcurrencyTests {
    @Test(arguments: StorageTestSupport.backends)
    func fiveHundredConcurrentResidentsNoCrossTalk(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend, people: 1200)
        defer { Task { await h.cleanUp() } }
        let extra = ["KOFU_ISSUANCE_MAX_WAITING": "2000", "KOFU_ISSUANCE_MAX_QUEUE_WAIT_MS": "300000",
                     "KOFU_ISSUANCE_REQUEST_TIMEOUT_SECONDS": "300"]
        try await h.withLiveServer(extra) { client, services in
            let people = try await services.database.issuableResidents(limit: 520, year: h.latestYear)
            try #require(people.count >= 500)
            let year = h.latestYear
            try await withLoadClient(port: client.port!, maxConnections: 128) { load in
                struct Outcome: Sendable {
                    var index: Int
                    var status: Int
                    var issuanceID: String?
                    var numbers: [String]
                    var pdf: [UInt8]
                    var action: String
                }
                let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
                    for (i, p) in people.prefix(500).enumerated() {
                        group.addTask {
                            let body: [String: Any] = ["request_id": "LOAD-\(i)", "card_serial": p.cardSerial, "kind": "income_taxation", "fiscal_year": year]
                            let viaPDF = i % 3 != 0
                            let r = try await load.send("POST", "/kiosk/v1/issuances", json: body, accept: viaPDF ? "application/pdf" : nil)
                            guard r.status == 201 else { return Outcome(index: i, status: r.status, issuanceID: nil, numbers: [], pdf: [], action: "none") }
                            let id = viaPDF ? r.header("Kofu-Issuance-Id")! : r.json["issuance_id"] as! String
                            let numbers = viaPDF ? r.header("Kofu-Certificate-Numbers")!.split(separator: ",").map(String.init)
                                                 : r.json["certificate_numbers"] as! [String]
                            var pdf = viaPDF ? r.body : []
                            if !viaPDF {
                                let d = try await load.send("GET", "/kiosk/v1/issuances/\(id)/document")
                                #expect(d.status == 200)
                                pdf = d.body
                            }
                            let action: String
                            switch i % 5 {
                            case 0, 1, 2:
                                action = "delivered"
                                #expect(try await load.send("POST", "/kiosk/v1/issuances/\(id)/delivered").status == 200)
                            case 3:
                                action = "cancel"
                                #expect(try await load.send("POST", "/kiosk/v1/issuances/\(id)/cancel", json: ["reason": "user_cancelled"]).status == 200)
                            default:
                                action = "expire"
                            }
                            return Outcome(index: i, status: r.status, issuanceID: id, numbers: numbers, pdf: pdf, action: action)
                        }
                    }
                    var all: [Outcome] = []
                    for try await o in group { all.append(o) }
                    return all
                }

                let issued = outcomes.filter { $0.status == 201 }
                #expect(issued.count == 500, "statuses: \(Dictionary(grouping: outcomes, by: \.status).mapValues(\.count))")
                let allNumbers = issued.flatMap(\.numbers)
                #expect(Set(allNumbers).count == allNumbers.count, "certificate numbers are unique")
                #expect(Set(issued.compactMap(\.issuanceID)).count == issued.count)

                // Every document carries its requester and no other requester.
                let addresses = people.prefix(500).map { PDFTools.compact($0.address) }
                for o in issued {
                    let me = people[o.index]
                    let text = PDFTools.compact(try PDFTools.text(o.pdf))
                    #expect(text.contains(PDFTools.compact(me.name)), "LOAD-\(o.index) has its name")
                    #expect(text.contains(PDFTools.compact(me.address)), "LOAD-\(o.index) has its address")
                    #expect(text.contains(o.numbers[0]))
                    for (j, other) in addresses.enumerated() where j != o.index && other != PDFTools.compact(me.address) && text.contains(other) {
                        Issue.record("LOAD-\(o.index) contains the address of LOAD-\(j)")
                    }
                }
                // The seal of a sample of documents names its own requester.
                for o in issued.filter({ $0.index % 50 == 7 }) {
                    let seal = try #require(try PDFTools.qrCodes(o.pdf).first)
                    let v = services.verifier.verify(seal, at: JapanTime.localDate(h.clock.now()))
                    #expect(v.isValid)
                    #expect(v.payload?.name == people[o.index].name)
                    #expect(v.payload?.certificateNumber == o.numbers[0])
                }

                // Nothing is served twice; the ones left alone expire and are wiped.
                for o in issued where o.action != "expire" {
                    #expect(try await load.send("GET", "/kiosk/v1/issuances/\(o.issuanceID!)/document").status == 410)
                }
                h.clock.advance(601)
                try await services.issuance.expireOverdue()
                for o in issued where o.action == "expire" {
                    #expect(try await load.send("GET", "/kiosk/v1/issuances/\(o.issuanceID!)/document").status == 410)
                    for n in o.numbers { #expect(try await services.issuance.ledger.numberStatus(n)?.status == .void) }
                }
                #expect(services.issuance.spool.count() == 0)
            }
        }
    }

    /// Admission control sheds at once with OVERLOADED and Retry-After instead of queueing without bound.
    @Test func overloadIsShed() async throws {
        let h = try await KioskHarness.make(people: 120)
        defer { Task { await h.cleanUp() } }
        let extra = ["KOFU_ISSUANCE_MAX_CONCURRENT_RENDERS": "1", "KOFU_ISSUANCE_MAX_WAITING": "0"]
        try await h.withLiveServer(extra) { client, services in
            let people = try await services.database.issuableResidents(limit: 60, year: h.latestYear)
            try await withLoadClient(port: client.port!, maxConnections: 64) { load in
                let replies = try await withThrowingTaskGroup(of: LoadClient.Reply.self) { group in
                    for (i, p) in people.enumerated() {
                        group.addTask {
                            try await load.send("POST", "/kiosk/v1/issuances",
                                                json: ["request_id": "OV-\(i)", "card_serial": p.cardSerial, "kind": "income_taxation", "fiscal_year": h.latestYear])
                        }
                    }
                    var all: [LoadClient.Reply] = []
                    for try await r in group { all.append(r) }
                    return all
                }
                let shed = replies.filter { $0.status == 503 }
                #expect(!shed.isEmpty, "some requests are shed: \(Dictionary(grouping: replies, by: \.status).mapValues(\.count))")
                #expect(replies.contains { $0.status == 201 }, "some are served")
                for r in shed {
                    #expect((r.json["error"] as? [String: Any])?["code"] as? String == "OVERLOADED")
                    #expect(r.header("Retry-After") == "2")
                }
                // A shed request left no trace in the ledger (its id can be retried later): one entry per answered request.
                let recorded = try await services.database.read { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM issuances WHERE request_id LIKE 'OV-%'").first()!.decode(column: "n", as: Int.self)
                }
                #expect(recorded == replies.count - shed.count)
            }
        }
    }
}
