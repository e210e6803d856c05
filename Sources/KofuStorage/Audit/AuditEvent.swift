import Foundation
import KofuCrypto

/// Who did something: a personal staff user ID, the kiosk center (コンビニ交付センター), or Kofu itself.
public struct AuditActor: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    /// A staff member, by personal user ID.
    public static func staff(_ userID: String) -> AuditActor { AuditActor(rawValue: userID) }
    /// The kiosk center (J-LIS) calling the kiosk API.
    public static let kioskCenter = AuditActor(rawValue: "kiosk-center")
    /// Kofu itself: scheduled jobs, the command line.
    public static let system = AuditActor(rawValue: "system")
    /// A login attempt for a user ID that does not exist. The typed ID is not recorded, because a
    /// password typed into the wrong field would otherwise end up in the log.
    public static let unknown = AuditActor(rawValue: "unknown")

    public var description: String { rawValue }
}

/// What was done. The raw values are what the log stores and exports.
public enum AuditAction: String, Sendable, Codable, CaseIterable {
    case kioskIssue = "kiosk_issue"
    case kioskRefusal = "kiosk_refusal"
    case kioskFetch = "kiosk_fetch"
    case kioskDelivered = "kiosk_delivered"
    case kioskCancel = "kiosk_cancel"
    case login
    case logout
    case loginFailed = "login_failed"
    case lockout
    case accessDenied = "access_denied"
    case lookup
    case issue
    case reprint
    case approval
    case export
    case `import`
    case rollover
    case keyOperation = "key_operation"
    case userChange = "user_change"
    case configChange = "config_change"
    case auditVerify = "audit_verify"
    case auditPurge = "audit_purge"
    case intakePause = "intake_pause"
    case intakeResume = "intake_resume"
    /// A ready document's delivery time ran out (wiped, numbers void).
    case kioskExpire = "kiosk_expire"
    /// At start: spool leftovers wiped and unfinished issuances voided.
    case spoolRecovery = "spool_recovery"
    /// `kofu backup`: a backup made, or backups past the rollover rule deleted.
    case backup
}

/// How it ended.
public enum AuditOutcome: String, Sendable, Codable, CaseIterable {
    case success
    /// A request refused by a rule (交付拒否), e.g. a kiosk refusal.
    case refused
    /// Access denied by the authorization check.
    case denied
    case failure
}

/// On what. Only identifiers: an addressee number (宛名番号), a certificate number, an issuance ID, a staff
/// user ID — never names, addresses, amounts or document content.
public struct AuditObject: RawRepresentable, Sendable, Hashable, Codable {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let none = AuditObject(rawValue: "")
    /// 宛名番号
    public static func addressee(_ id: String) -> AuditObject { AuditObject(rawValue: "addressee:\(id)") }
    /// 証明書番号
    public static func certificate(_ number: String) -> AuditObject { AuditObject(rawValue: "certificate:\(number)") }
    public static func issuance(_ id: String) -> AuditObject { AuditObject(rawValue: "issuance:\(id)") }
    public static func user(_ id: String) -> AuditObject { AuditObject(rawValue: "user:\(id)") }
    /// A staff endpoint, e.g. `GET /staff/users`.
    public static func endpoint(_ method: String, _ path: String) -> AuditObject { AuditObject(rawValue: "endpoint:\(method) \(path)") }
    /// Any other identifier, as `kind:id`.
    public static func other(_ kind: String, _ id: String) -> AuditObject { AuditObject(rawValue: "\(kind):\(id)") }
}

/// One thing to record. `AuditLog` assigns the sequence number, the time and the hashes.
public struct AuditEvent: Sendable, Equatable {
    public var actor: AuditActor
    public var action: AuditAction
    public var object: AuditObject
    public var outcome: AuditOutcome
    /// A short internal reason code (`wrong_password`, `moved_out`, …), never personal data.
    public var reason: String

    public init(actor: AuditActor, action: AuditAction, object: AuditObject = .none,
                outcome: AuditOutcome = .success, reason: String = "") {
        self.actor = actor
        self.action = action
        self.object = object
        self.outcome = outcome
        self.reason = reason
    }
}

/// One stored entry of the audit log.
public struct AuditEntry: Sendable, Equatable, Codable {
    public var seq: Int64
    /// UTC, `yyyy-MM-ddTHH:mm:ss.SSSZ`.
    public var at: String
    public var actor: String
    public var action: String
    public var object: String
    public var outcome: String
    public var reason: String
    /// Hex SHA-256 of the previous entry (the chain link).
    public var prevHash: String
    /// Hex SHA-256(prev hash bytes ‖ canonical encoding of this entry).
    public var hash: String

    public init(seq: Int64, at: String, actor: String, action: String, object: String, outcome: String,
                reason: String, prevHash: String, hash: String) {
        self.seq = seq; self.at = at; self.actor = actor; self.action = action; self.object = object
        self.outcome = outcome; self.reason = reason; self.prevHash = prevHash; self.hash = hash
    }

    /// The hash this entry's content and link should have.
    public var expectedHash: String { AuditChain.hash(prevHash: prevHash, entry: self) }
}

/// The hash chain: encoding and hashing of entries.
public enum AuditChain {
    /// The `prev_hash` of the very first entry.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The canonical encoding: each field (seq in decimal, at, actor, action, object, outcome, reason) as
    /// a 4-byte big-endian length followed by its UTF-8 bytes, so no two entries encode alike.
    public static func canonicalEncoding(_ e: AuditEntry) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(128)
        for field in [String(e.seq), e.at, e.actor, e.action, e.object, e.outcome, e.reason] {
            let bytes = Array(field.utf8)
            let n = UInt32(bytes.count)
            out += [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)]
            out += bytes
        }
        return out
    }

    /// SHA-256(prev hash bytes ‖ canonical encoding), in hex. A malformed `prevHash` hashes as its UTF-8 text.
    public static func hash(prevHash: String, entry: AuditEntry) -> String {
        SHA256.hex((Hex.decode(prevHash) ?? Array(prevHash.utf8)) + canonicalEncoding(entry))
    }

    /// A timestamp in the stored form: fixed width, so text order is time order.
    public static func timestamp(_ date: Date) -> String {
        let ms = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var t = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let milli = Int(((ms % 1000) + 1000) % 1000)
        var tm = tm()
        gmtime_r(&t, &tm)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, w - s.count)) + s
        }
        return "\(pad(tm.tm_year + 1900, 4))-\(pad(tm.tm_mon + 1, 2))-\(pad(tm.tm_mday, 2))T\(pad(tm.tm_hour, 2)):\(pad(tm.tm_min, 2)):\(pad(tm.tm_sec, 2)).\(pad(Int32(milli), 3))Z"
    }
}
