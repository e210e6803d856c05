import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

@Suite("Sample batch generator")
struct SampleBatchGeneratorTests {
    @Test("a generated batch imports cleanly and every demo case is what demo-cards.json says", arguments: StorageTestSupport.backends)
    func demoCases(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
            defer { LinkageBatchFixture.remove(dir) }
            let summary = try SampleBatchGenerator(people: 500, seed: 42, today: fixtureToday).write(to: dir)
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.totalRows == summary.totalRows)
            #expect(summary.fiscalYears == [2023, 2024, 2025, 2026])

            let decoded = try JSONDecoder().decode(SampleBatchSummary.self,
                                                   from: Data(contentsOf: URL(fileURLWithPath: dir + "/demo-cards.json")))
            #expect(decoded == summary)
            let md = try String(contentsOfFile: dir + "/demo-cards.md", encoding: .utf8)
            let store = SQLTaxDataStore(database: t.database)
            var cases: [String: SampleDemoCard] = [:]
            for card in summary.demoCards {
                cases[card.caseName] = card
                #expect(md.contains(card.cardSerial))
            }
            func person(_ c: String) async throws -> Person {
                try #require(try await store.person(AddresseeID(cases[c]!.addresseeID)!))
            }
            func card(_ c: String) async throws -> Card? { try await store.card(serial: cases[c]!.cardSerial) }
            let latest = FiscalYear(2026)
            #expect(try await person("moved_out").status == .movedOut)
            #expect(try await person("deceased").status == .deceased)
            #expect(try await person("moved_in_today").statusDate == fixtureToday)
            #expect(try await person("unprintable_name_character").name.unicodeScalars.contains { $0.value == 0x20BB7 })
            #expect(try await person("birthday_1989_01_07").birthDate == LocalDate(year: 1989, month: 1, day: 7))
            #expect(try await person("birthday_1989_01_08").birthDate == LocalDate(year: 1989, month: 1, day: 8))
            #expect(try await person("birthday_2019_04_30").birthDate == LocalDate(year: 2019, month: 4, day: 30))
            #expect(try await person("birthday_2019_05_01").birthDate == LocalDate(year: 2019, month: 5, day: 1))
            #expect(try await card("revoked_card")?.revoked == true)
            #expect(try await card("expired_card").map { $0.validUntil < fixtureToday } == true)
            #expect(try await card("unknown_card") == nil)
            #expect(try await card("ordinary")?.revoked == false)
            let support = try await store.restrictions(for: AddresseeID(cases["support_measure"]!.addresseeID)!)
            #expect(support.contains { $0.kind == .supportMeasure && $0.isActive(on: fixtureToday) })
            let stop = try await store.restrictions(for: AddresseeID(cases["issuance_stop"]!.addresseeID)!)
            #expect(stop.contains { $0.kind == .issuanceStop && $0.isActive(on: fixtureToday) })
            let ended = try await store.restrictions(for: AddresseeID(cases["ended_support_measure"]!.addresseeID)!)
            #expect(!ended.isEmpty && ended.allSatisfy { !$0.isActive(on: fixtureToday) })

            let unpaidID = AddresseeID(cases["unpaid_past_due"]!.addresseeID)!
            let unpaid = try await store.levies(for: unpaidID, year: FiscalYear(2025))
            #expect(unpaid.contains { $0.unpaid > 0 && $0.dueDate < fixtureToday })
            let provisional = try await store.levies(for: AddresseeID(cases["provisional_payment"]!.addresseeID)!, year: FiscalYear(2025))
            #expect(provisional.contains { $0.paymentStatus == .provisional })
            #expect(try await store.assessment(for: AddresseeID(cases["non_taxed"]!.addresseeID)!, year: latest)?.status == .nonTaxed)
            let many = try await store.levies(for: AddresseeID(cases["five_items_twelve_installments"]!.addresseeID)!, year: latest)
            #expect(many.count == 60)
            #expect(Set(many.map(\.taxItem)).count == 5)
            let ordinary = AddresseeID(cases["ordinary"]!.addresseeID)!
            #expect(try await store.assessment(for: ordinary, year: latest)?.status == .taxed)
            #expect(try await store.vehicles(for: ordinary, year: latest).allSatisfy { $0.paid >= $0.assessed })
            #expect(try await store.vehicles(for: AddresseeID(cases["vehicle_tax_unpaid"]!.addresseeID)!, year: latest)
                .contains { $0.paid < $0.assessed })
            #expect(try await store.vehicles(for: AddresseeID(cases["vehicle_tax_provisional"]!.addresseeID)!, year: latest)
                .contains { $0.paymentStatus == .provisional })
            // Ordinary people are ordinary: no past-due tax among them.
            #expect(try await store.levies(for: ordinary, year: FiscalYear(2025)).allSatisfy { $0.unpaid == 0 })
        }
    }

    @Test("the same seed gives the same files; another seed does not")
    func deterministic() throws {
        let a = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        let b = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        let c = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        defer { for d in [a, b, c] { LinkageBatchFixture.remove(d) } }
        try SampleBatchGenerator(people: 100, seed: 9, today: fixtureToday).write(to: a)
        try SampleBatchGenerator(people: 100, seed: 9, today: fixtureToday).write(to: b)
        try SampleBatchGenerator(people: 100, seed: 10, today: fixtureToday).write(to: c)
        let ma = try LinkageBatchFixture.read(a, "manifest.json")
        #expect(ma == (try LinkageBatchFixture.read(b, "manifest.json")))
        #expect(ma != (try LinkageBatchFixture.read(c, "manifest.json")))
    }

    @Test("too few people or a bad municipality code is refused")
    func refusals() throws {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        defer { LinkageBatchFixture.remove(dir) }
        #expect(throws: SampleBatchError.self) { try SampleBatchGenerator(people: 3, today: fixtureToday).write(to: dir) }
        #expect(throws: SampleBatchError.self) {
            try SampleBatchGenerator(people: 100, today: fixtureToday, municipalityCode: "131042").write(to: dir)
        }
    }
}
