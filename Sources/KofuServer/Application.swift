import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import KofuConfig
import KofuRendering
import KofuSeal
import KofuStorage
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// Everything a running Kofu needs, built once by `KofuServices.open` (the `serve` command and the tests
/// both go through it).
public struct KofuServices: Sendable {
    public var configuration: KofuConfiguration
    public var database: KofuDatabase
    public var issuance: IssuanceService
    public var audit: AuditLog
    public var staffAuth: StaffAuth
    public var checkpointSigner: (any CheckpointSigner)?
    /// The seal keys in force (re-read after `kofu keys rotate`, see `SealKeyWatcher`).
    public var sealKeys: SealKeys
    /// The counter (窓口): look-up, counter issuance, approvals, printing.
    public var counter: CounterService
    public var auditRetentionYears: Int
    /// The municipality's wording (Templates/wording.yaml), for pages that print what a certificate prints.
    public var wording: Wording

    /// A verifier over the keyring in force.
    public var verifier: SealVerifier { sealKeys.verifier }
    /// The published keyring in force.
    public var keyring: SealKeyring { sealKeys.keyring }

    /// Closes the database (after the application has stopped).
    public func close() async {
        try? await audit.flush()
        await database.close()
    }
}

/// The request context of every Kofu route.
public struct KofuRequestContext: StaffRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The id echoed as `X-Request-Id`.
    public var requestID: String = ""
    /// The signed-in staff member on `/staff` routes.
    public var staff: StaffUser?
    /// The peer's IP address (for the staff listener's allowlist).
    public var remoteIP: String?
    public init(source: Source) {
        coreContext = .init(source: source)
        remoteIP = source.channel.remoteAddress?.ipAddress
    }
}

/// The process-wide Prometheus registry behind swift-metrics (bootstrapped once).
public enum KofuMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    /// Makes sure metrics go to `registry` (idempotent).
    public static func bootstrap() { _ = registry }
}

/// The application type every Kofu listener is.
public typealias KofuApplication = Application<RouterResponder<KofuRequestContext>>

/// Builds one application serving every surface on one listener, with the kiosk's TLS settings: what tests
/// and the single-port development setups use. `serve` and the tests build routers the same way
/// (`buildApplication(_:listener:surfaces:…)`); only the split across listeners differs.
public func buildApplication(_ services: KofuServices, host: String, port: Int,
                             logger: Logger = Logger(label: "kofu")) throws -> KofuApplication {
    let config = services.configuration
    let listener = ListenerSettings(surface: .kiosk, host: host, port: port, tlsCertificate: config.tlsCertificate,
                                    tlsKey: config.tlsKey, clientCA: config.tlsClientCA)
    return try buildApplication(services, listener: listener, surfaces: Set(KofuSurface.allCases),
                                runsBackgroundServices: true, logger: logger)
}

/// The applications `kofu serve` runs, one per listener (`ListenerSettings`): the kiosk (mutual TLS in
/// production), staff and public verification. Background work (expiry sweep, audit retention, seal key
/// watch) runs once, with the kiosk listener.
public func buildApplications(_ services: KofuServices, logger: Logger = Logger(label: "kofu")) throws -> [KofuApplication] {
    try services.configuration.listeners().map { listener in
        try buildApplication(services, listener: listener, surfaces: [listener.surface],
                             runsBackgroundServices: listener.surface == .kiosk, logger: logger)
    }
}

/// Builds the application for `surfaces` on `listener`. With a client CA (the kiosk) it serves HTTPS and
/// accepts only clients whose certificate chains to it (the certificate center); with only a certificate,
/// HTTPS for anyone; without, plain HTTP, which the configuration allows on loopback only.
public func buildApplication(_ services: KofuServices, listener: ListenerSettings, surfaces: Set<KofuSurface>,
                             runsBackgroundServices: Bool, logger: Logger = Logger(label: "kofu")) throws -> KofuApplication {
    KofuMetrics.bootstrap()
    let config = services.configuration
    let http = try config.httpSettings()
    let router = Router(context: KofuRequestContext.self)
    let routes = RouteTable()
    router.add(middleware: RequestIDMiddleware())
    if !listener.allow.isEmpty { router.add(middleware: AddressAllowlist(networks: listener.allow, logger: logger)) }
    // The staff pages' templates, read once here so that a broken one stops the start, naming the file.
    let pages = surfaces.contains(.staff)
        ? try StaffPageRenderer(directory: (config.templatesDir as NSString).appendingPathComponent("staff")) : nil
    router.add(middleware: UnmatchedRouteMiddleware(table: routes, staffPages: pages))
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: RequestBodyPolicy(logger: logger))
    // /metrics lives with the staff surface; on a listener the certificate center reaches (mutual TLS) it is
    // not served without a bearer token.
    let metrics = surfaces.contains(.staff)
        ? MetricsAccess(token: try http.metricsToken(), openWithoutToken: listener.clientCA == nil) : nil
    OperationsController(services: services, metricsAccess: metrics).addRoutes(to: router, readiness: !surfaces.subtracting([.publicVerification]).isEmpty)
    if surfaces.contains(.kiosk) {
        KioskController(service: services.issuance).addRoutes(to: router.group("kiosk/v1"))
    }
    if surfaces.contains(.publicVerification) {
        VerificationController(keys: services.sealKeys, ledger: services.issuance.ledger, clock: services.issuance.clock,
                               pages: try VerifyPages(directory: (config.templatesDir as NSString).appendingPathComponent("verify")),
                               municipality: config.municipality, wording: services.wording)
            .addRoutes(to: router)
    }
    if let pages {
        let staff = StaffController(auth: services.staffAuth, checkpointSigner: services.checkpointSigner, pages: pages)
            .addRoutes(to: router.group("staff"))
        StaffShellController(pages: pages).addRoutes(to: staff)
        OperatorController(services: services, pages: pages).addRoutes(to: staff)
        CounterController(counter: services.counter).addRoutes(to: staff)
        CounterPages(counter: services.counter, pages: pages).addRoutes(to: staff)
        AuditPages(auth: services.staffAuth, checkpointSigner: services.checkpointSigner, pages: pages).addRoutes(to: staff)
        AdminPages(auth: services.staffAuth, pages: pages, sealKeys: services.sealKeys).addRoutes(to: staff)
    }
    routes.load(router.routes.map { (path: $0.path.description, method: $0.method) })

    var background: [any Service] = []
    if runsBackgroundServices {
        background = [
            ExpirySweeper(service: services.issuance, interval: .seconds(5), logger: logger),
            NodeHeartbeat(service: services.issuance, registry: NodeRegistry(database: services.database),
                          interval: try NodeHeartbeat.interval(config),
                          listeners: ((try? config.listeners()) ?? [listener]).map { "\($0.surface.rawValue)=\($0.host):\($0.port)" }
                              .joined(separator: " "),
                          logger: logger),
            AuditRetentionService(audit: services.audit, retentionYears: services.auditRetentionYears, logger: logger),
            SealKeyWatcher(keys: services.sealKeys, interval: .seconds(5), logger: logger),
            AuditAnchorService(audit: services.audit, period: .seconds(try config.authSettings().anchorPeriod), logger: logger),
        ]
    }
    // Slow clients: Hummingbird's idle timeout closes a connection that sends nothing; the guard bounds the
    // time to send a request's headers and body; the connection cap bounds how many sockets one can hold.
    let channel = HTTP1Channel.Configuration(
        additionalChannelHandlers: SlowClientGuard.handlers(headerTimeout: http.headerTimeout, bodyTimeout: http.bodyTimeout,
                                                            logger: logger),
        idleTimeout: .seconds(Int64(http.idleTimeout)))
    var server: HTTPServerBuilder = .http1(configuration: channel)
    if let cert = listener.tlsCertificate, let key = listener.tlsKey {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.minimumTLSVersion = .tlsv12
        if let ca = listener.clientCA {
            tls.certificateVerification = .noHostnameVerification
            tls.trustRoots = .file(ca)
        }
        server = try .tls(.http1(configuration: channel), tlsConfiguration: tls)
    }
    return Application(router: router, server: server,
                       configuration: .init(address: .hostname(listener.host, port: listener.port), serverName: "kofu",
                                            availableConnectionsDelegate: MaximumAvailableConnections(http.maxConnections, logger: logger)),
                       services: background,
                       logger: logger)
}

/// Serves only peers whose address is in the listener's allowlist (`staff.allow`); others get 403.
struct AddressAllowlist: RouterMiddleware {
    typealias Context = KofuRequestContext
    let networks: [IPNetwork]
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let ip = context.remoteIP, networks.contains(where: { $0.contains(ip) }) {
            return try await next(request, context)
        }
        logger.notice("request refused: address not allowed", metadata: ["peer": "\(context.remoteIP ?? "unknown")"])
        return KioskJSON.error(.forbidden, code: "FORBIDDEN", message: "この端末からは利用できません。")
    }
}

/// Echoes the kiosk's `X-Request-Id` (or a new one) on every response, errors included.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = KofuRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[Self.header] ?? ""
        let valid = (1...64).contains(incoming.utf8.count)
            && incoming.utf8.allSatisfy { $0 == 45 || $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }
        context.requestID = valid ? incoming : UUID().uuidString.lowercased()
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = KioskJSON.error(error)
        }
        response.headers[Self.header] = context.requestID
        return response
    }
}

/// Wipes ready documents whose delivery TTL ran out, every few seconds.
struct ExpirySweeper: Service {
    let service: IssuanceService
    let interval: Duration
    let logger: Logger

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await service.expireOverdue()
            } catch {
                logger.error("expiry sweep failed", metadata: ["error": "\(type(of: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
