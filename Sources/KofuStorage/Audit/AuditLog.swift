import Foundation
import KofuCrypto
import SQLKit

/// Errors from the audit log.
public enum AuditLogError: Error, CustomStringConvertible {
    /// `audit_state` is missing: the migrations have not run.
    case notMigrated
    case signingFailed(underlying: any Error)

    public var description: String {
        switch self {
        case .notMigrated: "the audit log tables do not exist; run the migrations"
        case .signingFailed(let e): "signing an audit checkpoint failed: \(e)"
        }
    }
}

/// What a retention purge did.
public struct AuditPurgeResult: Sendable, Equatable {
    /// Entries deleted.
    public var deleted: Int
    /// The first kept entry; the chain is verified from here, starting at `anchorPrevHash`.
    public var anchorSeq: Int64
    public var anchorPrevHash: String
}

/// The append-only, hash-chained audit log (操作ログ・アクセスログ).
///
/// `record` returns only when the entry is durable (committed). Concurrent callers are batched into one
/// transaction (group commit): while one batch commits, new entries queue and the next batch takes them
/// all, so the cost per entry falls as load rises. The chain head is read inside each write transaction
/// (row-locked on PostgreSQL), so several nodes sharing one database extend one chain.
///
/// With an `AuditAnchorer`, the chain is also anchored outside the database: after each commit, every committed
/// entry `anchors.interval` entries past the anchor before it; the head on `anchorHead()` (the server's timer)
/// and on `close()` when this log wrote entries since its last anchor. Anchors are written only after the commit,
/// so an anchor never names an entry that was rolled back.
public actor AuditLog {
    public let database: KofuDatabase
    private let signer: (any CheckpointSigner)?
    private let checkpointInterval: Int64
    /// Writes the external anchors; nil writes none.
    public nonisolated let anchors: AuditAnchorer?
    private let clock: @Sendable () -> Date
    private let maxBatch = 1000

    private var pending: [(AuditEvent, CheckedContinuation<Void, any Error>)] = []
    private var writing = false
    private var idleWaiters: [CheckedContinuation<Void, Never>] = []
    /// The head after this log's last commit.
    private var committedHead: Int64 = 0

    /// - Parameters:
    ///   - signer: signs a checkpoint at least every `checkpointInterval` entries; nil writes none.
    ///   - anchors: anchors the head outside the database (see the type's documentation); nil writes none.
    ///   - clock: the time source (tests use a fixed clock).
    public init(database: KofuDatabase, signer: (any CheckpointSigner)? = nil, checkpointInterval: Int = 1000,
                anchors: AuditAnchorer? = nil, clock: @escaping @Sendable () -> Date = { Date() }) {
        self.database = database
        self.signer = signer
        self.checkpointInterval = Int64(max(1, checkpointInterval))
        self.anchors = anchors
        self.clock = clock
    }

    /// Appends `entry` and returns once it is committed. Kiosk flows await this before answering, so no
    /// issuance is ever answered without its audit entry on disk.
    public func record(_ entry: AuditEvent) async throws {
        try await withCheckedThrowingContinuation { (c: CheckedContinuation<Void, any Error>) in
            pending.append((entry, c))
            if !writing {
                writing = true
                Task { await self.drain() }
            }
        }
    }

    /// Appends `events` inside the caller's write transaction (the ledger change they record), which saves a
    /// transaction of their own; they are durable when that transaction commits.
    /// They are anchored by the log's next commit or `anchorHead()`, since only the caller knows when they commit.
    public nonisolated func append(_ events: [AuditEvent], in db: any SQLDatabase) async throws {
        _ = try await Self.append(events, at: clock(), to: db, backend: database.backend, signer: signer,
                                  checkpointInterval: checkpointInterval)
    }

    /// Returns once every entry recorded before the call is committed.
    public func flush() async throws {
        guard writing || !pending.isEmpty else { return }
        await withCheckedContinuation { idleWaiters.append($0) }
    }

    private func drain() async {
        while !pending.isEmpty {
            let n = min(pending.count, maxBatch)
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            let events = batch.map(\.0)
            let now = clock()
            do {
                let written = try await database.transaction { [signer, checkpointInterval] db in
                    try await Self.append(events, at: now, to: db, backend: self.database.backend,
                                          signer: signer, checkpointInterval: checkpointInterval)
                }
                for (_, c) in batch { c.resume() }
                committed(written)
            } catch {
                for (_, c) in batch { c.resume(throwing: error) }
            }
        }
        writing = false
        let waiters = idleWaiters
        idleWaiters = []
        for w in waiters { w.resume() }
    }

    /// After a commit: anchors the committed entries that are due. They are committed whatever happens here;
    /// a failure is kept in `anchors.lastError` (the anchor service logs it) and the next anchor retries.
    private func committed(_ entries: [ChainHead]) {
        guard let head = entries.last else { return }
        committedHead = head.seq
        if let anchors, head.seq - (anchors.lastAnchor?.seq ?? 0) >= anchors.interval {
            _ = try? anchors.anchorDue(entries.map { ($0.seq, $0.hash) }, at: clock())
        }
    }

    /// Anchors the committed head of the log (all nodes' entries) unless the last anchor already names it.
    /// The server's anchor service calls it every `audit.anchor_period_seconds`; `kofu audit anchor` on demand.
    /// Returns the anchor written, or nil (nothing new, or no anchorer).
    @discardableResult
    public func anchorHead() async throws -> AuditAnchor? {
        guard let anchors else { return nil }
        try await flush()
        let backend = database.backend
        let state = try await database.read { db in try await Self.readState(db, backend: backend, forUpdate: false) }
        guard state.headSeq > 0 else { return nil }
        return try anchors.anchor(seq: state.headSeq, hash: state.headHash, at: clock())
    }

    /// Flushes, and anchors the head if this log committed entries since the last anchor: a command-line run
    /// calls it before it exits, so its own entries are anchored at once.
    public func close() async throws {
        try await flush()
        if let anchors, committedHead > (anchors.lastAnchor?.seq ?? 0) {
            try await anchorHead()
        }
    }

    /// An entry just written: its sequence number and hash.
    struct ChainHead: Sendable {
        var seq: Int64
        var hash: String
    }

    struct ChainState: Sendable {
        var headSeq: Int64
        var headHash: String
        var anchorSeq: Int64
        var anchorPrevHash: String
        var checkpointSeq: Int64
    }

    static func readState(_ db: any SQLDatabase, backend: DatabaseBackend, forUpdate: Bool) async throws -> ChainState {
        let lock = forUpdate && backend == .postgres ? " FOR UPDATE" : ""
        guard let row = try await db.raw(SQLQueryString("SELECT head_seq, head_hash, anchor_seq, anchor_prev_hash, checkpoint_seq FROM audit_state WHERE id = 1" + lock)).first() else {
            throw AuditLogError.notMigrated
        }
        return ChainState(headSeq: try row.decode(column: "head_seq", as: Int64.self),
                          headHash: try row.decode(column: "head_hash", as: String.self),
                          anchorSeq: try row.decode(column: "anchor_seq", as: Int64.self),
                          anchorPrevHash: try row.decode(column: "anchor_prev_hash", as: String.self),
                          checkpointSeq: try row.decode(column: "checkpoint_seq", as: Int64.self))
    }

    /// Appends `events` inside the caller's transaction and moves the head (and signs a checkpoint when due).
    /// Returns the entries written, in order; the last is the new head.
    static func append(_ events: [AuditEvent], at now: Date, to db: any SQLDatabase, backend: DatabaseBackend,
                       signer: (any CheckpointSigner)?, checkpointInterval: Int64) async throws -> [ChainHead] {
        guard !events.isEmpty else { return [] }
        var written: [ChainHead] = []
        written.reserveCapacity(events.count)
        var state = try await readState(db, backend: backend, forUpdate: true)
        let at = AuditChain.timestamp(now)
        // One multi-row INSERT written as text with bound values: SQLKit's insert builder took ≈ 1 % of the
        // server's CPU under the HTTP benchmark to serialize the two entries of an issuance (docs/perf/http.md).
        var rows: [SQLQueryString] = []
        rows.reserveCapacity(events.count)
        for e in events {
            var entry = AuditEntry(seq: state.headSeq + 1, at: at, actor: e.actor.rawValue, action: e.action.rawValue,
                                   object: e.object.rawValue, outcome: e.outcome.rawValue, reason: e.reason,
                                   prevHash: state.headHash, hash: "")
            entry.hash = entry.expectedHash
            let values: [any Encodable & Sendable] = [entry.seq, entry.at, entry.actor, entry.action, entry.object,
                                                      entry.outcome, entry.reason, entry.prevHash, entry.hash]
            rows.append("(\(binds: values))")
            state.headSeq = entry.seq
            state.headHash = entry.hash
            written.append(ChainHead(seq: entry.seq, hash: entry.hash))
        }
        let insert: SQLQueryString = "INSERT INTO audit_log (seq, at, actor, action, object, outcome, reason, prev_hash, hash) VALUES "
        try await db.raw(insert + rows.joined(separator: ", ")).run()
        var checkpointSeq = state.checkpointSeq
        if let signer, state.headSeq - state.checkpointSeq >= checkpointInterval {
            let signature: [UInt8]
            do {
                signature = try signer.sign(digest: AuditCheckpoint.digest(seq: state.headSeq, hash: state.headHash, at: at))
            } catch {
                throw AuditLogError.signingFailed(underlying: error)
            }
            try await db.raw("INSERT INTO audit_checkpoints (seq, at, hash, signer, signature) VALUES (\(bind: state.headSeq), \(bind: at), \(bind: state.headHash), \(bind: signer.signerID), \(bind: Hex.encode(signature)))").run()
            checkpointSeq = state.headSeq
        }
        try await db.raw("UPDATE audit_state SET head_seq = \(bind: state.headSeq), head_hash = \(bind: state.headHash), checkpoint_seq = \(bind: checkpointSeq) WHERE id = 1").run()
        return written
    }

    /// Deletes entries timestamped before `cutoff`, keeping the chain verifiable by anchoring it at the first
    /// kept entry's previous hash, and records the purge itself (action `audit_purge`, object
    /// `anchor:<seq>`) in the same transaction.
    public func purge(before cutoff: Date, actor: AuditActor = .system) async throws -> AuditPurgeResult {
        try await flush()
        let cutoffText = AuditChain.timestamp(cutoff)
        let now = clock()
        let backend = database.backend
        let (result, written) = try await database.transaction { [signer, checkpointInterval] db in
            let state = try await Self.readState(db, backend: backend, forUpdate: true)
            let firstKept = try await db.raw("SELECT seq, prev_hash FROM audit_log WHERE at >= \(bind: cutoffText) ORDER BY seq LIMIT 1").first()
            let anchorSeq: Int64
            let anchorPrev: String
            if let firstKept {
                anchorSeq = try firstKept.decode(column: "seq", as: Int64.self)
                anchorPrev = try firstKept.decode(column: "prev_hash", as: String.self)
            } else {
                // Everything is older: the purge entry itself becomes the first entry.
                anchorSeq = state.headSeq + 1
                anchorPrev = state.headHash
            }
            let countRow = try await db.raw("SELECT COUNT(*) AS n FROM audit_log WHERE seq < \(bind: anchorSeq)").first()
            let deleted = try countRow?.decode(column: "n", as: Int.self) ?? 0
            try await db.raw("DELETE FROM audit_log WHERE seq < \(bind: anchorSeq)").run()
            try await db.raw("DELETE FROM audit_checkpoints WHERE seq < \(bind: anchorSeq)").run()
            try await db.raw("UPDATE audit_state SET anchor_seq = \(bind: anchorSeq), anchor_prev_hash = \(bind: anchorPrev) WHERE id = 1").run()
            let event = AuditEvent(actor: actor, action: .auditPurge, object: .other("anchor", String(anchorSeq)),
                                   outcome: .success, reason: "deleted \(deleted) entries before \(cutoffText)")
            let written = try await Self.append([event], at: now, to: db, backend: backend, signer: signer,
                                                checkpointInterval: checkpointInterval)
            return (AuditPurgeResult(deleted: deleted, anchorSeq: anchorSeq, anchorPrevHash: anchorPrev), written)
        }
        committed(written)
        return result
    }

    /// Purges entries older than `retentionYears` calendar years before now (UTC): the scheduled retention
    /// job (seeds/003 L118: access logs are kept 7 years).
    public func purgeExpired(retentionYears: Int, actor: AuditActor = .system) async throws -> AuditPurgeResult {
        try await purge(before: Self.retentionCutoff(now: clock(), years: retentionYears), actor: actor)
    }

    /// `years` calendar years before `now`, in UTC.
    public static func retentionCutoff(now: Date, years: Int) -> Date {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        return cal.date(byAdding: .year, value: -years, to: now) ?? now
    }

    /// Entries with `from <= at < to` (either bound optional) and `seq > afterSeq`, in order, at most `limit`.
    /// Page through a long range by passing the last `seq` seen.
    public nonisolated func entries(from: Date? = nil, to: Date? = nil, afterSeq: Int64 = 0, limit: Int = 1000) async throws -> [AuditEntry] {
        let fromText = from.map(AuditChain.timestamp) ?? ""
        let toText = to.map(AuditChain.timestamp) ?? "9999"
        return try await database.read { db in
            try await db.raw("SELECT seq, at, actor, action, object, outcome, reason, prev_hash, hash FROM audit_log WHERE seq > \(bind: afterSeq) AND at >= \(bind: fromText) AND at < \(bind: toText) ORDER BY seq LIMIT \(bind: limit)")
                .all().map(AuditStore.decodeEntry)
        }
    }
}

enum AuditStore {
    static func decodeEntry(_ row: any SQLRow) throws -> AuditEntry {
        AuditEntry(seq: try row.decode(column: "seq", as: Int64.self),
                   at: try row.decode(column: "at", as: String.self),
                   actor: try row.decode(column: "actor", as: String.self),
                   action: try row.decode(column: "action", as: String.self),
                   object: try row.decode(column: "object", as: String.self),
                   outcome: try row.decode(column: "outcome", as: String.self),
                   reason: try row.decode(column: "reason", as: String.self),
                   prevHash: try row.decode(column: "prev_hash", as: String.self),
                   hash: try row.decode(column: "hash", as: String.self))
    }
}
