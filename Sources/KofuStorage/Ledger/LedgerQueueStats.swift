import Foundation
import SQLKit

/// How many documents wait for the kiosk on one node, for monitoring: counts and times only, never an
/// issuance's id or anything about its person.
public struct LedgerQueueStats: Sendable, Equatable {
    /// Issuances in `ready` (rendered, waiting for the kiosk to fetch and print).
    public var ready: Int
    /// Issuances in `rendering` (numbers taken, document being made).
    public var rendering: Int
    /// The `created_at` of the oldest `ready` or `rendering` issuance; nil when there is none.
    public var oldestCreatedAt: Date?
    /// `ready` issuances whose delivery time runs out within the window asked for.
    public var expiringSoon: Int

    public init(ready: Int, rendering: Int, oldestCreatedAt: Date?, expiringSoon: Int) {
        self.ready = ready; self.rendering = rendering; self.oldestCreatedAt = oldestCreatedAt; self.expiringSoon = expiringSoon
    }
}

extension LedgerStore {
    /// The waiting documents of node `nodeID` (the spool holding them is that node's), in one statement:
    /// `expiringSoon` counts ready issuances whose `expires_at` is before `now + window`.
    public func queueStats(nodeID: String, now: Date, expiringWithin window: TimeInterval = 300) async throws -> LedgerQueueStats {
        let soon = Self.millis(now.addingTimeInterval(window))
        return try await database.read { db in
            guard let row = try await db.raw("""
                SELECT COALESCE(SUM(CASE WHEN status = 'ready' THEN 1 ELSE 0 END), 0) AS ready,
                       COALESCE(SUM(CASE WHEN status = 'rendering' THEN 1 ELSE 0 END), 0) AS rendering,
                       MIN(created_at) AS oldest,
                       COALESCE(SUM(CASE WHEN status = 'ready' AND expires_at < \(bind: soon) THEN 1 ELSE 0 END), 0) AS soon
                FROM issuances WHERE status IN ('ready', 'rendering') AND node_id = \(bind: nodeID)
                """).first() else {
                return LedgerQueueStats(ready: 0, rendering: 0, oldestCreatedAt: nil, expiringSoon: 0)
            }
            return LedgerQueueStats(ready: Int(try row.decode(column: "ready", as: Int64.self)),
                                    rendering: Int(try row.decode(column: "rendering", as: Int64.self)),
                                    oldestCreatedAt: try row.decode(column: "oldest", as: Int64?.self).map(Self.date),
                                    expiringSoon: Int(try row.decode(column: "soon", as: Int64.self)))
        }
    }
}
