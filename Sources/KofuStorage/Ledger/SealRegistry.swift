import Foundation
import KofuDomain
import SQLKit

/// The seal registry (署名台帳): per certificate number, the KF2 content digest its seal carries and the digest
/// of its whole signed payload, written in the same transaction as the issuance's `ready`. The online check
/// compares a presented seal with it, so a seal made with a leaked key under a real number but with other names
/// or figures (in clear or in the content) fails online. Like the rest of the ledger it holds no personal data:
/// SHA-256 digests, the key id and the signing time.
public enum SealRegistrySchema {
    public static var migrations: [Migration] {
        [
            Migration(name: "0601_seal_registry") { _ in
                [
                    """
                    CREATE TABLE seal_registry (
                        certificate_number TEXT PRIMARY KEY,
                        content_digest TEXT NOT NULL,
                        payload_digest TEXT NOT NULL,
                        key_id TEXT NOT NULL,
                        signed_at BIGINT NOT NULL
                    )
                    """,
                ]
            },
        ]
    }
}

/// One seal as the registry records it.
public struct SealRecord: Sendable, Hashable {
    public var certificateNumber: String
    /// Lower-case hex of the seal's 32-byte content digest.
    public var contentDigest: String
    /// Lower-case hex of SHA-256 of the seal's payload bytes (everything signed).
    public var payloadDigest: String
    /// Lower-case hex of the signing key's 8-byte id.
    public var keyID: String
    /// When the seal was signed, Unix seconds.
    public var signedAt: Int64

    public init(certificateNumber: String, contentDigest: String, payloadDigest: String, keyID: String, signedAt: Int64) {
        self.certificateNumber = certificateNumber; self.contentDigest = contentDigest; self.payloadDigest = payloadDigest
        self.keyID = keyID; self.signedAt = signedAt
    }
}

/// A certificate number's standing as `/verify` reports it: the number's status, its issuance's status
/// (ready = printed but not yet confirmed delivered) and the registered seal, if any.
public struct SealStanding: Sendable, Hashable {
    public var numberStatus: NumberStatus
    public var issuanceStatus: IssuanceStatus?
    public var kind: String
    /// The number that replaced this one, when superseded by a reprint.
    public var supersededBy: String?
    public var seal: SealRecord?
}

extension LedgerStore {
    /// Records seals; pass it as (part of) the `also:` of `markReady` so the registry and the ledger change
    /// together.
    public static func registerSeals(_ records: [SealRecord]) -> AlsoWrite {
        { db in
            for r in records {
                try await db.raw("""
                    INSERT INTO seal_registry (certificate_number, content_digest, payload_digest, key_id, signed_at)
                    VALUES (\(bind: r.certificateNumber), \(bind: r.contentDigest), \(bind: r.payloadDigest), \(bind: r.keyID),
                            \(bind: r.signedAt))
                    """).run()
            }
        }
    }

    /// What `/verify` needs about `number` in one read; nil when the number is unknown.
    public func sealStanding(_ number: String) async throws -> SealStanding? {
        try await database.read { db in
            guard let row = try await db.raw("""
                SELECT n.status AS number_status, n.kind AS kind, n.superseded_by AS superseded_by, i.status AS issuance_status,
                       s.content_digest AS content_digest, s.payload_digest AS payload_digest, s.key_id AS key_id,
                       s.signed_at AS signed_at
                FROM certificate_numbers n
                LEFT JOIN issuances i ON i.id = n.issuance_id
                LEFT JOIN seal_registry s ON s.certificate_number = n.number
                WHERE n.number = \(bind: number)
                """).first() else { return nil }
            var seal: SealRecord?
            if let digest = try row.decode(column: "content_digest", as: String?.self) {
                seal = SealRecord(certificateNumber: number, contentDigest: digest,
                                  payloadDigest: try row.decode(column: "payload_digest", as: String.self),
                                  keyID: try row.decode(column: "key_id", as: String.self),
                                  signedAt: try row.decode(column: "signed_at", as: Int64.self))
            }
            return SealStanding(
                numberStatus: NumberStatus(rawValue: try row.decode(column: "number_status", as: String.self)) ?? .void,
                issuanceStatus: try row.decode(column: "issuance_status", as: String?.self).flatMap(IssuanceStatus.init(rawValue:)),
                kind: try row.decode(column: "kind", as: String.self),
                supersededBy: try row.decode(column: "superseded_by", as: String?.self),
                seal: seal)
        }
    }
}
