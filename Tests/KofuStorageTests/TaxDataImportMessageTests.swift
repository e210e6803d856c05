import Foundation
import KofuStorage
import KofuStorageTestSupport
import Testing

/// One precise message per root cause (issue 11, item 17).
@Suite("Linkage import: one message per cause")
struct TaxDataImportMessageTests {
    typealias F = LinkageBatchFixture

    @Test("a row count above the file's points at the manifest key with both counts, without guessing truncation",
          arguments: StorageTestSupport.backends)
    func rowCountHigherInFile(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            try F.rewriteManifest(dir, rows: ["cards.csv": 2])
            let p = try F.position(of: "\"rows\"", in: dir, "manifest.json", after: "\"cards.csv\"")
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description)
                    == ["manifest.json:\(p.line):\(p.column): files.cards.csv.rows: the manifest lists 2 data rows, cards.csv has 3"])
        }
    }

    @Test("a missing column in residents.csv is one message, not one per reference to a resident",
          arguments: StorageTestSupport.backends)
    func missingColumnOnce(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            try F.replace(dir, "residents.csv", "status_date", with: "status_dt")
            try F.rewriteManifest(dir)
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == ["residents.csv:1:1: missing required column status_date"])
        }
    }

    @Test("an unclosed quote is one message at the quote, not one per following line", arguments: StorageTestSupport.backends)
    func unclosedQuoteOnce(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            // 300 more residents, each with a quoted 方書, after the first one lost its closing quote: every quote
            // after it pairs up wrongly.
            var text = String(decoding: try F.read(dir, "residents.csv"), as: UTF8.self)
            text = text.replacingOccurrences(of: "\"コーポ青葉, 201号室\"", with: "\"コーポ青葉, 201号室")
            for i in 0..<300 {
                text += "9\(String(format: "%05d", i)),山田　一,ヤマダ　ハジメ,1980-01-01,1,160-0023,東京都新宿区,\"棟, \(i)号室\",resident,2015-04-01,\r\n"
            }
            try F.write(dir, "residents.csv", Array(text.utf8))
            try F.rewriteManifest(dir, rows: ["residents.csv": 304])
            let p = try F.position(of: "\"コーポ青葉", in: dir, "residents.csv")
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.count == 1, "\(rejection.description)")
            let problem = try #require(rejection.problems.first)
            #expect((problem.file, problem.line, problem.column) == ("residents.csv", p.line, p.column))
            #expect(problem.message.hasPrefix("unclosed quote? the quoted field that starts here runs on to line 3"))
        }
    }

    @Test("CR-only line ends are one message at the first CR", arguments: StorageTestSupport.backends)
    func loneCROnce(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            let text = String(decoding: try F.read(dir, "residents.csv"), as: UTF8.self)
            let header = text.prefix { $0 != "\r\n" && $0 != "\n" }
            try F.write(dir, "residents.csv", Array(text.replacingOccurrences(of: "\r\n", with: "\r")
                .replacingOccurrences(of: "\n", with: "\r").utf8))
            try F.rewriteManifest(dir)
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == [
                "residents.csv:1:\(header.unicodeScalars.count + 1): a line ends with a lone CR (carriage return without line feed); "
                    + "linkage files end lines with LF or CRLF; the rest of the file was not checked",
            ])
        }
    }

    @Test("blank lines at the end of a file are accepted (LF and CRLF)", arguments: StorageTestSupport.backends)
    func trailingBlankLines(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            try F.write(dir, "cards.csv", try F.read(dir, "cards.csv") + Array("\n\n".utf8))
            try F.write(dir, "residents.csv", try F.read(dir, "residents.csv") + Array("\r\n\r\n\r\n".utf8))
            try F.rewriteManifest(dir)
            let report = try await importer(t.database).importBatch(at: dir)
            #expect(report.files.first { $0.file == "cards.csv" }?.rows == 3)
            #expect(report.files.first { $0.file == "residents.csv" }?.rows == 4)
        }
    }

    @Test("a blank line between records is one message", arguments: StorageTestSupport.backends)
    func blankLineInside(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            try F.replace(dir, "cards.csv", "2030-12-31,0\n", with: "2030-12-31,0\n\n\n")
            try F.rewriteManifest(dir)
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description)
                    == ["cards.csv:3:1: a blank line between records (blank lines are ignored only at the end of the file)"])
        }
    }

    @Test("a line break inside a quoted field is refused for what it is, at the line break", arguments: StorageTestSupport.backends)
    func lineBreakInQuotedField(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try F.copy("good")
            defer { F.remove(dir) }
            try F.replace(dir, "residents.csv", "東京都新宿区西新宿2丁目8番1号", with: "\"東京都新宿区西新宿2丁目\n8番1号\"")
            try F.rewriteManifest(dir)
            let p = try F.position(of: "\n8番1号", in: dir, "residents.csv")
            let rejection = try await expectRefused(t.database, dir)
            #expect(rejection.problems.map(\.description) == [
                "residents.csv:\(p.line):\(p.column): address: a line break inside the quoted field; "
                    + "address is printed on one line of a certificate, so it may not contain one",
            ])
        }
    }
}
