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
        try ServeCommand.checkPlainHTTPAllowed(config)
        let services = try await KofuServices.open(config, logger: logger)
        let app = buildApplication(services, host: config.httpHost, port: config.httpPort, logger: logger)
        logger.notice("kofu listening", metadata: ["address": "\(config.httpHost):\(config.httpPort)",
                                                    "municipality": "\(config.municipality.code)"])
        try await app.runService()
        await services.close()
    }

    /// Plain HTTP only on a loopback address; anything else must be served with mutual TLS.
    static func checkPlainHTTPAllowed(_ config: KofuConfiguration) throws {
        let loopback = config.httpHost == "localhost" || config.httpHost == "::1" || config.httpHost.hasPrefix("127.")
        guard loopback else {
            throw ValidationError("http.host \(config.httpHost) is not a loopback address: plain HTTP is only allowed on loopback; mutual TLS is not available in this build (see docs/deployment.md)")
        }
    }
}
