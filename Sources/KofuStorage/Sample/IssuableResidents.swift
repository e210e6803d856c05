import KofuDomain
import SQLKit

/// A resident who can be issued an 所得・課税証明書 for a year: for load tests and benchmarks, which need many
/// distinct requesters that every refusal rule lets through.
public struct IssuableResident: Sendable {
    public var cardSerial: String
    public var addresseeID: String
    public var name: String
    public var address: String
}

extension KofuDatabase {
    /// Residents with an unexpired, unrevoked card, no restriction, not moved in today, an assessment for
    /// `year`, and a name the font can print (the sample batch's 𠮷 case is left out), by addressee id.
    public func issuableResidents(limit: Int, year: Int, today: LocalDate = .todayInJapan()) async throws -> [IssuableResident] {
        try await read { db in
            try await db.raw("""
                SELECT c.card_serial AS card, r.addressee_id AS id, r.name AS name, r.address AS address
                FROM tax_cards c JOIN tax_residents r ON r.addressee_id = c.addressee_id
                WHERE r.status = 'resident' AND c.revoked = 0 AND c.valid_until >= \(bind: today.iso) AND r.status_date < \(bind: today.iso)
                  AND r.name NOT LIKE '%𠮷%'
                  AND NOT EXISTS (SELECT 1 FROM tax_restrictions t WHERE t.addressee_id = r.addressee_id)
                  AND EXISTS (SELECT 1 FROM tax_assessments a WHERE a.addressee_id = r.addressee_id AND a.fiscal_year = \(bind: year))
                ORDER BY r.addressee_id LIMIT \(bind: limit)
                """).all().map {
                IssuableResident(cardSerial: try $0.decode(column: "card", as: String.self),
                                 addresseeID: try $0.decode(column: "id", as: String.self),
                                 name: try $0.decode(column: "name", as: String.self),
                                 address: try $0.decode(column: "address", as: String.self))
            }
        }
    }
}
