import ArgumentParser
import Foundation
import Hummingbird
import KofuConfig
import KofuServer
import Logging

/// `kofu serve`: the kiosk API, verification, staff and operator pages.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start the server (configuration from config/kofu.yaml or KOFU_CONFIG, KOFU_* overrides).")

    func run() async throws {
        let config = try KofuConfiguration.load()
        var logger = Logger(label: "kofu")
        logger.logLevel = Logger.Level(rawValue: config.values.string("log.level", default: "info")) ?? .info
        let services = try await KofuServices.open(config, logger: logger)
        let app = try buildApplication(services, host: config.httpHost, port: config.httpPort, logger: logger)
        logger.notice("kofu listening", metadata: ["address": "\(config.httpHost):\(config.httpPort)",
                                                    "mutual_tls": "\(config.mutualTLS)",
                                                    "municipality": "\(config.municipality.code)"])
        do {
            try await app.runService()
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
            if wiped.wipedFiles > 0 || wiped.voided > 0 {
                logger.notice("spool wiped at shutdown", metadata: ["wiped_files": "\(wiped.wipedFiles)", "voided_issuances": "\(wiped.voided)"])
            }
        } catch {
            logger.error("spool wipe at shutdown failed; the next start wipes it", metadata: ["error": "\(type(of: error))"])
        }
        await services.close()
    }
}
