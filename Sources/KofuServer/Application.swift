import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import KofuConfig
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
    public var verifier: SealVerifier
    public var keyring: SealKeyring
    public var auditRetentionYears: Int

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
    public init(source: Source) { coreContext = .init(source: source) }
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

/// Builds the whole HTTP application. `serve` and the tests start Kofu the same way. With `tls.*` set it
/// serves HTTPS and accepts only clients whose certificate chains to `tls.client_ca` (the certificate
/// center); otherwise plain HTTP, which the configuration allows on loopback only.
public func buildApplication(_ services: KofuServices, host: String, port: Int,
                             logger: Logger = Logger(label: "kofu")) throws -> some ApplicationProtocol {
    KofuMetrics.bootstrap()
    let router = Router(context: KofuRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: MetricsMiddleware())
    KioskController(service: services.issuance).addRoutes(to: router.group("kiosk/v1"))
    OperationsController(services: services).addRoutes(to: router)
    VerificationController(verifier: services.verifier, keyring: services.keyring, ledger: services.issuance.ledger,
                           clock: services.issuance.clock).addRoutes(to: router)
    let staff = StaffController(auth: services.staffAuth, checkpointSigner: services.checkpointSigner)
        .addRoutes(to: router.group("staff"))
    OperatorController(services: services).addRoutes(to: staff)

    let sweeper = ExpirySweeper(service: services.issuance, interval: .seconds(5), logger: logger)
    let retention = AuditRetentionService(audit: services.audit, retentionYears: services.auditRetentionYears, logger: logger)
    let anchoring = AuditAnchorService(audit: services.audit, period: .seconds(try services.configuration.authSettings().anchorPeriod), logger: logger)
    let config = services.configuration
    var server: HTTPServerBuilder = .http1()
    if let cert = config.tlsCertificate, let key = config.tlsKey, let ca = config.tlsClientCA {
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(file: key, format: .pem)))
        tls.certificateVerification = .noHostnameVerification
        tls.trustRoots = .file(ca)
        tls.minimumTLSVersion = .tlsv12
        server = try .tls(.http1(), tlsConfiguration: tls)
    }
    return Application(router: router, server: server,
                       configuration: .init(address: .hostname(host, port: port), serverName: "kofu"),
                       services: [sweeper, retention, anchoring],
                       logger: logger)
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
