import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// The kiosk API (KIOSK_API.md), mounted at `/kiosk/v1`. Every answer is built here from the service's
/// values or `KioskError`s, so the kiosk never sees an internal error text.
public struct KioskController<Context: RequestContext>: Sendable {
    public let service: IssuanceService

    public init(service: IssuanceService) { self.service = service }

    public func addRoutes(to group: RouterGroup<Context>) {
        group.post("issuances") { request, context in await self.issue(request, context) }
        group.get("issuances/:id/document") { request, context in await self.document(request, context) }
        group.post("issuances/:id/delivered") { request, context in await self.delivered(request, context) }
        group.post("issuances/:id/cancel") { request, context in await self.cancel(request, context) }
        group.get("issuances/:id") { request, context in await self.status(request, context) }
    }

    static var maxBody: Int { RequestBodyPolicy.kioskLimit }

    func issue(_ request: Request, _ context: Context) async -> Response {
        do {
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBody)
            // With the line full, shed before even parsing: under a flood the 503s must stay cheap.
            try service.shedIfFull()
            let parsed: KioskIssueRequest
            do {
                parsed = try KioskIssueRequest(json: Array(buffer: body))
            } catch {
                throw KioskError.invalidRequest(error.message)
            }
            let wantPDF = request.headers[.accept].map { $0.contains("application/pdf") } ?? false
            let issued = try await service.issue(parsed, wantPDF: wantPDF)
            let payload = IssuanceResponse(issued.record, ttlSeconds: service.settings.deliveryTTLSeconds)
            if let pdf = issued.pdf {
                var headers = HTTPFields()
                headers[.contentType] = "application/pdf"
                for (name, value) in payload.headerFields { headers[HTTPField.Name(name)!] = value }
                return Response(status: .created, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
            }
            return KioskJSON.response(.created, payload)
        } catch {
            return KioskJSON.error(error)
        }
    }

    func document(_ request: Request, _ context: Context) async -> Response {
        do {
            let (record, pdf) = try await service.document(id: try Self.id(context))
            var headers = HTTPFields()
            headers[.contentType] = "application/pdf"
            headers[.cacheControl] = "no-store"
            headers[HTTPField.Name("Kofu-Issuance-Id")!] = record.id
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
        } catch {
            return KioskJSON.error(error)
        }
    }

    func delivered(_ request: Request, _ context: Context) async -> Response {
        do {
            let record = try await service.delivered(id: try Self.id(context))
            return KioskJSON.response(.ok, StatusResponse(record))
        } catch {
            return KioskJSON.error(error)
        }
    }

    func cancel(_ request: Request, _ context: Context) async -> Response {
        do {
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBody)
            guard case .object(let o) = JSONValue.parse(Array(buffer: body)) else {
                throw KioskError.invalidRequest("body: must be a JSON object")
            }
            guard case .string(let reason) = o["reason"] ?? .null, IssuanceService.cancelReasons.contains(reason) else {
                throw KioskError.invalidRequest("reason: must be one of print_failure, payment_cancelled, user_cancelled, timeout")
            }
            let record = try await service.cancel(id: try Self.id(context), reason: reason)
            return KioskJSON.response(.ok, StatusResponse(record))
        } catch {
            return KioskJSON.error(error)
        }
    }

    func status(_ request: Request, _ context: Context) async -> Response {
        do {
            guard let record = try await service.ledger.get(id: try Self.id(context)), record.channel == .kiosk else {
                throw KioskError.notFound
            }
            return KioskJSON.response(.ok, StatusResponse(record))
        } catch {
            return KioskJSON.error(error)
        }
    }

    /// Issuance ids are lower-case UUIDs; anything else is unknown.
    static func id(_ context: Context) throws -> String {
        guard let id = context.parameters.get("id"), UUID(uuidString: id) != nil, id == id.lowercased() else {
            throw KioskError.notFound
        }
        return id
    }
}

/// The 201 body of an issue call.
struct IssuanceResponse: Encodable {
    var issuance_id: String
    var request_id: String
    var status: String
    var certificate_numbers: [String]
    var pages: Int
    var fee_yen: Int
    var document_url: String?
    var expires_at: String?

    init(_ r: IssuanceRecord, ttlSeconds: Int) {
        issuance_id = r.id
        request_id = r.requestID
        status = r.status.rawValue
        certificate_numbers = r.numbers.map(\.value)
        pages = r.pages ?? 0
        fee_yen = r.feeYen
        document_url = r.status == .ready ? "/kiosk/v1/issuances/\(r.id)/document" : nil
        expires_at = r.expiresAt.map(JapanTime.iso8601)
    }

    /// The same fields as `Kofu-*` headers, for `Accept: application/pdf`.
    var headerFields: [(String, String)] {
        var h = [("Kofu-Issuance-Id", issuance_id), ("Kofu-Request-Id", request_id), ("Kofu-Status", status),
                 ("Kofu-Certificate-Numbers", certificate_numbers.joined(separator: ",")), ("Kofu-Pages", String(pages)),
                 ("Kofu-Fee-Yen", String(fee_yen))]
        if let document_url { h.append(("Kofu-Document-Url", document_url)) }
        if let expires_at { h.append(("Kofu-Expires-At", expires_at)) }
        return h
    }
}

/// Status and timestamps, no personal data.
struct StatusResponse: Encodable {
    var issuance_id: String
    var request_id: String
    var status: String
    var kind: String
    var fiscal_year: Int
    var copies: Int
    var pages: Int?
    var certificate_numbers: [String]
    var fee_yen: Int
    var error_code: String?
    var created_at: String
    var updated_at: String
    var expires_at: String?

    init(_ r: IssuanceRecord) {
        issuance_id = r.id; request_id = r.requestID; status = r.status.rawValue; kind = r.kind.rawValue
        fiscal_year = r.fiscalYear; copies = r.copies; pages = r.pages; certificate_numbers = r.numbers.map(\.value)
        fee_yen = r.feeYen; error_code = r.refusalCode
        created_at = JapanTime.iso8601(r.createdAt); updated_at = JapanTime.iso8601(r.updatedAt)
        expires_at = r.expiresAt.map(JapanTime.iso8601)
    }
}

/// JSON answers and the contract's error bodies.
enum KioskJSON {
    static func response(_ status: HTTPResponse.Status, _ value: some Encodable, headers extra: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        var headers = extra
        headers[.contentType] = "application/json; charset=utf-8"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    struct ErrorBody: Encodable {
        struct Inner: Encodable { var code: String; var message: String }
        var error: Inner
    }

    static func error(_ status: HTTPResponse.Status, code: String, message: String, retryAfter: Int? = nil,
                      headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return response(status, ErrorBody(error: .init(code: code, message: message)), headers: headers)
    }

    /// `Retry-After` while the database is unavailable (a restart or fail-over takes seconds to a minute).
    static let databaseRetryAfter = 10

    /// Maps any error to the contract's answer. Unknown errors become a bare 500 with no detail.
    static func error(_ error: any Error) -> Response {
        switch error as? KioskError {
        case .invalidRequest(let what):
            return self.error(.badRequest, code: "INVALID_REQUEST", message: "リクエストの形式が正しくありません(\(what))")
        case .notFound:
            return self.error(.notFound, code: "NOT_FOUND", message: "指定された交付は存在しません。")
        case .requestIDReused:
            return self.error(.conflict, code: "REQUEST_ID_REUSED", message: "同じrequest_idで異なる内容が送信されました。")
        case .gone:
            return self.error(.gone, code: "GONE", message: "この証明書のデータは既に削除されています。")
        case .refused(let code):
            if code == .serviceClosed { return self.error(.serviceUnavailable, code: code.rawValue, message: code.kioskMessage, retryAfter: 3600) }
            return self.error(.unprocessableContent, code: code.rawValue, message: code.kioskMessage)
        case .serviceClosed(let retryAfter):
            return self.error(.serviceUnavailable, code: "SERVICE_CLOSED", message: RefusalCode.serviceClosed.kioskMessage, retryAfter: retryAfter)
        case .overloaded(let retryAfter):
            return self.error(.serviceUnavailable, code: "OVERLOADED", message: "ただいま混み合っています。しばらくたってから再度お試しください。", retryAfter: retryAfter)
        case .internalFailure, nil:
            if DatabaseError.isUnavailability(error) {
                // The database is down or restarting: nothing was changed, the center retries (like OVERLOADED).
                return self.error(.serviceUnavailable, code: "OVERLOADED", message: "ただいま混み合っています。しばらくたってから再度お試しください。",
                                  retryAfter: databaseRetryAfter)
            }
            if let http = error as? any HTTPResponseError, http.status == .contentTooLarge {
                return self.error(.contentTooLarge, code: "PAYLOAD_TOO_LARGE", message: "リクエストが大きすぎます(上限 \(RequestBodyPolicy.kioskLimit) バイト)")
            }
            return self.error(.internalServerError, code: "INTERNAL_ERROR", message: "証明書を交付できませんでした。お手数ですが窓口でお問い合わせください。")
        }
    }
}
