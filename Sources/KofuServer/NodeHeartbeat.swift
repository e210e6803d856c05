import Foundation
import KofuConfig
import KofuStorage
import Logging
import ServiceLifecycle

/// This node's heartbeat in the shared database, and the clean-up that needs one node to look after the
/// others (docs/issuance.md, "Several nodes"). Every `node.heartbeat_seconds` (default 5) it:
///
/// 1. writes its heartbeat row (`nodes`);
/// 2. voids the unfinished issuances of nodes that missed `NodeRegistry.missedBeats` heartbeats, once their
///    time is up: `ready` past the delivery TTL, `rendering` older than the request timeout plus a grace
///    period. Their documents died with that node's process (its spool is memory only);
/// 3. voids this node's own `rendering` issuances older than that (a render whose `failed` could not be
///    written because the database was down at that moment);
/// 4. wipes spool documents whose issuance is final in the ledger (another node voided it while this one was
///    cut off from the database).
///
/// A clean stop records `stopped_at`. Any step failing (the database is down) is logged and retried next beat.
public struct NodeHeartbeat: Service {
    let service: IssuanceService
    let registry: NodeRegistry
    let interval: Int
    let listeners: String
    let logger: Logger
    let startedAt: Date

    /// What the heartbeat row records as the node's version: the newest schema step it knows.
    public static var version: String { "kofu schema \(Migrator.all.migrations.last?.name ?? "none")" }

    /// `node.heartbeat_seconds` (1…60, default 5).
    public static func interval(_ config: KofuConfiguration) throws -> Int {
        try config.values.int("node.heartbeat_seconds", default: 5, range: 1...60)
    }

    /// Extra time past the request timeout before a `rendering` issuance counts as abandoned.
    static let renderingGraceSeconds = 5

    public init(service: IssuanceService, registry: NodeRegistry, interval: Int, listeners: String, logger: Logger) {
        self.service = service; self.registry = registry; self.interval = interval; self.listeners = listeners
        self.logger = logger; self.startedAt = service.clock.now()
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await beatOnce()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(interval)) }
        }
        do {
            try await registry.stopped(nodeID: service.settings.nodeID, at: service.clock.now())
        } catch {
            logger.warning("could not record this node's stop", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// One heartbeat and sweep (also called by tests).
    public func beatOnce() async {
        let node = service.settings.nodeID
        do {
            try await registry.beat(nodeID: node, startedAt: startedAt, version: Self.version, listeners: listeners,
                                    heartbeatSeconds: interval, at: service.clock.now())
            let voided = try await sweep()
            if voided.others > 0 || voided.own > 0 || voided.files > 0 {
                logger.notice("node sweep", metadata: ["voided_of_lost_nodes": "\(voided.others)",
                                                       "voided_abandoned_renders": "\(voided.own)", "wiped_files": "\(voided.files)"])
            }
        } catch {
            logger.error("heartbeat failed", metadata: ["error": "\(type(of: error))"])
        }
    }

    /// Steps 2–4 above; returns how many issuances and files each voided or wiped.
    @discardableResult
    public func sweep() async throws -> (others: Int, own: Int, files: Int) {
        let node = service.settings.nodeID
        let now = service.clock.now()
        let renderingBefore = now.addingTimeInterval(-TimeInterval(service.settings.requestTimeoutSeconds + Self.renderingGraceSeconds))
        let lost = try await registry.all().filter { $0.nodeID != node && $0.state(at: now) != .alive }.map(\.nodeID)
        var others = 0
        for id in try await service.ledger.overdue(nodeIDs: lost, now: now, renderingBefore: renderingBefore) {
            if try await service.ledger.finish(id: id, as: .expired, detail: "node_lost", at: now,
                                               also: service.audit.within(.system, .kioskExpire, .issuance(id), .success, "node_lost")) != nil {
                others += 1
            }
        }
        // Own renders only: this node's ready documents are the expiry sweeper's (it wipes them too).
        var own = 0
        for id in try await service.ledger.overdue(nodeIDs: [node], now: .distantPast, renderingBefore: renderingBefore) {
            await service.spool.wipe(id: id)
            if try await service.ledger.finish(id: id, as: .failed, detail: "abandoned", at: now,
                                               also: service.audit.within(.system, .kioskExpire, .issuance(id), .success, "abandoned")) != nil {
                own += 1
            }
        }
        let files = service.spool.ids()
        var wiped = 0
        if !files.isEmpty {
            for id in try await service.ledger.finalOrUnknown(ids: files) {
                await service.spool.wipe(id: id)
                wiped += 1
            }
        }
        return (others, own, wiped)
    }
}
