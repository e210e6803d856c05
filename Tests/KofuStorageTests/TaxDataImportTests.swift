import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// The fixed "today" of the fixture batches: fiscal year 2026, so a 4-year window holds 2023–2026.
let fixtureToday = LocalDate(year: 2026, month: 11, day: 22)!

func importer(_ db: KofuDatabase, years: Int = 4, municipality: String = "131041") -> LinkageImporter {
    LinkageImporter(database: db, municipalityCode: municipality, retention: RetentionWindow(years: years, today: fixtureToday))
}

func id(_ s: String) -> AddresseeID { AddresseeID(s)! }

@Suite("Linkage import")
struct TaxDataImportTests {
    @Test("a good batch imports and every value reads back", arguments: StorageTestSupport.backends)
    func goodBatchReadsBack(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.batchID == "20261122-01")
            #expect(!report.alreadyImported)
            let byFile = Dictionary(uniqueKeysWithValues: report.files.map { ($0.file, $0) })
            #expect(byFile["residents.csv"]?.rows == 4)
            #expect(byFile["assessments.csv"]?.rows == 3)
            #expect(byFile["assessments.csv"]?.skippedRows == 1)
            #expect(byFile["levies.csv"]?.rows == 4)
            #expect(byFile["levies.csv"]?.skippedRows == 1)
            #expect(byFile["vehicles.csv"]?.rows == 3)

            let store = SQLTaxDataStore(database: t.database)
            let taro = try #require(try await store.person(id("000000000101")))
            #expect(taro == Person(addresseeID: id("000000000101"), name: "山田　太郎", nameKana: "ヤマダ　タロウ",
                                   birthDate: LocalDate(year: 1989, month: 1, day: 7)!, sex: 1, postalCode: "160-0023",
                                   address: "東京都新宿区西新宿2丁目8番1号", addressExtra: "コーポ青葉, 201号室",
                                   status: .resident, statusDate: LocalDate(year: 2015, month: 4, day: 1)!))
            let hanako = try #require(try await store.person(id("000000000102")))
            #expect(hanako.name == "𠮷田　花子")
            #expect(hanako.addressExtra == "ハイツ\"桜\" 別棟 3階")
            #expect(hanako.birthDate == LocalDate(year: 1989, month: 1, day: 8)!)
            #expect(try await store.person(id("000000000103"))?.status == .movedOut)
            #expect(try await store.person(id("7"))?.status == .nonResident)
            #expect(try await store.person(id("0000000007")) == nil)

            #expect(try await store.card(serial: "00ab12cd34ef") == Card(
                cardSerial: "00ab12cd34ef", addresseeID: id("000000000101"),
                validUntil: LocalDate(year: 2030, month: 12, day: 31)!, revoked: false))
            #expect(try await store.card(serial: "00AB12CD34EF")?.addresseeID == id("000000000101"))
            #expect(try await store.card(serial: "ff01")?.revoked == true)
            #expect(try await store.card(serial: "1234567890abcdef1234567890abcdef12345678")?.validUntil
                    == LocalDate(year: 2026, month: 11, day: 21)!)
            #expect(try await store.card(serial: "beef") == nil)

            #expect(try await store.restrictions(for: id("000000000102")) == [
                Restriction(addresseeID: id("000000000102"), kind: .supportMeasure,
                            validFrom: LocalDate(year: 2025, month: 4, day: 1)!, validTo: nil)])
            #expect(try await store.restrictions(for: id("000000000101")) == [
                Restriction(addresseeID: id("000000000101"), kind: .issuanceStop,
                            validFrom: LocalDate(year: 2024, month: 1, day: 1)!,
                            validTo: LocalDate(year: 2024, month: 12, day: 31)!)])

            #expect(try await store.assessment(for: id("000000000101"), year: FiscalYear(2026)) == Assessment(
                fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), status: .taxed, salaryIncome: 5_000_000,
                salaryNet: 3_560_000, pensionIncome: 0, pensionNet: 0, businessNet: 0, otherNet: 12_000,
                totalIncome: 3_572_000, deductionsTotal: 1_180_000, dependents: 1, taxableBase: 2_392_000,
                cityIncomeLevy: 143_500, cityPerCapita: 3_000, prefIncomeLevy: 95_600, prefPerCapita: 1_000))
            #expect(try await store.assessment(for: id("7"), year: FiscalYear(2026))?.status == .nonTaxed)
            #expect(try await store.assessment(for: id("7"), year: FiscalYear(2026))?.pensionIncome == 1_200_000)
            #expect(try await store.assessment(for: id("000000000101"), year: FiscalYear(2021)) == nil)

            let levies = try await store.levies(for: id("000000000101"), year: FiscalYear(2026))
            #expect(levies == [
                Levy(fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), taxItem: .residentTaxOrdinary,
                     noticeNo: "N2026-0001", installment: 1, assessed: 61_100, paid: 61_100,
                     dueDate: LocalDate(year: 2026, month: 6, day: 30)!, paidDate: LocalDate(year: 2026, month: 6, day: 28)!,
                     paymentStatus: .confirmed),
                Levy(fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), taxItem: .residentTaxOrdinary,
                     noticeNo: "N2026-0001", installment: 2, assessed: 60_000, paid: 60_000,
                     dueDate: LocalDate(year: 2026, month: 8, day: 31)!, paidDate: LocalDate(year: 2026, month: 8, day: 31)!,
                     paymentStatus: .provisional),
                Levy(fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), taxItem: .residentTaxOrdinary,
                     noticeNo: "N2026-0001", installment: 3, assessed: 60_000, paid: 0,
                     dueDate: LocalDate(year: 2026, month: 10, day: 31)!, paidDate: nil, paymentStatus: .confirmed),
                Levy(fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"), taxItem: .lightVehicle,
                     noticeNo: "N2026-0002", installment: 0, assessed: 10_800, paid: 10_800,
                     dueDate: LocalDate(year: 2026, month: 5, day: 31)!, paidDate: LocalDate(year: 2026, month: 5, day: 20)!,
                     paymentStatus: .confirmed),
            ])
            #expect(try await store.levies(for: id("000000000101"), year: FiscalYear(2020)).isEmpty)

            #expect(try await store.vehicles(for: id("000000000101"), year: FiscalYear(2026)) == [
                Vehicle(vehicleID: "V1", fiscalYear: FiscalYear(2026), addresseeID: id("000000000101"),
                        vehicleClass: "軽四輪乗用(自家用)", plate: "新宿 580 あ 12-34", chassisNo: "HA36S-123456",
                        assessed: 10_800, paid: 10_800, paidDate: LocalDate(year: 2026, month: 5, day: 20)!,
                        paymentStatus: .confirmed, exempt: false)])
            #expect(try await store.vehicles(for: id("7"), year: FiscalYear(2026)).first?.exempt == true)
            #expect(try await store.vehicles(for: id("7"), year: FiscalYear(2026)).first?.paidDate == nil)
            #expect(try await store.heldFiscalYears() == [FiscalYear(2026), FiscalYear(2025)])

            let freshness = try await store.freshness()
            #expect(freshness.map(\.dataSet) == ["assessments", "cards", "levies", "residents", "restrictions", "vehicles"])
            for f in freshness {
                #expect(f.batchID == "20261122-01")
                #expect(f.extractedAt == ISO8601DateFormatter().date(from: "2026-11-21T17:00:00Z"))
            }
            #expect(freshness.first { $0.dataSet == "levies" }?.rows == 4)

            // What one request reads, in one snapshot: the same rows as the single reads, only of the kind asked for.
            let taroID = id("000000000101")
            let forPayment = try await store.holder(cardSerial: "00AB12CD34EF", kind: .taxPayment, year: FiscalYear(2026))
            #expect(forPayment.card == (try await store.card(serial: "00ab12cd34ef")))
            #expect(forPayment.person == taro)
            #expect(forPayment.restrictions == (try await store.restrictions(for: taroID)))
            #expect(forPayment.levies == levies)
            #expect(forPayment.assessment == nil && forPayment.vehicles.isEmpty)
            let forIncome = try await store.holder(cardSerial: "00ab12cd34ef", kind: .incomeTaxation, year: FiscalYear(2026))
            #expect(forIncome.assessment == (try await store.assessment(for: taroID, year: FiscalYear(2026))))
            #expect(forIncome.assessment != nil && forIncome.levies.isEmpty && forIncome.vehicles.isEmpty)
            let forVehicle = try await store.holder(cardSerial: "00ab12cd34ef", kind: .vehicleInspection, year: FiscalYear(2026))
            #expect(forVehicle.vehicles == (try await store.vehicles(for: taroID, year: FiscalYear(2026))))
            #expect(forVehicle.vehicles.count == 1 && forVehicle.assessment == nil && forVehicle.levies.isEmpty)
            let unknown = try await store.holder(cardSerial: "beef", kind: .taxPayment, year: FiscalYear(2026))
            #expect(unknown.card == nil && unknown.person == nil && unknown.restrictions.isEmpty && unknown.levies.isEmpty)
        }
    }

    @Test("the same batch id twice is a no-op that says so", arguments: StorageTestSupport.backends)
    func reimportIsNoOp(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            _ = try await importer(t.database).importBatch(at: dir)
            let before = try await StorageTestSupport.dump(t.database, tables: StorageTestSupport.taxTables)
            // Even with different content, the same batch id is not applied again.
            try LinkageBatchFixture.replace(dir, "residents.csv", "山田　太郎", with: "山田　三郎")
            try LinkageBatchFixture.rewriteManifest(dir)
            let again = try await importer(t.database).importBatch(at: dir)
            #expect(again.alreadyImported)
            #expect(again.files.isEmpty)
            #expect(again.summary.contains("already imported"))
            #expect(try await StorageTestSupport.dump(t.database, tables: StorageTestSupport.taxTables) == before)
        }
    }

    @Test("full-snapshot semantics: listed files are replaced, unlisted ones keep their data", arguments: StorageTestSupport.backends)
    func snapshotSemantics(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            _ = try await importer(t.database).importBatch(at: dir)
            // Second batch lists only cards.csv, with one card fewer.
            try LinkageBatchFixture.write(dir, "cards.csv", Array("card_serial,addressee_id,valid_until,revoked\nff01,000000000102,2027-01-01,0\n".utf8))
            try LinkageBatchFixture.rewriteManifest(dir, fields: ["batch_id": "20261123-01", "extracted_at": "2026-11-23T02:00:00+09:00"],
                                                    rows: ["cards.csv": 1],
                                                    drop: ["residents.csv", "restrictions.csv", "assessments.csv", "levies.csv", "vehicles.csv"])
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.files.map(\.file) == ["cards.csv"])
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.card(serial: "00ab12cd34ef") == nil)
            #expect(try await store.card(serial: "ff01")?.revoked == false)
            #expect(try await store.person(id("000000000101")) != nil)
            #expect(try await store.levies(for: id("000000000101"), year: FiscalYear(2026)).count == 4)
            let fresh = Dictionary(uniqueKeysWithValues: try await store.freshness().map { ($0.dataSet, $0.batchID) })
            #expect(fresh["cards"] == "20261123-01")
            #expect(fresh["residents"] == "20261122-01")
            #expect(try await store.importedBatches() == ["20261122-01", "20261123-01"])
        }
    }

    @Test("a Shift_JIS (CP932) batch imports", arguments: StorageTestSupport.backends)
    func shiftJIS(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("shift_jis")
            defer { LinkageBatchFixture.remove(dir) }
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.totalRows == 21)
            let store = SQLTaxDataStore(database: t.database)
            #expect(try await store.person(id("000000000102"))?.name == "吉田　花子")
            #expect(try await store.person(id("000000000102"))?.addressExtra == "ハイツ\"桜\" 別棟 3階")
            #expect(try await store.vehicles(for: id("000000000101"), year: FiscalYear(2026)).first?.plate == "新宿 580 あ 12-34")
        }
    }
}
