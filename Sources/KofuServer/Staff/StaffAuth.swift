import Foundation
import HTTPTypes
import Hummingbird
import KofuCrypto
import KofuStorage
import Logging

/// Staff authentication and the single authorization point every staff endpoint goes through.
public struct StaffAuth: Sendable {
    /// The session cookie (HttpOnly, Secure, SameSite=Strict, path `/staff`).
    public static let cookieName = "kofu_staff"

    public let store: StaffStore
    public let audit: AuditLog
    public let idleTimeout: TimeInterval
    public let lockout: LockoutPolicy
    public let clock: @Sendable () -> Date
    public let logger: Logger
    /// The path the cookie is limited to: where the staff routes are mounted.
    public let cookiePath: String

    public init(store: StaffStore, audit: AuditLog, idleTimeout: TimeInterval, lockout: LockoutPolicy,
                cookiePath: String = "/staff", logger: Logger = Logger(label: "kofu.staff"),
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.store = store
        self.audit = audit
        self.idleTimeout = idleTimeout
        self.lockout = lockout
        self.cookiePath = cookiePath
        self.logger = logger
        self.clock = clock
    }

    func sessionCookie(_ token: String) -> Cookie {
        Cookie(name: Self.cookieName, value: token, path: cookiePath, secure: true, httpOnly: true, sameSite: .strict)
    }

    func clearedCookie() -> Cookie {
        Cookie(name: Self.cookieName, value: "", maxAge: 0, path: cookiePath, secure: true, httpOnly: true, sameSite: .strict)
    }

    /// The header a JSON client sends its CSRF token in, and the form field a page sends it in.
    public static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    public static let csrfFormField = "_csrf"

    /// The CSRF token of a session: derived from the session token, which only the signed-in browser holds
    /// (HttpOnly cookie), so another site can neither read nor compute it. It changes with every sign-in.
    public static func csrfToken(forSession token: String) -> String {
        SHA256.hex(Array("kofu-csrf-v1:\(token)".utf8))
    }

    /// Refuses a state-changing request that another site could have made the browser send: its `Origin`
    /// (or, without one, its `Referer`) must name this server, and — for a signed-in request — it must carry
    /// the session's CSRF token in `X-CSRF-Token` or the form field `_csrf`. Returns the request with its
    /// body collected when the token was read from a form.
    func checkForgery(_ request: Request, _ endpoint: StaffEndpoint, user: StaffUser?) async throws -> Request {
        guard ![.get, .head, .options].contains(request.method) else { return request }
        if let claimed = request.headers[.origin] ?? request.headers[.referer], !CrossSite.sameOrigin(claimed, host: request.head.authority) {
            try await denyForgery(endpoint, user: user, reason: "cross_origin")
        }
        guard let user else { return request }
        guard let session = request.cookies[Self.cookieName]?.value, !session.isEmpty else {
            try await denyForgery(endpoint, user: user, reason: "csrf_missing")
            return request
        }
        var request = request
        var given = request.headers[Self.csrfHeader]
        if given == nil, RequestBodyPolicy.mediaType(request) == "application/x-www-form-urlencoded" {
            let body = try await request.collectBody(upTo: RequestBodyPolicy.staffLimit)
            given = FormQuery.value(Self.csrfFormField, in: String(buffer: body))
        }
        let expected = Self.csrfToken(forSession: session)
        guard let given, ConstantTime.equal(Array(given.utf8), Array(expected.utf8)) else {
            try await denyForgery(endpoint, user: user, reason: given == nil ? "csrf_missing" : "csrf_mismatch")
            return request
        }
        return request
    }

    private func denyForgery(_ endpoint: StaffEndpoint, user: StaffUser?, reason: String) async throws {
        try await audit.record(AuditEvent(actor: user.map { .staff($0.userID) } ?? .unknown, action: .accessDenied,
                                          object: endpoint.auditObject, outcome: .denied, reason: reason))
        logger.notice("staff request refused as cross-site", metadata: ["endpoint": "\(endpoint)", "reason": "\(reason)"])
        throw StaffDenial.forgery
    }

    /// The one authorization check. Returns the signed-in user (nil only for `.anyone` without a session);
    /// throws 401 without a session and 403 without the permission, recording the denial in the audit log.
    public func authorize(_ endpoint: StaffEndpoint, context: some StaffRequestContext) async throws -> StaffUser? {
        switch endpoint.requirement {
        case .anyone:
            return context.staff
        case .signedIn, .permission:
            guard let user = context.staff else {
                try await audit.record(AuditEvent(actor: .unknown, action: .accessDenied, object: endpoint.auditObject,
                                                  outcome: .denied, reason: "not_signed_in"))
                logger.notice("staff access denied", metadata: ["endpoint": "\(endpoint)", "reason": "not_signed_in"])
                throw StaffDenial.notSignedIn
            }
            if case .permission(let permission) = endpoint.requirement, !user.role.allows(permission) {
                try await audit.record(AuditEvent(actor: .staff(user.userID), action: .accessDenied, object: endpoint.auditObject,
                                                  outcome: .denied, reason: "missing \(permission.rawValue)"))
                logger.notice("staff access denied", metadata: ["endpoint": "\(endpoint)", "user": "\(user.userID)"])
                throw StaffDenial.notPermitted
            }
            return user
        }
    }
}

/// Why a staff request was refused before its handler ran. A JSON client gets the same answer as from an
/// `HTTPError` with this status and message; a browser gets the sign-in page or a Japanese error page
/// (`StaffSessionMiddleware`), which is why a refused forgery is told apart from a missing permission.
public enum StaffDenial: HTTPResponseError, Sendable {
    /// 401: no live session.
    case notSignedIn
    /// 403: the signed-in role lacks the endpoint's permission.
    case notPermitted
    /// 403: another site's origin, or a missing or wrong CSRF token.
    case forgery

    public var status: HTTPResponse.Status { self == .notSignedIn ? .unauthorized : .forbidden }

    var message: String {
        switch self {
        case .notSignedIn: "sign in first"
        case .notPermitted: "not permitted"
        case .forgery: "request refused: missing or wrong CSRF token, or another site's origin"
        }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        try HTTPError(status, message: message).response(from: request, context: context)
    }
}

/// One staff endpoint: method, path below the staff mount point, and what it requires.
public struct StaffEndpoint: Sendable, Equatable, CustomStringConvertible {
    public var method: HTTPRequest.Method
    /// Relative to the mount point, with `:name` parameters (`users/:id/disable`).
    public var path: String
    public var requirement: StaffRequirement

    public init(_ method: HTTPRequest.Method, _ path: String, _ requirement: StaffRequirement) {
        self.method = method
        self.path = path
        self.requirement = requirement
    }

    public var description: String { "\(method.rawValue) \(path)" }
    var auditObject: AuditObject { .endpoint(method.rawValue, path) }
}

/// Registers staff endpoints so that each one is checked by `StaffAuth.authorize` before its handler
/// runs. Other staff features (counter, operator) add their routes through this too.
public struct StaffRoutes<Routes: RouterMethods> where Routes.Context: StaffRequestContext {
    public let routes: Routes
    public let auth: StaffAuth

    /// Adds the session middleware to `routes`; endpoints added afterwards see the signed-in user. With
    /// `pages`, a browser is sent to the sign-in page or shown a Japanese error page instead of a JSON error.
    public init(_ routes: Routes, auth: StaffAuth, pages: StaffPageRenderer? = nil) {
        self.routes = routes.add(middleware: StaffSessionMiddleware<Routes.Context>(auth: auth, pages: pages))
        self.auth = auth
    }

    /// Adds an endpoint that needs a signed-in user; `handler` receives that user.
    @discardableResult
    public func add<Output: ResponseGenerator>(
        _ endpoint: StaffEndpoint,
        _ handler: @escaping @Sendable (Request, Routes.Context, StaffUser) async throws -> Output
    ) -> Self {
        precondition(endpoint.requirement != .anyone, "use addPublic for endpoints open to anyone")
        routes.on(RouterPath(endpoint.path), method: endpoint.method) { [auth] request, context in
            guard let user = try await auth.authorize(endpoint, context: context) else { throw StaffDenial.notSignedIn }
            let request = try await auth.checkForgery(request, endpoint, user: user)
            return try await handler(request, context, user)
        }
        return self
    }

    /// Adds an endpoint open to anyone (the login form).
    @discardableResult
    public func addPublic<Output: ResponseGenerator>(
        _ endpoint: StaffEndpoint,
        _ handler: @escaping @Sendable (Request, Routes.Context) async throws -> Output
    ) -> Self {
        routes.on(RouterPath(endpoint.path), method: endpoint.method) { [auth] request, context in
            _ = try await auth.authorize(endpoint, context: context)
            // Sign-in has no session yet, so no token: the origin check still stops another site signing a
            // browser in to an account of the attacker's choosing.
            let request = try await auth.checkForgery(request, endpoint, user: nil)
            return try await handler(request, context)
        }
        return self
    }
}

/// Reads the session cookie: a live session puts its user into the context; an idle one is ended
/// (audited as an idle logout) and its cookie cleared. Staff responses are never cached. This is also the
/// one place where a staff error becomes what a browser should see (with `pages`): every staff route's
/// errors pass through here, with the signed-in user known.
public struct StaffSessionMiddleware<Context: StaffRequestContext>: RouterMiddleware {
    public let auth: StaffAuth
    /// Renders error pages for browsers; nil answers every client with JSON errors.
    public let pages: StaffPageRenderer?

    public init(auth: StaffAuth, pages: StaffPageRenderer? = nil) {
        self.auth = auth
        self.pages = pages
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var clearCookie = false
        var expired = false
        if let token = request.cookies[StaffAuth.cookieName]?.value, !token.isEmpty {
            switch try await auth.store.session(token: token, now: auth.clock(), idleTimeout: auth.idleTimeout,
                                                touch: !Self.isBackground(request)) {
            case .valid(let user):
                context.staff = user
            case .expired(let userID):
                try await auth.audit.record(AuditEvent(actor: .staff(userID), action: .logout, object: .user(userID),
                                                       reason: "idle_timeout"))
                auth.logger.info("staff session idle timeout", metadata: ["user": "\(userID)"])
                clearCookie = true
                expired = true
            case .invalid:
                clearCookie = true
            }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            if let pages, StaffPageRenderer.prefersHTML(request) {
                if !(error is any HTTPResponseError) {
                    auth.logger.error("staff page failed", metadata: ["path": "\(RouteTable.loggable(request.uri.path))",
                                                                      "error": "\(type(of: error))"])
                }
                response = pages.errorResponse(error, request: request, user: context.staff, sessionExpired: expired)
            } else if let error = error as? any HTTPResponseError {
                response = try error.response(from: request, context: context)
            } else {
                throw error
            }
        }
        let setsSession = response.headers[values: .setCookie].contains { $0.hasPrefix(StaffAuth.cookieName + "=") }
        if clearCookie && !setsSession { response.setCookie(auth.clearedCookie()) }
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// The header a page's own script sends with its periodic refresh (`X-Kofu-Background: 1`).
    public static var backgroundHeader: HTTPField.Name { HTTPField.Name("X-Kofu-Background")! }

    /// Whether `request` is a page's background refresh: a GET with `backgroundHeader`. It does not keep the
    /// session alive, so an unattended console still signs out after the idle timeout.
    static func isBackground(_ request: Request) -> Bool {
        request.method == .get && request.headers[backgroundHeader] == "1"
    }
}

/// Same-origin checks for `Origin` / `Referer`.
enum CrossSite {
    /// Whether the URL or origin `claimed` names `host` (the request's `Host`, `name[:port]`). Scheme and
    /// default ports are not compared: the listener decides the scheme, and a browser omits a default port
    /// from `Origin` exactly as from `Host`.
    static func sameOrigin(_ claimed: String, host: String?) -> Bool {
        guard let host, !host.isEmpty else { return false }
        if claimed == "null" { return false }
        guard let components = URLComponents(string: claimed), let claimedHost = components.host else { return false }
        let authority = components.port.map { "\(claimedHost):\($0)" } ?? claimedHost
        return authority.lowercased() == host.lowercased()
            || (components.port == nil && host.lowercased().hasPrefix(claimedHost.lowercased() + ":")
                && [":80", ":443"].contains(String(host.dropFirst(claimedHost.count))))
    }
}
