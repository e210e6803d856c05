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
}

/// Walks the chain from its anchor to its head, checking every hash and link, the sequence numbers, the
/// head, the anchor and every checkpoint signature.
public struct AuditVerifier: Sendable {
    public let database: KofuDatabase
    public let signer: (any CheckpointSigner)?
    /// Entries read per query.
    public var pageSize = 5000

    public init(database: KofuDatabase, signer: (any CheckpointSigner)?) {
        self.database = database
        self.signer = signer
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
        return AuditVerification(entriesChecked: count, checkpointsChecked: checkpoints.count,
                                 firstSeq: firstSeq, lastSeq: lastSeq, problems: problems)
    }
}
