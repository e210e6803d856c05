import Foundation
import KofuDomain
import SQLKit

/// The life of one issuance (KIOSK_API.md): received → rendering → ready → delivered / cancelled / expired,
/// or refused / failed. Final states never change again.
public enum IssuanceStatus: String, Sendable, Codable, CaseIterable {
    case rendering
    case ready
    case delivered
    case cancelled
    case expired
    case refused
    case failed

    public var isFinal: Bool { self != .rendering && self != .ready }
}

/// Where a request came from.
public enum IssuanceChannel: String, Sendable, Codable {
    case kiosk
    case counter
}

/// A certificate number's standing, as the online verification reports it.
public enum NumberStatus: String, Sendable, Codable {
    /// Issued and (for kiosks) delivered or still on its way.
    case issued
    /// Cancelled or expired before delivery, or the issuance failed.
    case void
    /// Replaced by a counter reprint.
    case superseded
}

/// One ledger entry: metadata only.
public struct IssuanceRecord: Sendable, Hashable {
    public var id: String
    public var requestID: String
    public var requestDigest: String
    public var channel: IssuanceChannel
    public var nodeID: String
    public var kind: CertificateKind
    public var fiscalYear: Int
    public var addresseeID: String?
    public var copies: Int
    public var status: IssuanceStatus
    public var refusalCode: String?
    public var internalReason: String?
    public var feeYen: Int
    public var pages: Int?
    public var documentDigest: String?
    public var terminal: String?
    public var createdAt: Date
    public var updatedAt: Date
    public var expiresAt: Date?
    public var numbers: [CertificateNumber]
}

/// A new issuance about to be rendered.
public struct NewIssuance: Sendable {
    public var id: String
    public var requestID: String
    public var requestDigest: String
    public var channel: IssuanceChannel
    public var nodeID: String
    public var kind: CertificateKind
    public var fiscalYear: Int
    public var addresseeID: String?
    public var copies: Int
    public var feeYen: Int
    public var terminal: String?

    public init(id: String, requestID: String, requestDigest: String, channel: IssuanceChannel, nodeID: String,
                kind: CertificateKind, fiscalYear: Int, addresseeID: String?, copies: Int, feeYen: Int, terminal: String?) {
        self.id = id; self.requestID = requestID; self.requestDigest = requestDigest; self.channel = channel
        self.nodeID = nodeID; self.kind = kind; self.fiscalYear = fiscalYear; self.addresseeID = addresseeID
        self.copies = copies; self.feeYen = feeYen; self.terminal = terminal
    }
}

/// The ledger could not take the change.
public enum LedgerError: Error, Equatable {
    /// Another request already holds this request id (the caller re-reads it).
    case duplicateRequestID(String)
    case notFound(String)
}

/// The issuance ledger, certificate numbering and the shared service state, on SQLite or PostgreSQL.
/// Numbers are allocated in the same transaction that creates the ledger entry, so a number is never
/// reused and never lost: a failed, cancelled or expired issuance keeps its numbers, marked void.
public struct LedgerStore: Sendable {
    public let database: KofuDatabase

    public init(database: KofuDatabase) { self.database = database }

    /// More writes for the same transaction as a ledger change (the audit entry of that change), so that the
    /// change and its record commit together, in one transaction instead of two.
    public typealias AlsoWrite = @Sendable (any SQLDatabase) async throws -> Void

    static func millis(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }

    /// Creates a refused entry. Returns the stored record, or the existing one if the request id is taken.
    public func recordRefusal(_ new: NewIssuance, refusal: Refusal, at now: Date, also: AlsoWrite? = nil) async throws -> IssuanceRecord {
        do {
            return try await database.transaction { db in
                try await insert(new, status: .refused, refusal: refusal, at: now, on: db)
                try await event(new.id, .refused, detail: refusal.internalReason, at: now, on: db)
                try await also?(db)
                return try await written(id: new.id, on: db)
            }
        } catch let error where isUniqueViolation(error) {
            throw LedgerError.duplicateRequestID(new.requestID)
        }
    }

    /// Creates an entry in `rendering` and allocates one certificate number per copy, atomically.
    /// Numbers are `<year>-<sequence>`, unique per municipality (this database) and year.
    public func begin(_ new: NewIssuance, numberYear: Int, at now: Date) async throws -> [CertificateNumber] {
        do {
            return try await database.transaction { db in
                try await insert(new, status: .rendering, refusal: nil, at: now, on: db)
                let last = try await db.raw("""
                    INSERT INTO number_sequences (year, last_sequence) VALUES (\(bind: numberYear), \(bind: Int64(new.copies)))
                    ON CONFLICT (year) DO UPDATE SET last_sequence = number_sequences.last_sequence + \(bind: Int64(new.copies))
                    RETURNING last_sequence
                    """).first()!.decode(column: "last_sequence", as: Int64.self)
                var numbers: [CertificateNumber] = []
                for i in 0..<new.copies {
                    let seq = Int(last) - new.copies + 1 + i
                    let number = CertificateNumber(year: numberYear, sequence: seq)
                    try await db.raw("""
                        INSERT INTO certificate_numbers (number, year, sequence, issuance_id, kind, status, updated_at)
                        VALUES (\(bind: number.value), \(bind: numberYear), \(bind: seq), \(bind: new.id), \(bind: new.kind.rawValue), \(bind: NumberStatus.issued.rawValue), \(bind: Self.millis(now)))
                        """).run()
                    numbers.append(number)
                }
                try await event(new.id, .rendering, detail: nil, at: now, on: db)
                return numbers
            }
        } catch let error where isUniqueViolation(error) {
            throw LedgerError.duplicateRequestID(new.requestID)
        }
    }

    /// `rendering` → `ready`, with the document's digest and when it expires. Returns the record as it now
    /// stands (read in the same transaction), or nil if the issuance was no longer rendering.
    @discardableResult
    /// `contentDigest` is SHA-256 of everything printed except the numbers and the date (never the content
    /// itself): a reprint must match it. `options` are the request's non-personal options (tax item codes).
    public func markReady(id: String, pages: Int, documentDigest: String, contentDigest: String? = nil, options: String? = nil,
                          expiresAt: Date, at now: Date, also: AlsoWrite? = nil) async throws -> IssuanceRecord? {
        try await database.transaction { db in
            guard try await db.raw("""
                UPDATE issuances SET status = 'ready', pages = \(bind: pages), document_digest = \(bind: documentDigest),
                    content_digest = \(bind: contentDigest), options = \(bind: options),
                    expires_at = \(bind: Self.millis(expiresAt)), updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id) AND status = 'rendering' RETURNING id
                """).first() != nil else { return nil }
            try await event(id, .ready, detail: nil, at: now, on: db)
            try await also?(db)
            return try await written(id: id, on: db)
        }
    }

    /// Moves an unfinished issuance to a final state. For anything but `delivered` its numbers become void.
    /// Returns the record as it now stands (read in the same transaction), or nil when the issuance was already
    /// final, or not ready for `delivered` (the call is then a no-op). `also` runs in the same transaction, only
    /// when the state changed.
    @discardableResult
    public func finish(id: String, as status: IssuanceStatus, detail: String?, at now: Date,
                       also: AlsoWrite? = nil) async throws -> IssuanceRecord? {
        precondition(status.isFinal && status != .refused)
        return try await database.transaction { db in
            guard let row = try await db.raw("SELECT status FROM issuances WHERE id = \(bind: id)").first() else {
                throw LedgerError.notFound(id)
            }
            let before = IssuanceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed
            guard !before.isFinal else { return nil }
            if status == .delivered && before != .ready { return nil }
            // The state is checked again by the UPDATE itself: two nodes finishing one issuance at once (a
            // delivery here, the lost-node sweep there) both read it unfinished above; on PostgreSQL the second
            // UPDATE waits for the first and then finds no unfinished row, so only one change (and one event)
            // is written and the other caller gets nil.
            let allowed = status == .delivered ? "'ready'" : "'rendering', 'ready'"
            guard try await db.raw("""
                UPDATE issuances SET status = \(bind: status.rawValue), updated_at = \(bind: Self.millis(now))
                WHERE id = \(bind: id) AND status IN (\(unsafeRaw: allowed)) RETURNING id
                """).first() != nil else { return nil }
            if status != .delivered {
                try await db.raw("""
                    UPDATE certificate_numbers SET status = 'void', updated_at = \(bind: Self.millis(now))
                    WHERE issuance_id = \(bind: id)
                    """).run()
            }
            try await event(id, status, detail: detail, at: now, on: db)
            try await also?(db)
            return try await written(id: id, on: db)
        }
    }

    /// Ready issuances of this node whose delivery time ran out.
    public func expiredReady(nodeID: String, now: Date) async throws -> [String] {
        try await database.read { db in
            try await db.raw("""
                SELECT id FROM issuances WHERE status = 'ready' AND node_id = \(bind: nodeID) AND expires_at < \(bind: Self.millis(now))
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    /// Unfinished issuances of this node (after a restart their documents are gone).
    public func unfinished(nodeID: String) async throws -> [String] {
        try await database.read { db in
            try await db.raw("""
                SELECT id FROM issuances WHERE status IN ('rendering', 'ready') AND node_id = \(bind: nodeID)
                """).all().map { try $0.decode(column: "id", as: String.self) }
        }
    }

    public func get(id: String) async throws -> IssuanceRecord? {
        try await database.read { db in try await record(id: id, on: db) }
    }

    public func get(requestID: String) async throws -> IssuanceRecord? {
        try await database.read { db in
            try await db.raw("\(unsafeRaw: selectRecord) WHERE i.request_id = \(bind: requestID)").first().map(Self.record)
        }
    }

    /// The standing of a certificate number, for online verification; nil when unknown.
    public func numberStatus(_ number: String) async throws -> (status: NumberStatus, kind: String)? {
        try await database.read { db in
            guard let row = try await db.raw("SELECT status, kind FROM certificate_numbers WHERE number = \(bind: number)").first() else { return nil }
            return (NumberStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .void,
                    try row.decode(column: "kind", as: String.self))
        }
    }

    /// Issuances per status since `since` — counts only, never individuals.
    public func statusCounts(since: Date) async throws -> [String: Int] {
        try await counts("SELECT status AS k, COUNT(*) AS n FROM issuances WHERE created_at >= \(Self.millis(since)) GROUP BY status")
    }

    /// Refusals per public code and internal reason since `since`.
    public func refusalCounts(since: Date) async throws -> [String: Int] {
        try await counts("""
            SELECT refusal_code || ' / ' || internal_reason AS k, COUNT(*) AS n FROM issuances
            WHERE status = 'refused' AND created_at >= \(Self.millis(since)) GROUP BY refusal_code, internal_reason
            """)
    }

    /// Issuances per kind since `since`.
    public func kindCounts(since: Date) async throws -> [String: Int] {
        try await counts("SELECT kind AS k, COUNT(*) AS n FROM issuances WHERE created_at >= \(Self.millis(since)) GROUP BY kind")
    }

    private func counts(_ sql: String) async throws -> [String: Int] {
        try await database.read { db in
            var out: [String: Int] = [:]
            for row in try await db.raw(SQLQueryString(sql)).all() {
                out[try row.decode(column: "k", as: String.self)] = Int(try row.decode(column: "n", as: Int64.self))
            }
            return out
        }
    }

    /// A shared setting all nodes see (the operator's intake pause).
    public func setState(_ key: String, _ value: String, at now: Date) async throws {
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO service_state (key, value, updated_at) VALUES (\(bind: key), \(bind: value), \(bind: Self.millis(now)))
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
                """).run()
        }
    }

    public func state(_ key: String) async throws -> String? {
        try await database.read { db in
            try await db.raw("SELECT value FROM service_state WHERE key = \(bind: key)").first()?.decode(column: "value", as: String.self)
        }
    }

    // MARK: - rows

    private func insert(_ n: NewIssuance, status: IssuanceStatus, refusal: Refusal?, at now: Date, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO issuances (id, request_id, request_digest, channel, node_id, kind, fiscal_year, addressee_id, copies,
                status, refusal_code, internal_reason, fee_yen, terminal, created_at, updated_at)
            VALUES (\(bind: n.id), \(bind: n.requestID), \(bind: n.requestDigest), \(bind: n.channel.rawValue), \(bind: n.nodeID),
                \(bind: n.kind.rawValue), \(bind: n.fiscalYear), \(bind: n.addresseeID), \(bind: n.copies), \(bind: status.rawValue),
                \(bind: refusal?.code.rawValue), \(bind: refusal?.internalReason), \(bind: refusal == nil ? n.feeYen : 0),
                \(bind: n.terminal), \(bind: Self.millis(now)), \(bind: Self.millis(now)))
            """).run()
    }

    private func event(_ id: String, _ status: IssuanceStatus, detail: String?, at now: Date, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO issuance_events (issuance_id, at, status, detail)
            VALUES (\(bind: id), \(bind: Self.millis(now)), \(bind: status.rawValue), \(bind: detail))
            """).run()
    }

    /// An issuance with its certificate numbers, in one statement: consistent without a transaction of its own,
    /// and one statement instead of two (`WHERE` follows). The numbers come as one comma-separated text.
    var selectRecord: String {
        let numbers = database.backend == .sqlite ? "group_concat(n.number, ',')" : "string_agg(n.number, ',')"
        return "SELECT i.*, (SELECT \(numbers) FROM certificate_numbers n WHERE n.issuance_id = i.id) AS numbers FROM issuances i"
    }

    func record(id: String, on db: any SQLDatabase) async throws -> IssuanceRecord? {
        try await db.raw("\(unsafeRaw: selectRecord) WHERE i.id = \(bind: id)").first().map(Self.record)
    }

    /// The record of `id` inside a transaction that has just written it.
    private func written(id: String, on db: any SQLDatabase) async throws -> IssuanceRecord {
        guard let found = try await record(id: id, on: db) else { throw LedgerError.notFound(id) }
        return found
    }

    static func record(_ row: any SQLRow) throws -> IssuanceRecord {
        let id = try row.decode(column: "id", as: String.self)
        // Sorted here, not with ORDER BY: an issuance has a handful of numbers, and SQLite would set up a
        // sorter for every record read (1.6 % of the server's CPU under load).
        let numbers = (try row.decode(column: "numbers", as: String?.self) ?? "").split(separator: ",")
            .map(String.init).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map(CertificateNumber.init)
        return IssuanceRecord(
            id: id,
            requestID: try row.decode(column: "request_id", as: String.self),
            requestDigest: try row.decode(column: "request_digest", as: String.self),
            channel: IssuanceChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .kiosk,
            nodeID: try row.decode(column: "node_id", as: String.self),
            kind: CertificateKind(rawValue: try row.decode(column: "kind", as: String.self)) ?? .taxPayment,
            fiscalYear: try row.decode(column: "fiscal_year", as: Int.self),
            addresseeID: try row.decode(column: "addressee_id", as: String?.self),
            copies: try row.decode(column: "copies", as: Int.self),
            status: IssuanceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
            refusalCode: try row.decode(column: "refusal_code", as: String?.self),
            internalReason: try row.decode(column: "internal_reason", as: String?.self),
            feeYen: try row.decode(column: "fee_yen", as: Int.self),
            pages: try row.decode(column: "pages", as: Int?.self),
            documentDigest: try row.decode(column: "document_digest", as: String?.self),
            terminal: try row.decode(column: "terminal", as: String?.self),
            createdAt: date(try row.decode(column: "created_at", as: Int64.self)),
            updatedAt: date(try row.decode(column: "updated_at", as: Int64.self)),
            expiresAt: try row.decode(column: "expires_at", as: Int64?.self).map(date),
            numbers: numbers)
    }
}

/// True for a UNIQUE / PRIMARY KEY violation on either backend.
func isUniqueViolation(_ error: any Error) -> Bool {
    let text = String(reflecting: error)
    return text.contains("UNIQUE constraint failed") || text.contains("23505") || text.contains("duplicate key")
}
