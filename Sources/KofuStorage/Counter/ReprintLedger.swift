import Foundation
import KofuDomain
import SQLKit

/// Ledger columns for reprints (再交付), the content digest they are checked against, and the indexes the
/// counter's history needs.
enum ReprintSchema {
    static var migrations: [Migration] {
        [
            Migration(name: "0401_ledger_reprints") { _ in
                [
                    "ALTER TABLE issuances ADD COLUMN content_digest TEXT",
                    "ALTER TABLE issuances ADD COLUMN options TEXT",
                    "ALTER TABLE issuances ADD COLUMN reprint_of TEXT",
                    "ALTER TABLE issuances ADD COLUMN reprint_reason TEXT",
                    "ALTER TABLE certificate_numbers ADD COLUMN superseded_by TEXT",
                    "CREATE INDEX issuances_reprint_of ON issuances (reprint_of)",
                    "CREATE INDEX issuances_channel_updated ON issuances (channel, updated_at)",
                ]
            },
        ]
    }
}

/// What the ledger keeps about an issuance beyond its record, for reprints and history: never the content.
public struct ReprintInfo: Sendable, Hashable {
    public var contentDigest: String?
    public var options: String?
    /// The issuance this one reprints.
    public var reprintOf: String?
    public var reprintReason: String?
    /// How many reprints of this issuance were made.
    public var reprints: Int
}

extension LedgerStore {
    /// The issuance a certificate number belongs to.
    public func issuance(forNumber number: String) async throws -> IssuanceRecord? {
        try await database.read { db in
            guard let row = try await db.raw("SELECT issuance_id FROM certificate_numbers WHERE number = \(bind: number)").first() else {
                return nil
            }
            return try await record(id: try row.decode(column: "issuance_id", as: String.self), on: db)
        }
    }

    /// The reprint columns of `id`, with its reprint count.
    public func reprintInfo(_ id: String) async throws -> ReprintInfo? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT content_digest, options, reprint_of, reprint_reason,
                       (SELECT COUNT(*) FROM issuances r WHERE r.reprint_of = i.id) AS reprints
                FROM issuances i WHERE i.id = \(bind: id)
                """).first() else { return nil }
            return ReprintInfo(contentDigest: try row.decode(column: "content_digest", as: String?.self),
                               options: try row.decode(column: "options", as: String?.self),
                               reprintOf: try row.decode(column: "reprint_of", as: String?.self),
                               reprintReason: try row.decode(column: "reprint_reason", as: String?.self),
                               reprints: try row.decode(column: "reprints", as: Int.self))
        }
    }

    /// Written with a reprint's `ready` transition: the reprint names its original and reason, and the
    /// original's still-issued numbers become `superseded` by the first new number (void ones stay void).
    public static func supersede(original: String, by reprint: String, newNumber: String, reason: String) -> AlsoWrite {
        { db in
            try await db.raw("""
                UPDATE issuances SET reprint_of = \(bind: original), reprint_reason = \(bind: reason) WHERE id = \(bind: reprint)
                """).run()
            try await db.raw("""
                UPDATE certificate_numbers SET status = 'superseded', superseded_by = \(bind: newNumber)
                WHERE issuance_id = \(bind: original) AND status = 'issued'
                """).run()
        }
    }

    /// A resident's issuances, newest first (metadata only), at most `limit`.
    public func history(addressee: String, limit: Int = 200) async throws -> [IssuanceRecord] {
        try await database.read { db in
            try await db.raw("""
                \(unsafeRaw: selectRecord) WHERE i.addressee_id = \(bind: addressee) ORDER BY i.created_at DESC LIMIT \(bind: limit)
                """).all().map(Self.record)
        }
    }

    /// Counter issuances handed over (印刷完了) in `[from, to)`, oldest first: the cash desk's list.
    public func counterTakings(from: Date, to: Date) async throws -> [IssuanceRecord] {
        try await database.read { db in
            try await db.raw("""
                \(unsafeRaw: selectRecord) WHERE i.channel = 'counter' AND i.status = 'delivered'
                  AND i.updated_at >= \(bind: Self.millis(from)) AND i.updated_at < \(bind: Self.millis(to)) ORDER BY i.updated_at
                """).all().map(Self.record)
        }
    }

    /// Each number of an issuance with its standing.
    public func numberStatuses(_ id: String) async throws -> [(number: String, status: NumberStatus, supersededBy: String?)] {
        try await database.read { db in
            try await db.raw("SELECT number, status, superseded_by FROM certificate_numbers WHERE issuance_id = \(bind: id) ORDER BY number")
                .all().map { row in
                    (try row.decode(column: "number", as: String.self),
                     NumberStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .void,
                     try row.decode(column: "superseded_by", as: String?.self))
                }
        }
    }
}
