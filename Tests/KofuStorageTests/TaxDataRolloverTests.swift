import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

@Suite("Fiscal-year rollover")
struct TaxDataRolloverTests {
    /// Bytes of every regular file in `dir` (the database, -wal, -shm), concatenated per file.
    static func filesContain(_ needle: String, in dir: String) throws -> [String] {
        let pattern = Array(needle.utf8)
        var hits: [String] = []
        for name in try FileManager.default.contentsOfDirectory(atPath: dir) {
            let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(name))))
            guard bytes.count >= pattern.count else { continue }
            let first = pattern[0]
            var i = 0
            while i <= bytes.count - pattern.count {
                if bytes[i] == first && Array(bytes[i..<i + pattern.count]) == pattern {
                    hits.append(name)
                    break
                }
                i += 1
            }
        }
        return hits
    }

    @Test("from 6 loaded years exactly the latest 4 remain, and erased rows leave no trace in the files",
          arguments: StorageTestSupport.backends)
    func rollover(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
            defer { LinkageBatchFixture.remove(dir) }
            var generator = SampleBatchGenerator(people: 60, seed: 7, today: fixtureToday)
            generator.fiscalYears = 6
            try generator.write(to: dir)
            // A row of the oldest year carrying a string found nowhere else.
            let marker = "ERASEME-7F3A9C21-消去"
            var vehicles = String(decoding: try LinkageBatchFixture.read(dir, "vehicles.csv"), as: UTF8.self)
            vehicles += "ZZ-ERASE,2021,100000001,軽四輪乗用(自家用),\(marker),CH-1,10800,10800,2021-05-31,confirmed,0\n"
            try LinkageBatchFixture.write(dir, "vehicles.csv", Array(vehicles.utf8))
            let rows = vehicles.split(separator: "\n").count - 1
            try LinkageBatchFixture.rewriteManifest(dir, rows: ["vehicles.csv": rows])

            _ = try await importer(t.database, years: 6).importBatch(at: dir)
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.heldFiscalYears().map(\.year) == [2026, 2025, 2024, 2023, 2022, 2021])
            if let dataDir = t.directory {
                // The test can fail: before the rollover the marker is on disk.
                #expect(!(try Self.filesContain(marker, in: dataDir)).isEmpty)
            }

            let report = try await TaxDataRollover(database: t.database,
                                                   retention: RetentionWindow(years: 4, today: fixtureToday)).run()
            #expect(report.keptYears == [2026, 2025, 2024, 2023])
            #expect(report.erasedYears == [2022, 2021])
            #expect(report.erasedRows > 0)
            #expect(try await store.heldFiscalYears().map(\.year) == [2026, 2025, 2024, 2023])
            #expect(try await store.vehicles(for: AddresseeID("100000001")!, year: FiscalYear(2021)).isEmpty)
            #expect(try await store.assessment(for: AddresseeID("100000001")!, year: FiscalYear(2022)) == nil)
            #expect(try await store.assessment(for: AddresseeID("100000001")!, year: FiscalYear(2023)) != nil)
            if let dataDir = t.directory {
                let files = try FileManager.default.contentsOfDirectory(atPath: dataDir)
                #expect(files.contains("kofu.sqlite"))
                #expect(try Self.filesContain(marker, in: dataDir) == [])
            }
            // A second rollover has nothing left to erase.
            let again = try await TaxDataRollover(database: t.database,
                                                  retention: RetentionWindow(years: 4, today: fixtureToday)).run()
            #expect(again.erasedRows == 0)
        }
    }

    @Test("the held years follow each batch that replaces the per-year data, and the migration that keeps them fills them from the data already held",
          arguments: StorageTestSupport.backends)
    func heldYearsFollowTheData(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let store = SQLTaxDataStore(database: t.database)
            let scan = {
                try await t.database.read { db in
                    try await db.raw("""
                        SELECT fiscal_year FROM tax_assessments UNION SELECT fiscal_year FROM tax_levies
                        UNION SELECT fiscal_year FROM tax_vehicles ORDER BY fiscal_year DESC
                        """).all().map { try $0.decode(column: "fiscal_year", as: Int.self) }
                }
            }
            for (n, years) in [(1, 6), (2, 3)] {
                let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
                defer { LinkageBatchFixture.remove(dir) }
                var generator = SampleBatchGenerator(people: 30, seed: 11, today: fixtureToday)
                generator.fiscalYears = years
                generator.batchID = "20261101-0\(n)"
                try generator.write(to: dir)
                // Each batch extracted later than the one before (the ordering rule).
                try LinkageBatchFixture.rewriteManifest(dir, fields: ["extracted_at": "2026-11-2\(n + 2)T02:00:00+09:00"])
                _ = try await importer(t.database, years: 6).importBatch(at: dir)
                let held = try await store.heldFiscalYears().map(\.year)
                #expect(held == Array((2026 - years + 1...2026).reversed()))
                #expect(held == (try await scan()))
            }
            // A database from before the table: the migration fills it from the per-year tables.
            try await t.database.transaction { db in
                try await db.raw("DROP TABLE tax_fiscal_years").run()
                try await db.raw("DELETE FROM kofu_migrations WHERE name = '0101_tax_fiscal_years'").run()
            }
            #expect(try await Migrator.all.run(on: t.database) == ["0101_tax_fiscal_years"])
            #expect(try await store.heldFiscalYears().map(\.year) == [2026, 2025, 2024])
        }
    }

    @Test("rows older than the retention window are skipped at import and counted")
    func skippedAtImport() async throws {
        try await StorageTestSupport.withDatabase(.sqlite) { t in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
            defer { LinkageBatchFixture.remove(dir) }
            var generator = SampleBatchGenerator(people: 40, seed: 3, today: fixtureToday)
            generator.fiscalYears = 6
            let summary = try generator.write(to: dir)
            let report = try await importer(t.database).importBatch(at: dir)
            let assessments = try #require(report.files.first { $0.file == "assessments.csv" })
            #expect(assessments.skippedRows > 0)
            #expect(assessments.rows + assessments.skippedRows == summary.rows["assessments.csv"])
            #expect(try await SQLTaxDataStore(database: t.database).heldFiscalYears().map(\.year) == [2026, 2025, 2024, 2023])
        }
    }
}
