import Foundation
import KofuConfig
import KofuStorage
import Logging
import ServiceLifecycle

/// Anchors the audit log's head outside the database every `period` when it moved (`audit.anchor_period_seconds`),
/// once at start (entries written by command-line runs or other nodes meanwhile), and once more at shutdown.
/// The log itself anchors every `audit.anchor_interval` entries; this bounds the time an entry stays unanchored
/// when few are written.
public struct AuditAnchorService: Service {
    public let audit: AuditLog
    public let period: Duration
    public let logger: Logger

    public init(audit: AuditLog, period: Duration, logger: Logger = Logger(label: "kofu.audit")) {
        self.audit = audit
        self.period = period
        self.logger = logger
    }

    public func run() async throws {
        // A service that returns would stop the whole application; without an anchorer, just wait.
        guard audit.anchors != nil else {
            try? await gracefulShutdown()
            return
        }
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            await anchor()
            // Graceful shutdown (SIGTERM) ends the wait; the loop condition then ends the service.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: period) }
        }
        await anchor()
    }

    private func anchor() async {
        do {
            if let anchor = try await audit.anchorHead() {
                logger.debug("audit anchor written", metadata: ["seq": "\(anchor.seq)"])
            }
        } catch {
            // A failure after a commit inside the log is only kept there; the same cause fails here and is logged.
            logger.error("audit anchor failed", metadata: ["error": "\(error)"])
        }
    }
}

extension AuditAnchorer {
    /// The anchorer the settings describe: the key at `audit.anchor_key` (created on first use, refused if
    /// others may read it) and the anchors file `audit.anchor_file` of node `node.id`.
    public static func open(_ settings: AuthSettings) throws -> AuditAnchorer {
        AuditAnchorer(key: try AuditAnchorKey.loadOrCreate(path: settings.anchorKeyPath), file: settings.anchorFile,
                      node: settings.anchorNode, interval: settings.anchorInterval)
    }
}
