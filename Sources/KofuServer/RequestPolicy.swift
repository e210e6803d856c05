import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// What every request body must be, checked once for every endpoint before any handler runs: within the
/// size limit of its area (413), of a media type the area accepts (415), and — for JSON — free of
/// duplicated object keys (400). The body is collected here, so handlers read it from memory.
struct RequestBodyPolicy: RouterMiddleware {
    typealias Context = KofuRequestContext
    let logger: Logger

    /// One area of the URL space and what its bodies may be.
    struct Area: Sendable {
        var prefix: String
        var limit: Int
        var mediaTypes: [String]
    }

    static let kioskLimit = 16 * 1024
    /// Staff forms and JSON bodies (handlers that read the body themselves use the same limit).
    static let staffLimit = 64 * 1024
    static let areas: [Area] = [
        Area(prefix: "/kiosk/", limit: kioskLimit, mediaTypes: ["application/json"]),
        Area(prefix: "/staff/", limit: staffLimit, mediaTypes: ["application/json", "application/x-www-form-urlencoded"]),
        Area(prefix: "/verify", limit: 8 * 1024, mediaTypes: ["application/json", "application/x-www-form-urlencoded"]),
    ]
    static let fallback = Area(prefix: "/", limit: kioskLimit, mediaTypes: ["application/json"])

    static func area(for path: String) -> Area { areas.first { path.hasPrefix($0.prefix) } ?? fallback }

    /// The media type without parameters, lower-cased (`application/json; charset=utf-8` → `application/json`).
    static func mediaType(_ request: Request) -> String? {
        request.headers[.contentType].map { $0.split(separator: ";")[0].trimmingCharacters(in: .whitespaces).lowercased() }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let announced = request.headers[.contentLength].flatMap(Int.init)
        let chunked = request.headers[.transferEncoding] != nil
        guard (announced ?? 0) > 0 || chunked else { return try await next(request, context) }
        let area = Self.area(for: request.uri.path)
        if let announced, announced > area.limit { return tooLarge(request, area) }
        var request = request
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: area.limit)
        } catch is NIOTooManyBytesError {
            return tooLarge(request, area)
        }
        // A chunked request may still turn out empty: nothing to check then.
        guard body.readableBytes > 0 else { return try await next(request, context) }
        guard let type = Self.mediaType(request), area.mediaTypes.contains(type) else {
            logger.notice("request refused: unsupported media type",
                          metadata: ["path": "\(RouteTable.loggable(request.uri.path))", "content_type": "\(request.headers[.contentType] ?? "none")"])
            return KioskJSON.error(.unsupportedMediaType, code: "UNSUPPORTED_MEDIA_TYPE",
                                   message: "リクエストの形式が正しくありません(Content-Type: \(area.mediaTypes.joined(separator: " または ")) を指定してください)")
        }
        if type == "application/json", let key = JSONDuplicateKeys.first(in: Array(buffer: body)) {
            logger.notice("request refused: duplicate JSON key", metadata: ["path": "\(RouteTable.loggable(request.uri.path))", "key": "\(key)"])
            return KioskJSON.error(.badRequest, code: "INVALID_REQUEST", message: "リクエストの形式が正しくありません(\(key): duplicate key)")
        }
        return try await next(request, context)
    }

    private func tooLarge(_ request: Request, _ area: Area) -> Response {
        logger.notice("request refused: body too large", metadata: ["path": "\(RouteTable.loggable(request.uri.path))", "limit_bytes": "\(area.limit)"])
        return KioskJSON.error(.contentTooLarge, code: "PAYLOAD_TOO_LARGE",
                               message: "リクエストが大きすぎます(上限 \(area.limit) バイト)")
    }
}

/// Every route the application serves, so that an unknown path gets a JSON 404 and a known path asked with
/// the wrong method gets 405 with `Allow` (Hummingbird answers both with an empty 404).
final class RouteTable: Sendable {
    private let routes = Mutex<[(components: [Substring], method: HTTPRequest.Method)]>([])

    /// Records the router's routes (call after every route is added).
    func load(_ descriptions: [(path: String, method: HTTPRequest.Method)]) {
        routes.withLock { $0 = descriptions.map { ($0.path.split(separator: "/"), $0.method) } }
    }

    /// The methods served at `path` (HEAD comes with GET).
    func methods(for path: String) -> [HTTPRequest.Method] {
        let parts = path.split(separator: "/")
        let found = routes.withLock { routes in
            routes.filter { Self.matches($0.components, parts) }.map(\.method)
        }
        var methods = Set(found.map(\.rawValue))
        if methods.contains("GET") { methods.insert("HEAD") }
        return methods.sorted().compactMap { HTTPRequest.Method(rawValue: $0) }
    }

    static func matches(_ pattern: [Substring], _ path: [Substring]) -> Bool {
        var i = 0
        for (n, p) in pattern.enumerated() {
            if p == "**" { return true }
            guard i < path.count else { return false }
            if !(p.hasPrefix(":") || p.contains("{") || p == "*" || p == path[i]) { return false }
            i += 1
            if n == pattern.count - 1 { return i == path.count }
        }
        return pattern.isEmpty && path.isEmpty
    }

    /// A path for a log line: issuance ids and other variable parts are kept (they are not personal), but
    /// the length is bounded and only printable ASCII is kept.
    static func loggable(_ path: String) -> String {
        String(path.unicodeScalars.prefix(120).map { $0.isASCII && $0.value >= 0x20 && $0.value < 0x7F ? Character($0) : "?" })
    }
}

/// Turns Hummingbird's empty 404 for an unmatched route into the contract's JSON 404 or 405 with `Allow`.
struct UnmatchedRouteMiddleware: RouterMiddleware {
    typealias Context = KofuRequestContext
    let table: RouteTable
    /// On the staff surface, a browser gets the Japanese 404 page instead of JSON.
    var staffPages: StaffPageRenderer?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && context.coreContext.endpointPath.value == "NotFound" {
            let allowed = table.methods(for: request.uri.path)
            if allowed.isEmpty, let staffPages, request.uri.path.hasPrefix("/staff"), StaffPageRenderer.prefersHTML(request) {
                return staffPages.errorResponse(HTTPError(.notFound), request: request, user: nil, sessionExpired: false)
            }
            guard !allowed.isEmpty else {
                return KioskJSON.error(.notFound, code: "NOT_FOUND", message: "指定されたURLは存在しません。")
            }
            var headers = HTTPFields()
            headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
            return KioskJSON.error(.methodNotAllowed, code: "METHOD_NOT_ALLOWED", message: "このURLでは \(request.method.rawValue) は使えません。",
                                   headers: headers)
        }
    }
}
