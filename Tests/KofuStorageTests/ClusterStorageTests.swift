import Foundation
import KofuDomain
import KofuStorage
import KofuStorageTestSupport
import Testing

/// Several nodes on one database: migrations under a lock, a binary refusing a newer schema, the node
/// heartbeat table and the queries the node sweep uses. Both backends.
@Suite struct ClusterStorageTests {
    /// Four migrators at once on an empty database (four nodes starting together): each migration runs once,
    /// none fails. Without the lock, two would both see a migration missing and the second would fail on
    /// "relation already exists".
    @Test(arguments: StorageTestSupport.backends)
    func migrationsRunOnceWhenNodesStartTogether(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend, migrations: []) { t in
            var handles = [t.database]
            if let dir = t.directory {
                // SQLite: other processes would have connections of their own on the same file.
                for _ in 0..<3 { handles.append(try await KofuDatabase.open(.sqlite(path: "\(dir)/kofu.sqlite"))) }
            } else {
                handles += Array(repeating: t.database, count: 3)
            }
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for db in handles { group.addTask { try await Migrator.all.run(on: db) } }
                var all: [String] = []
                for try await names in group { all += names }
                return all
            }
            for db in handles.dropFirst() where db !== t.database { await db.close() }
            let names = Migrator.all.migrations.map(\.name)
            #expect(applied.sorted() == names.sorted(), "every migration applied exactly once across the four")
            let recorded = try await t.database.read { db in
                try await db.raw("SELECT name FROM kofu_migrations").all().map { try $0.decode(column: "name", as: String.self) }
            }
            #expect(recorded.sorted() == names.sorted())
            #expect(try await Migrator.all.run(on: t.database).isEmpty, "a later start has nothing to do")
        }
    }

    /// A binary that does not know a migration the database has refuses to start, naming both.
    @Test(arguments: StorageTestSupport.backends)
    func olderBinaryRefusesNewerSchema(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let all = Migrator.all.migrations
            // The previous version: every migration but the newest.
            let previous = Migrator(Array(all.dropLast()))
            do {
                try await previous.run(on: t.database)
                Issue.record("the previous version started on a newer schema")
            } catch let error as DatabaseError {
                #expect(error.description == "database schema \(all.last!.name) is newer than this kofu (knows up to \(all.dropLast().last!.name)): upgrade kofu")
            }
            try await t.database.transaction { db in
                try await db.raw("INSERT INTO kofu_migrations (name, applied_at) VALUES ('0799_from_the_future', 'x')").run()
            }
            await #expect(throws: DatabaseError.self) { try await Migrator.all.run(on: t.database) }
            let tables = try await t.database.read { db in
                try await db.raw("SELECT COUNT(*) AS n FROM kofu_migrations").first()!.decode(column: "n", as: Int.self)
            }
            #expect(tables == all.count + 1, "a refused start changes nothing")
        }
    }

    @Test(arguments: StorageTestSupport.backends)
    func heartbeatsAndNodeStates(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let registry = NodeRegistry(database: t.database)
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            try await registry.beat(nodeID: "a", startedAt: t0, version: "v1", listeners: "kiosk=127.0.0.1:8443", heartbeatSeconds: 5, at: t0)
            try await registry.beat(nodeID: "b", startedAt: t0, version: "v1", listeners: "kiosk=127.0.0.1:9443", heartbeatSeconds: 5, at: t0)
            try await registry.beat(nodeID: "a", startedAt: t0, version: "v1", listeners: "kiosk=127.0.0.1:8443", heartbeatSeconds: 5,
                                    at: t0.addingTimeInterval(20))
            try await registry.stopped(nodeID: "b", at: t0.addingTimeInterval(1))
            let nodes = try await registry.all()
            #expect(nodes.map(\.nodeID) == ["a", "b"])
            let a = nodes[0]
            #expect(a.lastHeartbeat == t0.addingTimeInterval(20) && a.startedAt == t0 && a.listeners == "kiosk=127.0.0.1:8443")
            #expect(a.state(at: t0.addingTimeInterval(30)) == .alive)
            #expect(a.state(at: t0.addingTimeInterval(20 + 15)) == .alive, "three beats of 5 s may be missed")
            #expect(a.state(at: t0.addingTimeInterval(20 + 16)) == .unresponsive)
            #expect(nodes[1].state(at: t0.addingTimeInterval(2)) == .stopped)
            #expect(NodeState.unresponsive.japanese == "応答なし")
            // A restart clears the stop.
            try await registry.beat(nodeID: "b", startedAt: t0.addingTimeInterval(60), version: "v2", listeners: "", heartbeatSeconds: 5,
                                    at: t0.addingTimeInterval(60))
            #expect(try await registry.all()[1].state(at: t0.addingTimeInterval(61)) == .alive)
        }
    }

    /// The sweep's queries: a node's ready issuances past their delivery time and renders older than the cut-off;
    /// and which spool ids are final.
    @Test(arguments: StorageTestSupport.backends)
    func overdueAndFinalQueries(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let ledger = LedgerStore(database: t.database)
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            func new(_ n: Int, node: String) -> NewIssuance {
                NewIssuance(id: UUID().uuidString.lowercased(), requestID: "R\(n)", requestDigest: "d", channel: .kiosk, nodeID: node,
                            kind: .incomeTaxation, fiscalYear: 2026, addresseeID: nil, copies: 1, feeYen: 300, terminal: nil)
            }
            let readyOld = new(1, node: "dead"), readyFresh = new(2, node: "dead"), renderingOld = new(3, node: "dead"),
                renderingFresh = new(4, node: "dead"), delivered = new(5, node: "dead"), otherNode = new(6, node: "alive")
            for (i, n) in [readyOld, readyFresh, renderingOld, renderingFresh, delivered, otherNode].enumerated() {
                let created = n.id == renderingFresh.id ? t0.addingTimeInterval(50) : t0
                _ = try await ledger.begin(n, numberYear: 2026, at: created)
                if [readyOld.id, readyFresh.id, delivered.id, otherNode.id].contains(n.id) {
                    let expires = t0.addingTimeInterval(n.id == readyFresh.id ? 1000 : 10)
                    try await ledger.markReady(id: n.id, pages: 1, documentDigest: "x", expiresAt: expires, at: t0.addingTimeInterval(Double(i)))
                }
            }
            try await ledger.finish(id: delivered.id, as: .delivered, detail: nil, at: t0.addingTimeInterval(5))
            let overdue = try await ledger.overdue(nodeIDs: ["dead"], now: t0.addingTimeInterval(60), renderingBefore: t0.addingTimeInterval(30))
            #expect(Set(overdue) == [readyOld.id, renderingOld.id])
            #expect(try await ledger.overdue(nodeIDs: [], now: t0, renderingBefore: t0).isEmpty)
            let unknown = UUID().uuidString.lowercased()
            let final = try await ledger.finalOrUnknown(ids: [readyOld.id, renderingOld.id, delivered.id, unknown])
            #expect(final == [delivered.id, unknown])
        }
    }

    /// Two nodes finishing one issuance at the same moment (a delivery on one, the lost-node sweep or the
    /// expiry on another): exactly one wins, with one event; the other is told nothing changed. Before, both
    /// read `ready` and both wrote, so a printed certificate could end up `expired` with its number void.
    @Test(arguments: StorageTestSupport.backends)
    func concurrentFinishesOneWins(_ backend: TestBackend) async throws {
        try await StorageTestSupport.withDatabase(backend) { t in
            let ledger = LedgerStore(database: t.database)
            let t0 = Date(timeIntervalSince1970: 1_800_000_000)
            var ids: [String] = []
            for n in 0..<30 {
                let new = NewIssuance(id: UUID().uuidString.lowercased(), requestID: "F\(n)", requestDigest: "d", channel: .kiosk,
                                      nodeID: "a", kind: .incomeTaxation, fiscalYear: 2026, addresseeID: nil, copies: 1, feeYen: 300,
                                      terminal: nil)
                _ = try await ledger.begin(new, numberYear: 2026, at: t0)
                try await ledger.markReady(id: new.id, pages: 1, documentDigest: "x", expiresAt: t0, at: t0)
                ids.append(new.id)
            }
            let wins = try await withThrowingTaskGroup(of: (String, Bool).self) { group in
                for id in ids {
                    group.addTask { (id, try await ledger.finish(id: id, as: .delivered, detail: nil, at: t0) != nil) }
                    group.addTask { (id, try await ledger.finish(id: id, as: .expired, detail: "node_lost", at: t0) != nil) }
                }
                var wins: [String: Int] = [:]
                for try await (id, won) in group where won { wins[id, default: 0] += 1 }
                return wins
            }
            for id in ids {
                #expect(wins[id] == 1, "\(id): one of the two finishes wins")
                let record = try #require(try await ledger.get(id: id))
                let finals = try await t.database.read { db in
                    try await db.raw("SELECT COUNT(*) AS n FROM issuance_events WHERE issuance_id = \(bind: id) AND status IN ('delivered', 'expired')")
                        .first()!.decode(column: "n", as: Int.self)
                }
                #expect(finals == 1, "\(id): one final event")
                let number = try #require(try await ledger.numberStatus(record.numbers[0].value))
                #expect((record.status == .delivered) == (number.status == .issued), "\(id): \(record.status), number \(number.status)")
            }
        }
    }
}
