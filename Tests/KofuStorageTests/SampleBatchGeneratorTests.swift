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
            #expect(md == SampleBatchGenerator.demoCardsMarkdown(summary))
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
            // 新宿区 is a 特別区: every item but the 固定資産税 (a 都税); 4 + 12 + 1 + 10 installments.
            #expect(many.count == 27)
            #expect(Set(many.map(\.taxItem)) == [.residentTaxOrdinary, .residentTaxSpecial, .lightVehicle, .nationalHealthInsurance])
            let ordinary = AddresseeID(cases["ordinary"]!.addresseeID)!
            #expect(try await store.assessment(for: ordinary, year: latest)?.status == .taxed)
            #expect(try await store.vehicles(for: ordinary, year: latest).allSatisfy { $0.paid >= $0.assessed })
            #expect(try await store.vehicles(for: AddresseeID(cases["vehicle_tax_unpaid"]!.addresseeID)!, year: latest)
                .contains { $0.paid < $0.assessed })
            #expect(try await store.vehicles(for: AddresseeID(cases["vehicle_tax_provisional"]!.addresseeID)!, year: latest)
                .contains { $0.paymentStatus == .provisional })
            // Ordinary people are ordinary: no past-due tax among them.
            #expect(try await store.levies(for: ordinary, year: FiscalYear(2025)).allSatisfy { $0.unpaid == 0 })

            // The data behind the stated answers: the taxed get no 非課税証明書, the non-taxed have nothing levied.
            for c in ["ended_support_measure", "birthday_1989_01_07", "birthday_1989_01_08"] {
                #expect(try await store.assessment(for: AddresseeID(cases[c]!.addresseeID)!, year: latest)?.status == .taxed, "\(c)")
            }
            for c in ["non_taxed", "birthday_2019_04_30", "birthday_2019_05_01"] {
                let id = AddresseeID(cases[c]!.addresseeID)!
                #expect(try await store.assessment(for: id, year: latest)?.status == .nonTaxed, "\(c)")
                #expect(try await store.levies(for: id, year: latest).isEmpty, "\(c)")
            }
            // 継続検査用 asks for the person's own plate where there is a vehicle, and for a plate on no one's file otherwise.
            for card in summary.demoCards {
                for e in card.expectations where e.kind == .vehicleInspection {
                    let plate = try #require(e.vehiclePlate, "\(card.caseName)")
                    let id = AddresseeID(card.addresseeID)!
                    let own = try await store.vehicles(for: id, year: FiscalYear(e.fiscalYear)).map(\.plate)
                    let hasVehicle = ["ordinary", "five_items_twelve_installments", "vehicle_tax_unpaid", "vehicle_tax_provisional",
                                      "motorcycle_125_250cc"]
                        .contains(card.caseName)
                    #expect(own.contains(plate) == hasVehicle, "\(card.caseName)")
                    #expect(!hasVehicle ? plate.contains(" 999 ") : !plate.contains(" 999 "), "\(card.caseName)")
                }
            }
        }
    }

    @Test("every listed card states an answer for every certificate kind, in demo-cards.json and as a table in demo-cards.md")
    func statedAnswers() throws {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-sample")
        defer { LinkageBatchFixture.remove(dir) }
        let summary = try SampleBatchGenerator(people: 40, seed: 5, today: fixtureToday).write(to: dir)
        #expect(summary.demoCards.count == SampleBatchGenerator.minimumPeople - 1, "every case but non_resident (no card)")
        for card in summary.demoCards {
            let years = Set(card.expectations.map(\.fiscalYear))
            #expect(years.contains(2026), "\(card.caseName)")
            for year in years {
                let kinds = card.expectations.filter { $0.fiscalYear == year }.map(\.kind)
                #expect(kinds == CertificateKind.allCases, "\(card.caseName) \(year)")
            }
            #expect(card.expectations.allSatisfy { ($0.kind == .vehicleInspection) == ($0.vehiclePlate != nil) }, "\(card.caseName)")
        }
        func answers(_ c: String, _ year: Int = 2026) -> [CertificateKind: SampleDemoOutcome] {
            let card = summary.demoCards.first { $0.caseName == c }!
            return Dictionary(uniqueKeysWithValues: card.expectations.filter { $0.fiscalYear == year }.map { ($0.kind, $0.outcome) })
        }
        // The three promises issue 11 item 18 found false, now stated as the server answers.
        #expect(answers("ordinary")[.nonTaxation] == .refused(.notAssessed))
        #expect(answers("birthday_2019_04_30")[.taxPayment] == .issued)
        #expect(answers("non_taxed")[.taxPayment] == .issued)
        #expect(answers("non_taxed")[.nonTaxation] == .issued)
        #expect(answers("unpaid_past_due", 2025)[.taxPayment] == .refused(.unpaidTax))
        #expect(answers("unpaid_past_due")[.taxPayment] == .issued)

        // JSON: outcome issued, or refused with the kiosk's error code.
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/demo-cards.json"))) as? [String: Any]
        let cards = try #require(json?["cards"] as? [[String: Any]])
        let ordinary = try #require(cards.first { $0["case"] as? String == "ordinary" })
        let expectations = try #require(ordinary["expectations"] as? [[String: Any]])
        let nonTaxation = try #require(expectations.first { $0["kind"] as? String == "non_taxation" })
        #expect(nonTaxation["outcome"] as? String == "refused")
        #expect(nonTaxation["error_code"] as? String == "NOT_ASSESSED")
        #expect(nonTaxation["fiscal_year"] as? Int == 2026)
        let vehicle = try #require(expectations.first { $0["kind"] as? String == "vehicle_inspection" })
        #expect(vehicle["outcome"] as? String == "issued")
        #expect(vehicle["error_code"] == nil)
        #expect(vehicle["vehicle_plate"] is String)
        let bad = #"{"kind":"tax_payment","fiscal_year":2026,"outcome":"maybe"}"#
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SampleDemoExpectation.self, from: Data(bad.utf8)) }

        // Markdown: one row per card and year, the kinds by their Japanese names.
        let md = try String(contentsOfFile: dir + "/demo-cards.md", encoding: .utf8)
        #expect(md.contains("| case | card_serial | 年度 | 納税証明書 | 所得・課税証明書 | 非課税証明書 | 軽自動車税（種別割）納税証明書（継続検査用） | vehicle_plate |"))
        let serial = summary.demoCards.first { $0.caseName == "ordinary" }!.cardSerial
        let plate = try #require(vehicle["vehicle_plate"] as? String)
        #expect(md.contains("| ordinary | `\(serial)` | 2026 (令和8年度) | 交付 | 交付 | 拒否 NOT_ASSESSED | 交付 | `\(plate)` |"))
        let unpaid = summary.demoCards.first { $0.caseName == "unpaid_past_due" }!.cardSerial
        #expect(md.contains("| unpaid_past_due | `\(unpaid)` | 2025 (令和7年度) | 拒否 UNPAID_TAX | 交付 | 拒否 NOT_ASSESSED | 拒否 NO_VEHICLE |"))
        let rows = md.split(separator: "\n").filter { $0.hasPrefix("| ") && $0.contains("年度) |") }
        #expect(rows.count == summary.demoCards.reduce(0) { $0 + Set($1.expectations.map(\.fiscalYear)).count })
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
        for file in ["demo-cards.json", "demo-cards.md"] {
            #expect(try LinkageBatchFixture.read(a, file) == (try LinkageBatchFixture.read(b, file)), "\(file)")
        }
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
