import Foundation
import Hummingbird
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
                throw HTTPError(.unauthorized, message: "sign in first")
            }
            if case .permission(let permission) = endpoint.requirement, !user.role.allows(permission) {
                try await audit.record(AuditEvent(actor: .staff(user.userID), action: .accessDenied, object: endpoint.auditObject,
                                                  outcome: .denied, reason: "missing \(permission.rawValue)"))
                logger.notice("staff access denied", metadata: ["endpoint": "\(endpoint)", "user": "\(user.userID)"])
                throw HTTPError(.forbidden, message: "not permitted")
            }
            return user
        }
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

    /// Adds the session middleware to `routes`; endpoints added afterwards see the signed-in user.
    public init(_ routes: Routes, auth: StaffAuth) {
        self.routes = routes.add(middleware: StaffSessionMiddleware<Routes.Context>(auth: auth))
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
            guard let user = try await auth.authorize(endpoint, context: context) else {
                throw HTTPError(.unauthorized, message: "sign in first")
            }
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
            return try await handler(request, context)
        }
        return self
    }
}

/// Reads the session cookie: a live session puts its user into the context; an idle one is ended
/// (audited as an idle logout) and its cookie cleared. Staff responses are never cached.
public struct StaffSessionMiddleware<Context: StaffRequestContext>: RouterMiddleware {
    public let auth: StaffAuth

    public init(auth: StaffAuth) { self.auth = auth }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        var clearCookie = false
        if let token = request.cookies[StaffAuth.cookieName]?.value, !token.isEmpty {
            switch try await auth.store.session(token: token, now: auth.clock(), idleTimeout: auth.idleTimeout) {
            case .valid(let user):
                context.staff = user
            case .expired(let userID):
                try await auth.audit.record(AuditEvent(actor: .staff(userID), action: .logout, object: .user(userID),
                                                       reason: "idle_timeout"))
                auth.logger.info("staff session idle timeout", metadata: ["user": "\(userID)"])
                clearCookie = true
            case .invalid:
                clearCookie = true
            }
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        let setsSession = response.headers[values: .setCookie].contains { $0.hasPrefix(StaffAuth.cookieName + "=") }
        if clearCookie && !setsSession { response.setCookie(auth.clearedCookie()) }
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
