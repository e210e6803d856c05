import ArgumentParser
import Foundation
import Hummingbird
import KofuConfig
import KofuServer
import KofuStorage
import Logging
import ServiceLifecycle

/// `kofu serve`: the kiosk API, verification, staff and operator pages.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the server (configuration from config/kofu.yaml or KOFU_CONFIG, KOFU_* overrides).")

    func run() async throws {
        let config = try KofuConfiguration.load()
        var logger = Logger(label: "kofu")
        logger.logLevel = Logger.Level(rawValue: config.values.string("log.level", default: "info")) ?? .info
        let listeners = try config.listeners()
        let services: KofuServices
        do {
            services = try await KofuServices.open(config, logger: logger)
        } catch DatabaseError.unavailable {
            // No waiting loop here: the process exits, systemd restarts it (Restart=on-failure, RestartSec), and
            // the load balancer sends no traffic meanwhile (deploy/, docs/deployment.md).
            logger.critical("the database is unavailable at start (not reachable or refusing connections); exiting so that the service manager restarts kofu")
            throw ExitCode(3)
        }
        let apps: [KofuApplication]
        do {
            apps = try buildApplications(services, logger: logger)
        } catch {
            await services.close()
            throw error
        }
        for listener in listeners {
            logger.notice("kofu listening", metadata: ["surface": "\(listener.surface.rawValue)", "url": "\(listener.url)",
                                                        "mutual_tls": "\(listener.clientCA != nil)",
                                                        "municipality": "\(config.municipality.code)"])
        }
        if config.municipality.verifyURL.isEmpty {
            // The certificates then tell no one where to check them (docs/seal.md §5.1): allowed, but said at start.
            logger.warning("seal.verify_url is not set: certificates print no verification address beside the QR")
        }
        // One process, one listener per surface; SIGTERM / SIGINT stop them all gracefully.
        let group = ServiceGroup(configuration: .init(services: apps.map { .init(service: $0) },
                                                      gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        do {
            try await group.run()
        } catch is CancellationError {
            // SIGTERM / SIGINT: a graceful stop, not an error.
        } catch {
            await Self.stop(services, logger: logger)
            throw error
        }
        await Self.stop(services, logger: logger)
    }

    /// A stopped node leaves no document behind: its spool is wiped and its undelivered issuances are voided
    /// now, as the next start would do, instead of waiting encrypted on disk until then.
    static func stop(_ services: KofuServices, logger: Logger) async {
        do {
            let wiped = try await services.issuance.recoverAfterRestart()
            if wiped.wipedDocuments > 0 || wiped.voided > 0 {
                logger.notice("spool wiped at shutdown", metadata: ["wiped_documents": "\(wiped.wipedDocuments)", "voided_issuances": "\(wiped.voided)"])
            }
        } catch {
            logger.error("spool wipe at shutdown failed; the next start wipes it", metadata: ["error": "\(type(of: error))"])
        }
        await services.close()
    }
}
