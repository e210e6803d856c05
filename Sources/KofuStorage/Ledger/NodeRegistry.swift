import Foundation
import SQLKit

/// The `nodes` table: every `kofu serve` process sharing the database writes a heartbeat row, so that the
/// others can tell a node that stopped answering (its ready documents are lost with its spool key) and the
/// operators' console can list them. No secrets: listener addresses and ports only.
public enum NodeSchema {
    public static var migrations: [Migration] {
        [
            Migration(name: "0700_nodes") { _ in
                [
                    """
                    CREATE TABLE nodes (
                        node_id TEXT PRIMARY KEY,
                        started_at BIGINT NOT NULL,
                        last_heartbeat BIGINT NOT NULL,
                        stopped_at BIGINT,
                        version TEXT NOT NULL,
                        listeners TEXT NOT NULL,
                        heartbeat_seconds INTEGER NOT NULL
                    )
                    """,
                ]
            },
        ]
    }
}

/// One node as the `nodes` table knows it.
public struct NodeRecord: Sendable, Hashable {
    public var nodeID: String
    public var startedAt: Date
    public var lastHeartbeat: Date
    /// Set by a clean stop (SIGTERM); a node killed or cut off never sets it.
    public var stoppedAt: Date?
    public var version: String
    /// `kiosk=0.0.0.0:8443 staff=127.0.0.1:8080 …` (addresses only).
    public var listeners: String
    public var heartbeatSeconds: Int

    /// How a node stands at `now`, given that a node missing `missedBeats` heartbeats is not answering.
    public func state(at now: Date, missedBeats: Int = NodeRegistry.missedBeats) -> NodeState {
        if stoppedAt != nil { return .stopped }
        let silent = now.timeIntervalSince(lastHeartbeat)
        return silent > Double(heartbeatSeconds * missedBeats) ? .unresponsive : .alive
    }
}

/// A node's standing in the console.
public enum NodeState: String, Sendable {
    case alive
    case unresponsive
    case stopped

    /// The console's label.
    public var japanese: String {
        switch self {
        case .alive: "稼働中"
        case .unresponsive: "応答なし"
        case .stopped: "停止"
        }
    }
}

/// Heartbeats and the list of nodes, on SQLite or PostgreSQL.
public struct NodeRegistry: Sendable {
    public let database: KofuDatabase

    /// A node that missed this many heartbeats in a row is `unresponsive` (応答なし): the others void its
    /// unfinished issuances once their delivery time has passed.
    public static let missedBeats = 3

    public init(database: KofuDatabase) { self.database = database }

    /// Writes this node's heartbeat (creating its row, or restarting it when `startedAt` is newer).
    public func beat(nodeID: String, startedAt: Date, version: String, listeners: String, heartbeatSeconds: Int,
                     at now: Date) async throws {
        try await database.transaction { db in
            try await db.raw("""
                INSERT INTO nodes (node_id, started_at, last_heartbeat, stopped_at, version, listeners, heartbeat_seconds)
                VALUES (\(bind: nodeID), \(bind: LedgerStore.millis(startedAt)), \(bind: LedgerStore.millis(now)), NULL,
                        \(bind: version), \(bind: listeners), \(bind: heartbeatSeconds))
                ON CONFLICT (node_id) DO UPDATE SET started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat,
                    stopped_at = NULL, version = excluded.version, listeners = excluded.listeners,
                    heartbeat_seconds = excluded.heartbeat_seconds
                """).run()
        }
    }

    /// Records a clean stop.
    public func stopped(nodeID: String, at now: Date) async throws {
        try await database.transaction { db in
            try await db.raw("UPDATE nodes SET stopped_at = \(bind: LedgerStore.millis(now)) WHERE node_id = \(bind: nodeID)").run()
        }
    }

    /// Every node that ever beat, by id.
    public func all() async throws -> [NodeRecord] {
        try await database.read { db in
            try await db.raw("SELECT * FROM nodes ORDER BY node_id").all().map { row in
                NodeRecord(nodeID: try row.decode(column: "node_id", as: String.self),
                           startedAt: LedgerStore.date(try row.decode(column: "started_at", as: Int64.self)),
                           lastHeartbeat: LedgerStore.date(try row.decode(column: "last_heartbeat", as: Int64.self)),
                           stoppedAt: try row.decode(column: "stopped_at", as: Int64?.self).map(LedgerStore.date),
                           version: try row.decode(column: "version", as: String.self),
                           listeners: try row.decode(column: "listeners", as: String.self),
                           heartbeatSeconds: try row.decode(column: "heartbeat_seconds", as: Int.self))
            }
        }
    }
}

extension LedgerStore {
    /// Unfinished issuances of `nodeIDs` whose time is up: `ready` past its delivery time, or still
    /// `rendering` since before `renderingBefore` (no render outlives the request timeout).
    public func overdue(nodeIDs: [String], now: Date, renderingBefore: Date) async throws -> [String] {
        guard !nodeIDs.isEmpty else { return [] }
        return try await database.read { db in
            var ids: [String] = []
            for node in nodeIDs {
                ids += try await db.raw("""
                    SELECT id FROM issuances WHERE node_id = \(bind: node) AND (
                        (status = 'ready' AND expires_at < \(bind: Self.millis(now)))
                        OR (status = 'rendering' AND created_at < \(bind: Self.millis(renderingBefore))))
                    """).all().map { try $0.decode(column: "id", as: String.self) }
            }
            return ids
        }
    }

    /// Which of `ids` are final in the ledger (or unknown): their spool files may go.
    public func finalOrUnknown(ids: [String]) async throws -> Set<String> {
        var out = Set(ids)
        for chunk in stride(from: 0, to: ids.count, by: 200).map({ Array(ids[$0..<min($0 + 200, ids.count)]) }) {
            let open = try await database.read { db in
                try await db.raw("""
                    SELECT id FROM issuances WHERE status IN ('rendering', 'ready') AND id IN (\(binds: chunk))
                    """).all().map { try $0.decode(column: "id", as: String.self) }
            }
            out.subtract(open)
        }
        return out
    }
}
