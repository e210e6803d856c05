import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// Health, readiness and Prometheus metrics for operators and their monitoring.
struct OperationsController: Sendable {
    let services: KofuServices
    /// Who may read `/metrics` on this listener (nil: not served here).
    let metricsAccess: MetricsAccess?

    func addRoutes(to router: Router<KofuRequestContext>, readiness: Bool) {
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        if readiness { router.get("readyz") { _, _ in await self.ready() } }
        guard let metricsAccess else { return }
        router.get("metrics") { request, _ in
            if let refused = metricsAccess.refusal(request) { return refused }
            // The registry's counters and histograms, then the gauges computed from the state just now.
            var text = ByteBuffer(bytes: KofuMetrics.registry.emitToBuffer())
            text.writeString(await MonitoringGauges(services: self.services).render())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4", .cacheControl: "no-store"],
                            body: .init(byteBuffer: text))
        }
    }

    /// Ready for kiosk traffic: the database answers, tax data is loaded, and `availability` (the same
    /// decision the kiosk makes) says the service takes every kind. Not ready (503), with the reasons and
    /// each kind's state, whenever the kiosk would answer SERVICE_CLOSED.
    func ready() async -> Response {
        func text(_ status: HTTPResponse.Status, _ body: String) -> Response {
            Response(status: status, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        do {
            let held = try await services.issuance.loadedData.years()
            guard !held.isEmpty else { return text(.serviceUnavailable, "not ready: no tax data loaded\n") }
            let availability = try await services.issuance.availability(at: services.issuance.clock.now())
            var lines = ["fiscal_years=\(held.map(\.year).map(String.init).joined(separator: ","))",
                         "intake_paused=\(availability.closedForAll.contains { if case .paused = $0 { true } else { false } })"]
            for kind in CertificateKind.allCases {
                lines.append("\(kind.rawValue)=\(availability.reason(for: kind).map { "closed:\($0.code)" } ?? "open")")
            }
            let details = lines.joined(separator: "\n") + "\n"
            guard availability.isFullyOpen else {
                // Not ready whenever the kiosk would answer SERVICE_CLOSED, even for one kind only (KIOSK_API.md).
                let reasons = availability.allReasons.map(\.code).joined(separator: ",")
                let scope = availability.isClosed ? "kiosk closed" : "kiosk closed for some kinds"
                return text(.serviceUnavailable, "not ready: \(scope) (\(reasons))\n" + details)
            }
            return text(.ok, "ready\n" + details)
        } catch {
            return text(.serviceUnavailable, "not ready: database unavailable\n")
        }
    }
}

/// Who may read `/metrics`: with `metrics.bearer_token_file` set, only requests carrying that token; without
/// it, anyone on a loopback plain-HTTP listener (development), and nobody on a TLS listener, which the
/// certificate center reaches. The metrics themselves carry public codes only either way.
public struct MetricsAccess: Sendable {
    let token: [UInt8]?
    let openWithoutToken: Bool

    public init(token: String?, openWithoutToken: Bool) {
        self.token = token.map { Array($0.utf8) }
        self.openWithoutToken = openWithoutToken
    }

    /// nil when the request may read the metrics, otherwise the answer to give.
    func refusal(_ request: Request) -> Response? {
        guard let token else {
            return openWithoutToken ? nil : KioskJSON.error(.notFound, code: "NOT_FOUND", message: "not found")
        }
        let given = request.headers[.authorization].flatMap { value -> [UInt8]? in
            guard value.hasPrefix("Bearer ") else { return nil }
            return Array(value.dropFirst(7).utf8)
        }
        if let given, ConstantTime.equal(given, token) { return nil }
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = "Bearer realm=\"kofu-metrics\""
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .unauthorized, headers: headers,
                        body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"UNAUTHORIZED","message":"bearer token required"}}"#)))
    }
}

/// Comparison whose time does not depend on where two byte strings differ.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in a.indices { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}
