import Foundation
import KofuStorage
import KofuStorageTestSupport
import Testing

/// An invisible control or format character slipped into a text field.
struct ControlCharacterCase: CustomStringConvertible, Sendable {
    var file: String
    var column: String
    /// Text in the fixture the character is inserted after.
    var after: String
    var scalar: Unicode.Scalar
    var expected: String

    var description: String { "\(expected) in \(file) \(column)" }

    static let all: [ControlCharacterCase] = [
        // The probe's case: a right-to-left override in a name.
        .init(file: "residents.csv", column: "name", after: "山田", scalar: "\u{202E}", expected: "U+202E RIGHT-TO-LEFT OVERRIDE"),
        .init(file: "residents.csv", column: "name_kana", after: "ヤマダ", scalar: "\u{2066}", expected: "U+2066 LEFT-TO-RIGHT ISOLATE"),
        .init(file: "residents.csv", column: "address", after: "西新宿", scalar: "\u{200B}", expected: "U+200B ZERO WIDTH SPACE"),
        // Inside quoted fields, after an escaped "" pair: the column counts the file's characters.
        .init(file: "residents.csv", column: "address_extra", after: "コーポ青葉,", scalar: "\u{FEFF}", expected: "U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        .init(file: "residents.csv", column: "address_extra", after: "ハイツ\"\"桜\"\"", scalar: "\u{061C}", expected: "U+061C ARABIC LETTER MARK"),
        .init(file: "vehicles.csv", column: "plate", after: "新宿 580", scalar: "\u{0085}", expected: "U+0085 NEXT LINE"),
        .init(file: "vehicles.csv", column: "chassis_no", after: "HA36S", scalar: "\u{E0001}", expected: "U+E0001 LANGUAGE TAG"),
        .init(file: "levies.csv", column: "notice_no", after: "N2026", scalar: "\t", expected: "U+0009 CHARACTER TABULATION"),
        .init(file: "residents.csv", column: "name", after: "佐藤", scalar: "\u{1B}", expected: "U+001B ESCAPE"),
        .init(file: "vehicles.csv", column: "vehicle_class", after: "軽四輪", scalar: "\u{00AD}", expected: "U+00AD SOFT HYPHEN"),
    ]
}

@Suite("Linkage import: control and format characters in text")
struct TaxDataTextControlTests {
    @Test("bidi controls, zero-width and other format characters and C0/C1 controls are refused where they are",
          arguments: StorageTestSupport.backends, ControlCharacterCase.all)
    func refused(_ backend: TestBackend, _ c: ControlCharacterCase) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            try await importBaseline(t.database)
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            try LinkageBatchFixture.replace(dir, c.file, c.after, with: c.after + String(Character(c.scalar)))
            try LinkageBatchFixture.rewriteManifest(dir)
            let p = try LinkageBatchFixture.position(of: String(Character(c.scalar)), in: dir, c.file)
            let rejection = try await expectRefused(t.database, dir)
            let kind = c.scalar.properties.generalCategory == .format ? "an invisible format character" : "a control character"
            #expect(rejection.problems.map(\.description) == ["\(c.file):\(p.line):\(p.column): \(c.column): \(c.expected) is not allowed (\(kind))"])
        }
    }

    @Test("the same characters in an ignored column are not looked at", arguments: StorageTestSupport.backends)
    func ignoredColumn(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let dir = try LinkageBatchFixture.copy("good")
            defer { LinkageBatchFixture.remove(dir) }
            // residents.csv's `note` column is not part of the format.
            try LinkageBatchFixture.replace(dir, "residents.csv", "note line one", with: "note\u{202E} line\tone")
            try LinkageBatchFixture.rewriteManifest(dir)
            _ = try await importer(t.database).importBatch(at: dir)
        }
    }
}
