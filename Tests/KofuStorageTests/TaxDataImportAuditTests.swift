import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// `kofu import` and `kofu rollover` leave an audit entry for every run (issue 11, item 15).
@Suite("Linkage import and rollover: audit entries")
struct TaxDataImportAuditTests {
    static let actor = AuditActor.operatingSystemUser("kofuadm", host: "tax-srv1")

    @Test("imports, no-ops, refusals and restores are each audited, with counts and positions but no personal data",
          arguments: StorageTestSupport.backends)
    func importAudited(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let audit = AuditLog(database: t.database)
            let older = try fixtureBatch("20261121-01", extracted: "2026-11-21T02:00:00")
            defer { LinkageBatchFixture.remove(older) }
            let good = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(good) }
            let bad = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(bad) }
            try LinkageBatchFixture.replace(bad, "levies.csv", "61100,61100,", with: "61100,999999999,")
            try LinkageBatchFixture.rewriteManifest(bad, fields: ["batch_id": "20261123-01", "extracted_at": "2026-11-23T02:00:00+09:00"])

            _ = try await importer(t.database).importBatch(at: good, audit: audit, actor: Self.actor)
            _ = try await importer(t.database).importBatch(at: good, audit: audit, actor: Self.actor)
            await #expect(throws: LinkageRejection.self) {
                try await importer(t.database).importBatch(at: bad, audit: audit, actor: Self.actor)
            }
            await #expect(throws: LinkageRejection.self) {
                try await importer(t.database).importBatch(at: older, audit: audit, actor: Self.actor)
            }
            _ = try await importer(t.database).importBatch(at: older, ordering: .allowOlder(reason: "ticket 4711: 11-22 extract incomplete"),
                                                           audit: audit, actor: Self.actor)
            let entries = try await audit.entries()
            #expect(entries.map(\.action) == Array(repeating: "import", count: 5))
            #expect(entries.allSatisfy { $0.actor == "os:kofuadm@tax-srv1" })
            #expect(entries.map(\.object) == ["batch:20261122-01", "batch:20261122-01", "batch:20261123-01",
                                              "batch:20261121-01", "batch:20261121-01"])
            #expect(entries.map(\.outcome) == ["success", "success", "failure", "failure", "success"])
            #expect(entries[0].reason == "imported files=residents.csv,cards.csv,restrictions.csv,assessments.csv,levies.csv,vehicles.csv "
                    + "rows=19 skipped=2 restrictions_added=2 restrictions_removed=0 restrictions_ended_earlier=0")
            #expect(entries[1].reason == "already in force; nothing changed")
            let paid = try LinkageBatchFixture.position(of: "999999999", in: bad, "levies.csv")
            #expect(entries[2].reason == "refused: 1 problem(s), first at levies.csv:\(paid.line):\(paid.column)")
            let extracted = try LinkageBatchFixture.position(of: "\"extracted_at\"", in: older, "manifest.json")
            #expect(entries[3].reason == "refused: 1 problem(s), first at manifest.json:\(extracted.line):\(extracted.column)")
            #expect(entries[4].reason.hasPrefix("imported files="))
            #expect(entries[4].reason.hasSuffix(" replaced=20261122-01 restore allow_older reason=ticket 4711: 11-22 extract incomplete"))
            // Nothing from the batch's rows: names, addresses, amounts, card serials.
            for value in ["山田", "東京都", "999999999", "61100", "00ab12cd34ef", "000000000101"] {
                #expect(!entries.contains { $0.reason.contains(value) || $0.object.contains(value) }, "\(value) in the audit log")
            }
        }
    }

    @Test("a batch whose manifest cannot be read is audited as a failure too", arguments: StorageTestSupport.backends)
    func unreadableManifestAudited(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let audit = AuditLog(database: t.database)
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            try LinkageBatchFixture.rewriteManifest(dir, fields: ["municipality_code": "151009"])
            await #expect(throws: LinkageRejection.self) {
                try await importer(t.database).importBatch(at: dir, audit: audit, actor: Self.actor)
            }
            let entries = try await audit.entries()
            #expect(entries.map(\.object) == ["batch:20261122-01"])
            #expect(entries.map(\.outcome) == ["failure"])
            #expect(entries.first?.reason.hasPrefix("refused: 1 problem(s), first at manifest.json:") == true)
        }
    }

    @Test("a rollover is audited with the years kept and erased", arguments: StorageTestSupport.backends)
    func rolloverAudited(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let audit = AuditLog(database: t.database)
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            _ = try await importer(t.database, years: 6).importBatch(at: dir)
            let report = try await TaxDataRollover(database: t.database, retention: RetentionWindow(years: 1, today: fixtureToday))
                .run(audit: audit, actor: Self.actor)
            #expect(report.erasedYears == [2025, 2021])
            let entries = try await audit.entries()
            #expect(entries.map(\.action) == ["rollover"])
            #expect(entries.map(\.actor) == ["os:kofuadm@tax-srv1"])
            #expect(entries.map(\.object) == ["fiscal_years:oldest_kept_2026"])
            #expect(entries.map(\.outcome) == ["success"])
            #expect(entries.first?.reason == "kept=2026 erased=2025,2021 rows=3")
        }
    }
}
