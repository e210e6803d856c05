import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// Imports the good fixture as the data in force, as batch `20261121-01` extracted a day before the fixture's own
/// manifest, so that an edited copy of the fixture (batch `20261122-01`) passes the ordering rule and is checked.
func importBaseline(_ db: KofuDatabase) async throws {
    let good = try LinkageBatchFixture.copy("good")
    defer { LinkageBatchFixture.remove(good) }
    try LinkageBatchFixture.rewriteManifest(good, fields: ["batch_id": "20261121-01", "extracted_at": "2026-11-21T02:00:00+09:00"])
    _ = try await importer(db).importBatch(at: good)
}

/// Imports `dir`, which must be refused, and checks that the tax tables are byte-identical afterwards.
func expectRefused(_ db: KofuDatabase, _ dir: String, ordering: ImportOrdering = .newerOnly,
                   sourceLocation: SourceLocation = #_sourceLocation) async throws -> LinkageRejection {
    let before = try await StorageTestSupport.dump(db, tables: StorageTestSupport.taxTables)
    let rejection = try await #require(throws: LinkageRejection.self, sourceLocation: sourceLocation) {
        try await importer(db).importBatch(at: dir, ordering: ordering)
    }
    #expect(try await StorageTestSupport.dump(db, tables: StorageTestSupport.taxTables) == before,
            "a refused batch changed the tax tables", sourceLocation: sourceLocation)
    return rejection
}

/// A copy of the good fixture as batch `id` extracted at `extracted` (Japan time, `2026-12-07T02:00:00`).
func fixtureBatch(_ id: String, extracted: String) throws -> String {
    let dir = try LinkageBatchFixture.copy("good")
    try LinkageBatchFixture.rewriteManifest(dir, fields: ["batch_id": id, "extracted_at": extracted + "+09:00"])
    return dir
}

@Suite("Linkage import: batch ordering and restores")
struct TaxDataOrderingTests {
    /// The probe of the issue: a batch of 12-07 adds a support measure; the batch of 12-06 arriving after it must
    /// not silently take it away.
    @Test("an older batch is refused, names both batches, and leaves the data in force as it was",
          arguments: StorageTestSupport.backends)
    func olderBatchRefused(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let newer = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(newer) }
            try LinkageBatchFixture.replace(newer, "restrictions.csv", "000000000101,issuance_stop",
                                            with: "000000000101,support_measure,2026-12-01,\n000000000101,issuance_stop")
            try LinkageBatchFixture.rewriteManifest(newer, rows: ["restrictions.csv": 3])
            _ = try await importer(t.database).importBatch(at: newer)
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.restrictions(for: id("000000000101")).contains { $0.kind == .supportMeasure })

            let older = try fixtureBatch("20261206-01", extracted: "2026-12-06T02:00:00")
            defer { LinkageBatchFixture.remove(older) }
            let rejection = try await expectRefused(t.database, older)
            let p = try LinkageBatchFixture.position(of: "\"extracted_at\"", in: older, "manifest.json")
            #expect(rejection.problems.count == 1)
            let problem = try #require(rejection.problems.first)
            #expect((problem.file, problem.line, problem.column) == ("manifest.json", p.line, p.column))
            #expect(problem.message.contains("batch 20261206-01 (extracted_at 2026-12-06T02:00:00+09:00) is not later than the data in force, batch 20261207-01 (extracted_at 2026-12-07T02:00:00+09:00)"))
            #expect(problem.message.contains("--allow-older --reason"))
            #expect(rejection.batchID == "20261206-01")
            #expect(try await store.restrictions(for: id("000000000101")).contains { $0.kind == .supportMeasure })
            #expect(try await store.importedBatches() == ["20261207-01"])
        }
    }

    @Test("a batch extracted at the same time as the data in force is refused too", arguments: StorageTestSupport.backends)
    func sameTimeRefused(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let first = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(first) }
            _ = try await importer(t.database).importBatch(at: first)
            let second = try fixtureBatch("20261207-02", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(second) }
            let rejection = try await expectRefused(t.database, second)
            #expect(rejection.problems.map(\.message).first?.contains("is not later than the data in force, batch 20261207-01") == true)
        }
    }

    @Test("a batch imported before and replaced since is refused, not silently re-applied; the one in force is a no-op",
          arguments: StorageTestSupport.backends)
    func replacedBatchRefused(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let a = try fixtureBatch("20261206-01", extracted: "2026-12-06T02:00:00")
            defer { LinkageBatchFixture.remove(a) }
            let b = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(b) }
            _ = try await importer(t.database).importBatch(at: a)
            _ = try await importer(t.database).importBatch(at: b)
            let rejection = try await expectRefused(t.database, a)
            let p = try LinkageBatchFixture.position(of: "\"batch_id\"", in: a, "manifest.json")
            #expect(rejection.problems.map { "\($0.file):\($0.line):\($0.column)" } == ["manifest.json:\(p.line):\(p.column)"])
            #expect(rejection.problems.first?.message.contains("batch 20261206-01 was imported before and has since been replaced by batch 20261207-01") == true)
            let again = try await importer(t.database).importBatch(at: b)
            #expect(again.alreadyImported)
        }
    }

    @Test("--allow-older restores an older batch on purpose, and the report says what it replaced and which restrictions ended",
          arguments: StorageTestSupport.backends)
    func allowOlderRestores(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let older = try fixtureBatch("20261206-01", extracted: "2026-12-06T02:00:00")
            defer { LinkageBatchFixture.remove(older) }
            _ = try await importer(t.database).importBatch(at: older)
            let newer = try fixtureBatch("20261207-01", extracted: "2026-12-07T02:00:00")
            defer { LinkageBatchFixture.remove(newer) }
            try LinkageBatchFixture.replace(newer, "restrictions.csv", "000000000101,issuance_stop",
                                            with: "000000000101,support_measure,2026-12-01,\n000000000101,issuance_stop")
            try LinkageBatchFixture.rewriteManifest(newer, rows: ["restrictions.csv": 3])
            let forward = try await importer(t.database).importBatch(at: newer)
            #expect(forward.restrictions == RestrictionChanges(added: 1, removed: 0, endedEarlier: 0))
            #expect(!forward.restored)
            #expect(forward.replaced?.batchID == "20261206-01")

            let restore = try await importer(t.database).importBatch(at: older, ordering: .allowOlder(reason: "12-07 extract was wrong"))
            #expect(restore.restored)
            #expect(restore.replaced?.batchID == "20261207-01")
            #expect(restore.restrictions == RestrictionChanges(added: 0, removed: 1, endedEarlier: 0))
            #expect(restore.summary.contains("restored (--allow-older) over batch 20261207-01"))
            #expect(restore.summary.contains("restrictions: 0 added, 1 removed, 0 ended earlier"))
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.restrictions(for: id("000000000101")).allSatisfy { $0.kind != .supportMeasure })
            #expect(Set(try await store.freshness().map(\.batchID)) == ["20261206-01"])
            // After the restore the newer batch is not re-applied by a plain run either: it was imported before.
            _ = try await expectRefused(t.database, newer)
        }
    }

    @Test("the summary counts the restrictions a batch adds, removes and ends earlier", arguments: StorageTestSupport.backends)
    func restrictionCounts(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            // 102's support measure disappears, 7 gets one, 101's issuance stop ends half a year earlier.
            try LinkageBatchFixture.write(dir, "restrictions.csv", Array("""
                addressee_id,kind,valid_from,valid_to
                000000000101,issuance_stop,2024-01-01,2024-06-30
                7,counter_only,2026-11-01,

                """.utf8))
            try LinkageBatchFixture.rewriteManifest(dir)
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.restrictions == RestrictionChanges(added: 1, removed: 1, endedEarlier: 1))
            #expect(report.summary.hasSuffix("; restrictions: 1 added, 1 removed, 1 ended earlier"))
            // A batch without restrictions.csv says nothing about them.
            let cards = try fixtureBatch("20261123-01", extracted: "2026-11-23T02:00:00")
            defer { LinkageBatchFixture.remove(cards) }
            try LinkageBatchFixture.rewriteManifest(cards, drop: ["residents.csv", "restrictions.csv", "assessments.csv", "levies.csv", "vehicles.csv"])
            let cardsOnly = try await importer(t.database).importBatch(at: cards)
            #expect(cardsOnly.restrictions == nil)
            #expect(!cardsOnly.summary.contains("restrictions"))
        }
    }
}
