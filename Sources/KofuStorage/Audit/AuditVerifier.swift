import Foundation
import KofuCrypto
import SQLKit

/// One thing found wrong in the audit log, with where.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// The entry's content does not match its stored hash (a changed byte, or a renumbered entry).
        case altered
        /// The entry's previous-hash link does not match the entry before it (an inserted, removed or
        /// reordered entry).
        case brokenLink = "broken_link"
        /// Sequence numbers jump: entries are missing before this position.
        case missing
        /// The log ends before (or after) the recorded head: entries removed or appended at the end.
        case headMismatch = "head_mismatch"
        /// A checkpoint's signature is invalid, or the entry it signs has a different hash or is gone.
        case checkpoint
        /// The chain starts after entry 1 without a purge entry that explains it.
        case anchor
        /// An external anchor names a different hash for its entry, or its entry is gone: the log was
        /// rewritten (and re-hashed) at or before that entry after the anchor was signed.
        case anchorMismatch = "anchor_mismatch"
        /// An external anchor names an entry past the end of the log: entries were removed from the end.
        case anchorBeyondHead = "anchor_beyond_head"
        /// A line of an anchors file is not a valid anchor: unreadable, signed by an unknown key, or its
        /// signature does not verify (the line was changed).
        case anchorInvalid = "anchor_invalid"
    }

    public var kind: Kind
    /// The sequence number where the problem is.
    public var seq: Int64
    public var detail: String

    public var description: String { "seq \(seq): \(kind.rawValue): \(detail)" }
}

/// The result of verifying the whole log.
public struct AuditVerification: Sendable, Equatable {
    public var entriesChecked: Int
    public var checkpointsChecked: Int
    public var firstSeq: Int64?
    public var lastSeq: Int64?
    public var problems: [AuditProblem]
    public var isIntact: Bool { problems.isEmpty }
    /// Valid external anchors compared with the log (0 when verified without anchors).
    public var anchorsChecked: Int = 0
    /// Anchors for entries deleted since by a retention purge, which cannot be compared any more.
    public var anchorsBeforeRetention: Int = 0
    /// The anchor with the highest sequence number that matched the log.
    public var lastAnchor: AuditAnchorReference?
    /// Entries after `lastAnchor` (all entries when there is none): what anchors do not yet cover.
    public var entriesAfterLastAnchor: Int64?
}

/// Walks the chain from its anchor to its head, checking every hash and link, the sequence numbers, the
/// head, the anchor and every checkpoint signature; with external anchors, also that each anchored entry
/// still has the anchored hash.
public struct AuditVerifier: Sendable {
    public let database: KofuDatabase
    public let signer: (any CheckpointSigner)?
    /// External anchors (`kofu audit verify --anchors`), read before the database.
    public let anchors: AuditAnchorSet?
    /// Entries read per query.
    public var pageSize = 5000

    public init(database: KofuDatabase, signer: (any CheckpointSigner)?, anchors: AuditAnchorSet? = nil) {
        self.database = database
        self.signer = signer
        self.anchors = anchors
    }

    public func verify() async throws -> AuditVerification {
        let backend = database.backend
        let state = try await database.read { db in try await AuditLog.readState(db, backend: backend, forUpdate: false) }
        let checkpoints = try await database.read { db in
            try await db.raw("SELECT seq, at, hash, signer, signature FROM audit_checkpoints ORDER BY seq").all().map { row in
                AuditCheckpoint(seq: try row.decode(column: "seq", as: Int64.self), at: try row.decode(column: "at", as: String.self),
                                hash: try row.decode(column: "hash", as: String.self), signer: try row.decode(column: "signer", as: String.self),
                                signature: try row.decode(column: "signature", as: String.self))
            }
        }
        var problems: [AuditProblem] = []
        var checkpointBySeq: [Int64: AuditCheckpoint] = [:]
        for cp in checkpoints {
            checkpointBySeq[cp.seq] = cp
            if let signer {
                let ok = cp.signer == signer.signerID && Hex.decode(cp.signature).map {
                    signer.verify(signature: $0, digest: AuditCheckpoint.digest(seq: cp.seq, hash: cp.hash, at: cp.at))
                } == true
                if !ok { problems.append(AuditProblem(kind: .checkpoint, seq: cp.seq, detail: "checkpoint signature does not verify")) }
            }
        }

        var expectedSeq = state.anchorSeq
        var prev = state.anchorPrevHash
        var count = 0
        var firstSeq: Int64?
        var lastSeq: Int64?
        var lastHash: String?
        var purgeAnchors: Set<String> = []
        var matchedCheckpoints: Set<Int64> = []
        var anchorCheck = AnchorCheck(anchors: anchors, chainStart: state.anchorSeq, chainStartPrevHash: state.anchorPrevHash)
        var after: Int64 = Int64.min
        while true {
            let page = try await database.read { [pageSize, after] db in
                try await db.raw("SELECT seq, at, actor, action, object, outcome, reason, prev_hash, hash FROM audit_log WHERE seq > \(bind: after) ORDER BY seq LIMIT \(bind: pageSize)")
                    .all().map(AuditStore.decodeEntry)
            }
            for e in page {
                count += 1
                if firstSeq == nil { firstSeq = e.seq }
                if e.seq != expectedSeq {
                    if e.seq > expectedSeq {
                        let range = e.seq - 1 == expectedSeq ? "entry \(expectedSeq) is" : "entries \(expectedSeq)…\(e.seq - 1) are"
                        problems.append(AuditProblem(kind: .missing, seq: e.seq, detail: "\(range) missing before this one"))
                    } else {
                        problems.append(AuditProblem(kind: .missing, seq: e.seq, detail: "entry precedes the chain anchor \(state.anchorSeq)"))
                    }
                }
                if e.expectedHash != e.hash {
                    problems.append(AuditProblem(kind: .altered, seq: e.seq, detail: "content does not match its hash"))
                }
                if e.prevHash != prev {
                    let previous = lastSeq.map { "entry \($0)" } ?? "the chain anchor"
                    problems.append(AuditProblem(kind: .brokenLink, seq: e.seq, detail: "does not follow \(previous)"))
                }
                if let cp = checkpointBySeq[e.seq] {
                    matchedCheckpoints.insert(e.seq)
                    if cp.hash != e.hash {
                        problems.append(AuditProblem(kind: .checkpoint, seq: e.seq, detail: "hash differs from the signed checkpoint"))
                    }
                }
                anchorCheck.check(e)
                if e.action == AuditAction.auditPurge.rawValue { purgeAnchors.insert(e.object) }
                prev = e.hash
                lastSeq = e.seq
                lastHash = e.hash
                expectedSeq = e.seq + 1
            }
            guard let last = page.last, page.count == pageSize else { break }
            after = last.seq
        }
        for cp in checkpoints where cp.seq >= state.anchorSeq && !matchedCheckpoints.contains(cp.seq) {
            problems.append(AuditProblem(kind: .checkpoint, seq: cp.seq, detail: "the signed checkpoint's entry is gone"))
        }
        if (lastSeq ?? state.anchorSeq - 1) != state.headSeq || (lastHash ?? state.anchorPrevHash) != state.headHash {
            let end = lastSeq.map(String.init) ?? "nothing"
            problems.append(AuditProblem(kind: .headMismatch, seq: lastSeq ?? state.anchorSeq,
                                         detail: "the log ends at \(end) but the recorded head is entry \(state.headSeq)"))
        }
        if state.anchorSeq > 1 && !purgeAnchors.contains(AuditObject.other("anchor", String(state.anchorSeq)).rawValue) {
            problems.append(AuditProblem(kind: .anchor, seq: state.anchorSeq, detail: "the chain starts here but no purge entry records it"))
        }
        anchorCheck.finish(lastSeq: lastSeq, headSeq: state.headSeq)
        var result = AuditVerification(entriesChecked: count, checkpointsChecked: checkpoints.count,
                                       firstSeq: firstSeq, lastSeq: lastSeq, problems: problems + anchorCheck.problems)
        if anchors != nil {
            result.anchorsChecked = anchorCheck.compared
            result.anchorsBeforeRetention = anchorCheck.beforeRetention
            result.lastAnchor = anchorCheck.lastMatched.map { anchorCheck.reference($0) }
            result.entriesAfterLastAnchor = max(0, (lastSeq ?? 0) - (anchorCheck.lastMatched?.seq ?? (state.anchorSeq - 1)))
        }
        return result
    }
}

/// Compares the entries, streamed in sequence order, with the sorted anchors (a merge, so memory does not
/// grow with the log).
private struct AnchorCheck {
    let set: AuditAnchorSet?
    private var next = 0
    /// Anchors compared with an entry (or with the chain's start after a purge).
    private(set) var compared = 0
    private(set) var beforeRetention = 0
    private(set) var lastMatched: AuditAnchorSet.Item?
    private(set) var problems: [AuditProblem]
    /// The entry after the last anchor that matched: a rewrite found by a later anchor lies between.
    private var rewriteFrom: Int64

    init(anchors: AuditAnchorSet?, chainStart: Int64, chainStartPrevHash: String) {
        set = anchors
        problems = anchors?.problems ?? []
        rewriteFrom = chainStart
        guard let items = anchors?.items else { return }
        // Anchors of purged entries cannot be compared, except the one for the entry just before the chain's
        // start: its hash is the anchor_prev_hash the chain starts from.
        while next < items.count && items[next].seq < chainStart {
            let item = items[next]
            if item.seq == chainStart - 1 {
                compared += 1
                if Hash256(hex: chainStartPrevHash) == item.hash {
                    lastMatched = item
                } else {
                    mismatch(item, "the chain starts from a different hash than this anchor names")
                }
            } else {
                beforeRetention += 1
            }
            next += 1
        }
    }

    func reference(_ item: AuditAnchorSet.Item) -> AuditAnchorReference { set!.reference(item) }

    private mutating func mismatch(_ item: AuditAnchorSet.Item, _ what: String) {
        let ref = reference(item)
        let range = rewriteFrom >= item.seq ? "entry \(item.seq)" : "entries \(rewriteFrom)…\(item.seq)"
        problems.append(AuditProblem(kind: .anchorMismatch, seq: item.seq,
                                     detail: "\(what) (anchor \(ref), signed \(ref.anchor.at) by node \(ref.anchor.node)): "
                                         + "the log was rewritten in \(range) after the anchor was signed"))
    }

    mutating func check(_ e: AuditEntry) {
        guard let items = set?.items else { return }
        while next < items.count && items[next].seq < e.seq {
            compared += 1
            mismatch(items[next], "the anchored entry is gone")
            next += 1
        }
        while next < items.count && items[next].seq == e.seq {
            compared += 1
            if Hash256(hex: e.hash) == items[next].hash {
                lastMatched = items[next]
                rewriteFrom = e.seq + 1
            } else {
                mismatch(items[next], "the entry's hash differs from the anchored hash")
            }
            next += 1
        }
    }

    mutating func finish(lastSeq: Int64?, headSeq: Int64) {
        guard let items = set?.items else { return }
        let end = lastSeq.map { "entry \($0)" } ?? "no entry"
        while next < items.count {
            let ref = reference(items[next])
            compared += 1
            problems.append(AuditProblem(kind: .anchorBeyondHead, seq: items[next].seq,
                                         detail: "anchor \(ref) (signed \(ref.anchor.at) by node \(ref.anchor.node)) names entry "
                                             + "\(items[next].seq), but the log ends at \(end) (recorded head: \(headSeq)): entries were removed from the end"))
            next += 1
        }
    }
}
