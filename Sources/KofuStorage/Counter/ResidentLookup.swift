import Foundation
import KofuDomain
import SQLKit

/// Finding a resident at the counter: by 宛名番号, or by name (kanji or kana) and birth date.
public struct ResidentLookup: Sendable {
    public let database: KofuDatabase
    public init(database: KofuDatabase) { self.database = database }

    /// Everything the counter shows about one person, read from one snapshot.
    public struct Found: Sendable {
        public var person: Person
        public var restrictions: [Restriction]
        public var cards: [Card]
    }

    public func find(_ id: AddresseeID) async throws -> Found? {
        try await database.snapshot { db in
            guard let person = try await SQLTaxDataStore.person(id, on: db) else { return nil }
            return Found(person: person, restrictions: try await SQLTaxDataStore.restrictions(for: id, on: db),
                         cards: try await Self.cards(for: id, on: db))
        }
    }

    /// People born on `birthDate` whose kanji or kana name is `name` (spaces, full- or half-width, ignored;
    /// hiragana matches katakana).
    public func search(name: String, birthDate: LocalDate) async throws -> [Person] {
        let wanted = Self.normalized(name)
        guard !wanted.isEmpty else { return [] }
        return try await database.snapshot { db in
            let rows = try await db.raw("""
                SELECT addressee_id, name, name_kana FROM tax_residents WHERE birth_date = \(bind: birthDate.iso)
                """).all()
            var people: [Person] = []
            for row in rows {
                let names = [try row.decode(column: "name", as: String.self), try row.decode(column: "name_kana", as: String.self)]
                guard names.map(Self.normalized).contains(wanted),
                      let id = AddresseeID(try row.decode(column: "addressee_id", as: String.self)),
                      let person = try await SQLTaxDataStore.person(id, on: db) else { continue }
                people.append(person)
            }
            return people.sorted { $0.addresseeID < $1.addresseeID }
        }
    }

    static func cards(for id: AddresseeID, on db: any SQLDatabase) async throws -> [Card] {
        try await db.raw("SELECT card_serial FROM tax_cards WHERE addressee_id = \(bind: id.value)").all()
            .map { try $0.decode(column: "card_serial", as: String.self) }
            .sorted()
            .asyncCompactMap { try await SQLTaxDataStore.card(serial: $0, on: db) }
    }

    /// Without spaces, katakana for hiragana.
    static func normalized(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.compactMap { s -> Unicode.Scalar? in
            if s == " " || s == "\u{3000}" { return nil }
            if (0x3041...0x3096).contains(s.value) { return Unicode.Scalar(s.value + 0x60) }
            return s
        }))
    }
}

extension Sequence where Element: Sendable {
    func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var out: [T] = []
        for element in self { if let t = try await transform(element) { out.append(t) } }
        return out
    }
}
