import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// One kind of broken batch: how to break a copy of the good fixture, and the exact problem expected.
enum BadBatch: String, CaseIterable, CustomStringConvertible, Sendable {
    case digestMismatch, truncatedUnchangedManifest, wrongMunicipality, badCheckDigit, missingColumn, badDate
    case negativeAmount, unknownAddressee, duplicateKey, truncatedRecord, unterminatedQuote, rowCountMismatch
    case invalidShiftJISByte, badEnum

    var description: String { rawValue }

    /// Breaks the batch in `dir`; returns the problem that must be reported (file, line, column, message part).
    func apply(_ dir: String) throws -> (file: String, line: Int, column: Int, message: String) {
        typealias F = LinkageBatchFixture
        func newID() throws { try F.rewriteManifest(dir, fields: ["batch_id": "bad-\(rawValue)"]) }
        switch self {
        case .digestMismatch:
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-digest"])
            try F.replace(dir, "residents.csv", "山田　太郎", with: "山田　太朗")
            let p = try F.position(of: "\"sha256\"", in: dir, "manifest.json", after: "\"residents.csv\"")
            return ("manifest.json", p.line, p.column, "files.residents.csv.sha256: the file's SHA-256 does not match")
        case .truncatedUnchangedManifest:
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-truncated"])
            let bytes = try F.read(dir, "levies.csv")
            try F.write(dir, "levies.csv", Array(bytes.prefix(bytes.count / 2)))
            let p = try F.position(of: "\"sha256\"", in: dir, "manifest.json", after: "\"levies.csv\"")
            return ("manifest.json", p.line, p.column, "levies.csv.sha256: the file's SHA-256 does not match (altered or truncated file)")
        case .wrongMunicipality:
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-muni", "municipality_code": "151009"])
            let p = try F.position(of: "\"municipality_code\"", in: dir, "manifest.json")
            return ("manifest.json", p.line, p.column, "the batch is for municipality 151009, this server serves 131041")
        case .badCheckDigit:
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-check", "municipality_code": "131042"])
            let p = try F.position(of: "\"municipality_code\"", in: dir, "manifest.json")
            return ("manifest.json", p.line, p.column, "not a 6-digit municipality code with a valid check digit")
        case .missingColumn:
            try F.replace(dir, "residents.csv", "birth_date", with: "birthday")
            try newID()
            return ("residents.csv", 1, 1, "missing required column birth_date")
        case .badDate:
            try F.replace(dir, "levies.csv", "2026-08-31,2026-08-31", with: "2026-08-31,2026-02-30")
            try newID()
            let p = try F.position(of: "2026-02-30", in: dir, "levies.csv")
            #expect(p.line == 3)
            return ("levies.csv", p.line, p.column, "paid_date: expected a valid YYYY-MM-DD date or nothing")
        case .negativeAmount:
            try F.replace(dir, "assessments.csv", "143500", with: "-143500")
            try newID()
            let p = try F.position(of: "-143500", in: dir, "assessments.csv")
            return ("assessments.csv", p.line, p.column, "city_income_levy: expected a non-negative whole number of yen")
        case .unknownAddressee:
            try F.replace(dir, "cards.csv", "000000000102,ff01", with: "000000000199,ff01")
            try newID()
            return ("cards.csv", 3, 1, "addressee_id: no such addressee in residents")
        case .duplicateKey:
            var text = String(decoding: try F.read(dir, "levies.csv"), as: UTF8.self)
            text += "2026,000000000101,01,N2026-0001,2,1,1,2026-08-31,2026-08-31,confirmed\n"
            try F.write(dir, "levies.csv", Array(text.utf8))
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-dup"], rows: ["levies.csv": 6])
            return ("levies.csv", 7, 6, "duplicate key (addressee_id, fiscal_year, tax_item, notice_no, installment)")
        case .truncatedRecord:
            // The file was cut mid-record and the manifest computed over the cut file: the record is short.
            let bytes = try F.read(dir, "vehicles.csv")
            let cut = Array(bytes.prefix(bytes.count - 12))
            try F.write(dir, "vehicles.csv", cut)
            try newID()
            let lastLine = String(decoding: cut, as: UTF8.self).split(separator: "\n").last!
            return ("vehicles.csv", 4, lastLine.unicodeScalars.count + 1, "the record has 10 fields, the header has 11")
        case .unterminatedQuote:
            var text = String(decoding: try F.read(dir, "restrictions.csv"), as: UTF8.self)
            text += "000000000101,\"counter_only,2026-01-01,\n"
            try F.write(dir, "restrictions.csv", Array(text.utf8))
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-quote"], rows: ["restrictions.csv": 3])
            return ("restrictions.csv", 4, 14, "the file ends inside the quoted field that starts here")
        case .rowCountMismatch:
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-rows"], rows: ["cards.csv": 4])
            let p = try F.position(of: "\"rows\"", in: dir, "manifest.json", after: "\"cards.csv\"")
            return ("manifest.json", p.line, p.column, "files.cards.csv.rows: the manifest lists 4 data rows, cards.csv has 3 (truncated file?)")
        case .invalidShiftJISByte:
            // A CP932 batch with a byte (0x80) that is not valid Shift_JIS in the middle of line 2's address.
            let sjis = F.fixturesDirectory + "/shift_jis"
            for f in ["residents.csv", "cards.csv", "restrictions.csv", "assessments.csv", "levies.csv", "vehicles.csv", "manifest.json"] {
                try F.write(dir, f, try F.read(sjis, f))
            }
            let good = F.fixturesDirectory + "/good"
            let p = try F.position(of: "東京都新宿区西新宿", in: good, "residents.csv")
            var bytes = try F.read(dir, "residents.csv")
            let marker: [UInt8] = [0x93, 0x8C, 0x8B, 0x9E] // 東京 in CP932
            let at = (0..<bytes.count).first { Array(bytes[$0..<min(bytes.count, $0 + 4)]) == marker }!
            bytes.insert(0x80, at: at)
            try F.write(dir, "residents.csv", bytes)
            try F.rewriteManifest(dir, fields: ["batch_id": "bad-sjis"])
            return ("residents.csv", p.line, p.column, "invalid Shift_JIS byte sequence (0x80)")
        case .badEnum:
            try F.replace(dir, "levies.csv", "provisional", with: "pending")
            try newID()
            let p = try F.position(of: "pending", in: dir, "levies.csv")
            return ("levies.csv", p.line, p.column, "payment_status: expected one of confirmed, provisional")
        }
    }
}

@Suite("Bad linkage batches")
struct TaxDataBadBatchTests {
    @Test("a bad batch fails with a precise file:line:column message and changes nothing",
          arguments: StorageTestSupport.backends, BadBatch.allCases)
    func rejected(_ backend: TestBackend, _ bad: BadBatch) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            // The data in force is a day older than the broken batches, so the ordering rule lets them be checked.
            let good = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(good) }
            try LinkageBatchFixture.rewriteManifest(good, fields: ["batch_id": "20261121-01", "extracted_at": "2026-11-21T02:00:00+09:00"])
            _ = try await importer(t.database).importBatch(at: good)
            let before = try await StorageTestSupport.dump(t.database, tables: StorageTestSupport.taxTables)

            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            let expected = try bad.apply(dir)
            let rejection = try await #require(throws: LinkageRejection.self) {
                try await importer(t.database).importBatch(at: dir)
            }
            let match = rejection.problems.first {
                $0.file == expected.file && $0.line == expected.line && $0.column == expected.column
                    && $0.message.contains(expected.message)
            }
            #expect(match != nil, "expected \(expected.file):\(expected.line):\(expected.column): \(expected.message); got \(rejection.description)")
            #expect(rejection.description.contains("\(expected.file):\(expected.line):\(expected.column): "))
            #expect(try await StorageTestSupport.dump(t.database, tables: StorageTestSupport.taxTables) == before)
        }
    }

    @Test("every problem is reported, not only the first", arguments: StorageTestSupport.backends)
    func allProblems(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            try LinkageBatchFixture.replace(dir, "residents.csv", "1950-03-31", with: "1950-3-31")
            try LinkageBatchFixture.replace(dir, "cards.csv", ",0\n", with: ",2\n")
            try LinkageBatchFixture.replace(dir, "vehicles.csv", "10800,10800", with: "10800,x")
            try LinkageBatchFixture.rewriteManifest(dir)
            let rejection = try await #require(throws: LinkageRejection.self) {
                try await importer(t.database).importBatch(at: dir)
            }
            #expect(rejection.problems.map(\.file) == ["residents.csv", "cards.csv", "vehicles.csv"])
            #expect(rejection.problems.map(\.line) == [6, 2, 2])
            #expect(!rejection.stoppedAtCap)
            #expect(try await SQLTaxDataStore(database: t.database).heldFiscalYears().isEmpty)
            // Messages never echo the offending value (it is personal data).
            #expect(!rejection.description.contains("1950-3-31"))
            let json = try JSONEncoder().encode(rejection)
            let decoded = try JSONDecoder().decode(LinkageRejection.self, from: json)
            #expect(decoded.problems == rejection.problems)
        }
    }

    @Test("the problem list is capped", arguments: [TestBackend.sqlite])
    func capped(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            var text = "addressee_id,kind,valid_from,valid_to\n"
            for _ in 0..<50 { text += "000000000101,nonsense,2026-01-01,\n" }
            try LinkageBatchFixture.write(dir, "restrictions.csv", Array(text.utf8))
            try LinkageBatchFixture.rewriteManifest(dir, rows: ["restrictions.csv": 50])
            let rejection = try await #require(throws: LinkageRejection.self) {
                try await LinkageImporter(database: t.database, municipalityCode: "131041",
                                          retention: RetentionWindow(years: 4, today: fixtureToday), maxProblems: 10)
                    .importBatch(at: dir)
            }
            #expect(rejection.problems.count == 10)
            #expect(rejection.stoppedAtCap)
        }
    }
}
