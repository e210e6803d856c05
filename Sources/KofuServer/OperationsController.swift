import Foundation
import HTTPTypes
import Hummingbird
import KofuStorage

/// Health, readiness and Prometheus metrics for operators and their monitoring.
struct OperationsController: Sendable {
    let services: KofuServices

    func addRoutes(to router: Router<KofuRequestContext>) {
        router.get("healthz") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("readyz") { _, _ in await self.ready() }
        router.get("metrics") { _, _ in
            let text = KofuMetrics.registry.emitToBuffer()
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
    }

    /// Ready when the database answers and linkage data is loaded.
    func ready() async -> Response {
        do {
            let held = try await services.issuance.loadedData.years()
            let paused = try await services.issuance.intakePaused()
            let body = "ready\nfiscal_years=\(held.map(\.year).map(String.init).joined(separator: ","))\nintake_paused=\(paused)\n"
            guard !held.isEmpty else {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "not ready: no tax data loaded\n")))
            }
            return Response(status: .ok, headers: [.contentType: "text/plain"], body: .init(byteBuffer: ByteBuffer(string: body)))
        } catch {
            return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "not ready: database unavailable\n")))
        }
    }
}
