import Foundation
import Hummingbird
import KofuStorage
import Logging

/// Staff login/logout/me, user administration (administrators) and audit export/verify
/// (auditors, administrators). Mount with `StaffController(...).addRoutes(to: router.group("staff"))`.
/// Sign-in and sign-out take JSON (answered with JSON) or, with `pages`, the sign-in page's form
/// (answered with a redirect, or the page again with its error).
public struct StaffController: Sendable {
    public let auth: StaffAuth
    /// Verifies checkpoints for `GET audit/verify`.
    public let checkpointSigner: (any CheckpointSigner)?
    /// The staff pages; nil serves the JSON API alone.
    public let pages: StaffPageRenderer?

    public init(auth: StaffAuth, checkpointSigner: (any CheckpointSigner)?, pages: StaffPageRenderer? = nil) {
        self.auth = auth
        self.checkpointSigner = checkpointSigner
        self.pages = pages
    }

    public static let login = StaffEndpoint(.post, "login", .anyone)
    public static let logout = StaffEndpoint(.post, "logout", .signedIn)
    public static let me = StaffEndpoint(.get, "me", .signedIn)
    public static let listUsers = StaffEndpoint(.get, "users", .permission(.userAdministration))
    public static let createUser = StaffEndpoint(.post, "users", .permission(.userAdministration))
    public static let disableUser = StaffEndpoint(.post, "users/:id/disable", .permission(.userAdministration))
    public static let enableUser = StaffEndpoint(.post, "users/:id/enable", .permission(.userAdministration))
    public static let resetPassword = StaffEndpoint(.post, "users/:id/password", .permission(.userAdministration))
    public static let auditExport = StaffEndpoint(.get, "audit/export", .permission(.auditExport))
    public static let auditVerify = StaffEndpoint(.get, "audit/verify", .permission(.auditVerify))

    /// Every endpoint this controller serves.
    public static let endpoints: [StaffEndpoint] = [
        login, logout, me, listUsers, createUser, disableUser, enableUser, resetPassword, auditExport, auditVerify,
    ]

    /// Adds the session middleware and every endpoint to `routes` (the `/staff` group). Returns the
    /// `StaffRoutes` so that other staff features can add their endpoints behind the same check.
    @discardableResult
    public func addRoutes<Routes: RouterMethods>(to routes: Routes) -> StaffRoutes<Routes> where Routes.Context: StaffRequestContext {
        let staff = StaffRoutes(routes, auth: auth, pages: pages)
        staff.addPublic(Self.login) { request, context in try await self.login(request, context) }
        staff.add(Self.logout) { request, _, user in try await self.logout(request, user) }
        staff.add(Self.me) { request, _, user in
            StaffUserResponse(user, csrfToken: request.cookies[StaffAuth.cookieName].map { StaffAuth.csrfToken(forSession: $0.value) })
        }
        staff.add(Self.listUsers) { _, _, _ in try await auth.store.users().map { StaffUserResponse($0) } }
        staff.add(Self.createUser) { request, context, user in try await self.createUser(request, context, by: user) }
        staff.add(Self.disableUser) { _, context, user in try await self.setDisabled(context, true, by: user) }
        staff.add(Self.enableUser) { _, context, user in try await self.setDisabled(context, false, by: user) }
        staff.add(Self.resetPassword) { request, context, user in try await self.resetPassword(request, context, by: user) }
        staff.add(Self.auditExport) { request, _, user in try await self.export(request, by: user) }
        staff.add(Self.auditVerify) { _, _, user in try await self.verify(by: user) }
        return staff
    }

    struct LoginRequest: Decodable {
        var userID: String
        var password: String
    }

    struct NewUserRequest: Decodable {
        var userID: String
        var role: StaffRole
        var password: String
    }

    struct PasswordRequest: Decodable {
        var password: String
    }

    private func failedLogin(_ event: AuditEvent) async throws -> HTTPError {
        try await auth.audit.record(event)
        auth.logger.notice("staff login failed", metadata: ["actor": "\(event.actor)", "reason": "\(event.reason)"])
        return HTTPError(.unauthorized, message: "login failed")
    }

    private func login(_ request: Request, _ context: some StaffRequestContext) async throws -> Response {
        if let pages, StaffPageRenderer.isForm(request) { return try await formLogin(request, pages: pages) }
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let (user, token) = try await signIn(body)
        var response = try StaffUserResponse(user, csrfToken: StaffAuth.csrfToken(forSession: token))
            .response(from: request, context: context)
        response.setCookie(auth.sessionCookie(token))
        return response
    }

    /// The sign-in page's form (`userID`, `password`, `next`): on success a redirect to `next` (a staff page)
    /// or the home page; on any failure the page again, with one message whatever the reason.
    private func formLogin(_ request: Request, pages: StaffPageRenderer) async throws -> Response {
        var request = request
        let form = String(buffer: try await request.collectBody(upTo: RequestBodyPolicy.staffLimit))
        let next = StaffLoginPage.safeNext(FormQuery.value("next", in: form))
        let credentials = LoginRequest(userID: FormQuery.value("userID", in: form) ?? "",
                                       password: FormQuery.value("password", in: form) ?? "")
        do {
            let (_, token) = try await signIn(credentials)
            var response = StaffLoginPage.redirect(to: next ?? StaffLoginPage.homePath, status: .seeOther)
            response.setCookie(auth.sessionCookie(token))
            return response
        } catch let error as HTTPError where error.status == .unauthorized {
            return pages.loginPage(request: request, status: .unauthorized, failed: true, next: next)
        }
    }

    /// Checks the credentials and opens a session; returns the user and the session token. Every failure
    /// is audited and thrown as the same 401.
    private func signIn(_ body: LoginRequest) async throws -> (StaffUser, String) {
        let now = auth.clock()
        switch try await auth.store.authenticate(body.userID, password: body.password, now: now, lockout: auth.lockout) {
        case .success(let user):
            let session = try await auth.store.createSession(for: user, now: now)
            if session.replaced {
                try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .logout, object: .user(user.userID),
                                                       reason: "replaced_by_new_login"))
            }
            try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .login, object: .user(user.userID)))
            auth.logger.info("staff login", metadata: ["user": "\(user.userID)"])
            return (user, session.token)
        case .unknownUser:
            throw try await failedLogin(AuditEvent(actor: .unknown, action: .loginFailed, outcome: .failure, reason: "unknown_user"))
        case .disabled(let id):
            throw try await failedLogin(AuditEvent(actor: .staff(id), action: .loginFailed, object: .user(id), outcome: .failure, reason: "disabled"))
        case .locked(let id):
            throw try await failedLogin(AuditEvent(actor: .staff(id), action: .loginFailed, object: .user(id), outcome: .failure, reason: "locked"))
        case .wrongPassword(let id, let lockedNow):
            if lockedNow {
                try await auth.audit.record(AuditEvent(actor: .staff(id), action: .lockout, object: .user(id),
                                                       reason: "\(auth.lockout.threshold)_failures"))
            }
            throw try await failedLogin(AuditEvent(actor: .staff(id), action: .loginFailed, object: .user(id), outcome: .failure, reason: "wrong_password"))
        }
    }

    private func logout(_ request: Request, _ user: StaffUser) async throws -> Response {
        if let token = request.cookies[StaffAuth.cookieName]?.value {
            try await auth.store.endSession(token: token)
        }
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .logout, object: .user(user.userID), reason: "user"))
        auth.logger.info("staff logout", metadata: ["user": "\(user.userID)"])
        // The page's logout button is a form: back to the sign-in page, which says so.
        var response = pages != nil && StaffPageRenderer.isForm(request)
            ? StaffLoginPage.redirect(to: StaffLoginPage.path(notice: .loggedOut), status: .seeOther)
            : Response(status: .noContent)
        response.setCookie(auth.clearedCookie())
        return response
    }

    private func targetID(_ context: some StaffRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), StaffStore.isValidUserID(id) else {
            throw HTTPError(.badRequest, message: "invalid user ID")
        }
        return id
    }

    private func mapStaffError(_ error: StaffError) -> HTTPError {
        switch error {
        case .invalidUserID, .passwordTooShort: HTTPError(.badRequest, message: error.description)
        case .userExists: HTTPError(.conflict, message: error.description)
        case .unknownUser: HTTPError(.notFound, message: error.description)
        case .lastAdministrator, .cannotDisableSelf: HTTPError(.conflict, message: error.description)
        }
    }

    private func userChange(_ actor: StaffUser, _ target: String, _ reason: String, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as StaffError {
            try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .userChange, object: .user(target),
                                                   outcome: .failure, reason: reason))
            throw mapStaffError(error)
        }
        try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .userChange, object: .user(target), reason: reason))
        auth.logger.info("staff user change", metadata: ["by": "\(actor.userID)", "user": "\(target)", "change": "\(reason)"])
    }

    private func createUser(_ request: Request, _ context: some StaffRequestContext, by actor: StaffUser) async throws -> Response {
        let body = try await request.decode(as: NewUserRequest.self, context: context)
        guard StaffStore.isValidUserID(body.userID) else { throw HTTPError(.badRequest, message: StaffError.invalidUserID.description) }
        var created: StaffUser?
        try await userChange(actor, body.userID, "created role=\(body.role.rawValue)") {
            created = try await auth.store.addUser(body.userID, role: body.role, password: body.password, now: auth.clock())
        }
        var response = try StaffUserResponse(created!).response(from: request, context: context)
        response.status = .created
        return response
    }

    private func setDisabled(_ context: some StaffRequestContext, _ disabled: Bool, by actor: StaffUser) async throws -> HTTPResponse.Status {
        let id = try targetID(context)
        try await userChange(actor, id, disabled ? "disabled" : "enabled") {
            if disabled && id == actor.userID { throw StaffError.cannotDisableSelf(id) }
            try await auth.store.setDisabled(id, disabled)
        }
        return .noContent
    }

    private func resetPassword(_ request: Request, _ context: some StaffRequestContext, by actor: StaffUser) async throws -> HTTPResponse.Status {
        let id = try targetID(context)
        let body = try await request.decode(as: PasswordRequest.self, context: context)
        try await userChange(actor, id, "password_reset") {
            try await auth.store.setPassword(id, password: body.password, now: auth.clock())
        }
        return .noContent
    }

    private func export(_ request: Request, by user: StaffUser) async throws -> Response {
        let q = request.uri.queryParameters
        func bound(_ name: String, isEnd: Bool) throws -> Date? {
            guard let text = q.get(name) else { return nil }
            do {
                return try AuditExport.parseBound(text, isEnd: isEnd)
            } catch {
                throw HTTPError(.badRequest, message: "\(name): expected a date YYYY-MM-DD or an ISO 8601 time")
            }
        }
        let from = try bound("from", isEnd: false)
        let to = try bound("to", isEnd: true)
        if let from, let to, from >= to { throw HTTPError(.badRequest, message: "from: must be before to") }
        let lines = try await AuditExport.jsonLines(from: auth.audit, from: from, to: to)
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .export, object: .other("audit_log", "http"),
                                               reason: AuditExport.rangeDescription(from: from, to: to, count: lines.count)))
        var buffer = ByteBuffer()
        for line in lines {
            buffer.writeString(line)
            buffer.writeString("\n")
        }
        return Response(status: .ok, headers: [.contentType: "application/jsonl; charset=utf-8"], body: .init(byteBuffer: buffer))
    }

    private func verify(by user: StaffUser) async throws -> AuditVerificationResponse {
        try await auth.audit.flush()
        let result = try await AuditVerifier(database: auth.audit.database, signer: checkpointSigner,
                                            anchors: auth.audit.anchors?.readOwnAnchors()).verify()
        try await auth.audit.record(AuditEvent(actor: .staff(user.userID), action: .auditVerify, object: .other("audit_log", "http"),
                                               outcome: result.isIntact ? .success : .failure,
                                               reason: result.isIntact ? "intact" : "\(result.problems.count)_problems"))
        return AuditVerificationResponse(result)
    }
}

/// A user as returned by the staff API (never with a password hash).
public struct StaffUserResponse: ResponseCodable, Equatable {
    public var userID: String
    public var role: StaffRole
    public var permissions: [String]
    public var disabled: Bool
    public var locked: Bool
    /// The session's CSRF token (only in the sign-in answer and `GET me`): send it as `X-CSRF-Token` with
    /// every state-changing request.
    public var csrfToken: String?

    public init(_ user: StaffUser, csrfToken: String? = nil) {
        userID = user.userID
        role = user.role
        permissions = user.role.permissions.map(\.rawValue).sorted()
        disabled = user.disabled
        locked = user.lockedUntil != nil
        self.csrfToken = csrfToken
    }
}

/// The result of `GET audit/verify`.
public struct AuditVerificationResponse: ResponseCodable, Equatable {
    public var intact: Bool
    public var entriesChecked: Int
    public var checkpointsChecked: Int
    public var problems: [String]

    public init(_ v: AuditVerification) {
        intact = v.isIntact
        entriesChecked = v.entriesChecked
        checkpointsChecked = v.checkpointsChecked
        problems = v.problems.map(\.description)
    }
}
