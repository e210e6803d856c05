import Foundation
import KofuStorage
import Logging
import ServiceLifecycle

/// The scheduled retention job: purges audit entries older than the retention period once at start and
/// then every `interval`. Each run records its own `audit_purge` entry.
public struct AuditRetentionService: Service {
    public let audit: AuditLog
    public let retentionYears: Int
    public let interval: Duration
    public let logger: Logger

    public init(audit: AuditLog, retentionYears: Int, interval: Duration = .seconds(86_400),
                logger: Logger = Logger(label: "kofu.audit")) {
        self.audit = audit
        self.retentionYears = retentionYears
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let result = try await audit.purgeExpired(retentionYears: retentionYears)
                logger.info("audit retention purge", metadata: ["deleted": "\(result.deleted)", "anchor": "\(result.anchorSeq)"])
            } catch {
                logger.error("audit retention purge failed", metadata: ["error": "\(error)"])
            }
            // Graceful shutdown (SIGTERM) ends the wait; the loop condition then ends the service cleanly.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
