import Foundation
import HTTPTypes
import Hummingbird
import KofuSeal
import KofuStorage

/// The administrator's pages: the account review list with the form to add a user
/// (`/staff/admin/users`), one account's forms — role, disable/enable, password reset
/// (`/staff/admin/users/:id`) — and the seal key page with its rotation (`/staff/admin/keys`).
///
/// Every form posts `_csrf` and answers with a redirect (post/redirect/get); the page it leads to shows a
/// fixed notice or error chosen by a code in the query, so no text is taken from the URL. Every change is
/// audited, refused ones too (`user_change` / `key_operation`, outcome `failure`).
public struct AdminPages: Sendable {
    public let auth: StaffAuth
    public let pages: StaffPageRenderer
    /// The seal keys in force; nil serves the user pages only (the key page answers 404).
    public let sealKeys: SealKeys?

    public init(auth: StaffAuth, pages: StaffPageRenderer, sealKeys: SealKeys?) {
        self.auth = auth
        self.pages = pages
        self.sealKeys = sealKeys
    }

    public static let users = StaffEndpoint(.get, "admin/users", .permission(.userAdministration))
    public static let addUser = StaffEndpoint(.post, "admin/users", .permission(.userAdministration))
    public static let user = StaffEndpoint(.get, "admin/users/:id", .permission(.userAdministration))
    public static let changeRole = StaffEndpoint(.post, "admin/users/:id/role", .permission(.userAdministration))
    public static let disable = StaffEndpoint(.post, "admin/users/:id/disable", .permission(.userAdministration))
    public static let enable = StaffEndpoint(.post, "admin/users/:id/enable", .permission(.userAdministration))
    public static let resetPassword = StaffEndpoint(.post, "admin/users/:id/password", .permission(.userAdministration))
    public static let keys = StaffEndpoint(.get, "admin/keys", .permission(.keyOperations))
    public static let confirmRotation = StaffEndpoint(.get, "admin/keys/rotate", .permission(.keyOperations))
    public static let rotate = StaffEndpoint(.post, "admin/keys/rotate", .permission(.keyOperations))
    public static let endpoints = [users, addUser, user, changeRole, disable, enable, resetPassword, keys, confirmRotation, rotate]

    static let usersPath = "/staff/admin/users"
    static let keysPath = "/staff/admin/keys"

    public func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.users) { request, _, user in try await self.usersPage(request, user: user) }
        staff.add(Self.addUser) { request, _, user in try await self.addUser(request, by: user) }
        staff.add(Self.user) { request, context, user in try await self.userPage(request, id: try Self.target(context), user: user) }
        staff.add(Self.changeRole) { request, context, user in try await self.changeRole(request, id: try Self.target(context), by: user) }
        staff.add(Self.disable) { _, context, user in try await self.setDisabled(true, id: try Self.target(context), by: user) }
        staff.add(Self.enable) { _, context, user in try await self.setDisabled(false, id: try Self.target(context), by: user) }
        staff.add(Self.resetPassword) { request, context, user in try await self.resetPassword(request, id: try Self.target(context), by: user) }
        staff.add(Self.keys) { request, _, user in try self.keysPage(request, user: user) }
        staff.add(Self.confirmRotation) { request, _, user in
            _ = try self.keysInForce()
            return try pages.page("admin/rotate", title: "公印鍵の更新の確認", content: EmptyView(), user: user, request: request)
        }
        staff.add(Self.rotate) { request, _, user in try await self.rotate(request, by: user) }
    }

    static func target(_ context: some StaffRequestContext) throws -> String {
        guard let id = context.parameters.get("id"), StaffStore.isValidUserID(id) else { throw HTTPError(.notFound) }
        return id
    }

    static func form(_ request: Request) async throws -> String {
        var request = request
        return String(buffer: try await request.collectBody(upTo: RequestBodyPolicy.staffLimit))
    }

    // MARK: Accounts

    private func usersPage(_ request: Request, user: StaffUser) async throws -> Response {
        let q = request.uri.queryParameters
        let view = AccountListView(users: try await auth.store.users(), now: auth.clock(),
                                   notice: q.get("done").flatMap(AdminNotice.init(rawValue:)),
                                   error: q.get("error").flatMap(AdminFailure.init(rawValue:)),
                                   subject: q.get("user").flatMap { StaffStore.isValidUserID($0) ? $0 : nil })
        return try pages.page("admin/users", title: "職員アカウントの管理", content: view, user: user, request: request)
    }

    private func userPage(_ request: Request, id: String, user: StaffUser) async throws -> Response {
        guard let account = try await auth.store.user(id) else { throw HTTPError(.notFound) }
        let q = request.uri.queryParameters
        let view = AccountView(account, now: auth.clock(), isSelf: account.userID == user.userID,
                               notice: q.get("done").flatMap(AdminNotice.init(rawValue:)),
                               error: q.get("error").flatMap(AdminFailure.init(rawValue:)))
        return try pages.page("admin/user", title: "職員アカウント \(account.userID)", content: view, user: user, request: request)
    }

    private func addUser(_ request: Request, by actor: StaffUser) async throws -> Response {
        let form = try await Self.form(request)
        let id = (FormQuery.value("userID", in: form) ?? "").trimmingCharacters(in: .whitespaces)
        let password = FormQuery.value("password", in: form) ?? ""
        guard StaffStore.isValidUserID(id) else { return Self.back(Self.usersPath, error: .invalidUserID) }
        guard let role = FormQuery.value("role", in: form).flatMap(StaffRole.init(rawValue:)) else {
            return Self.back(Self.usersPath, error: .invalidRole)
        }
        guard password == FormQuery.value("passwordConfirm", in: form) else { return Self.back(Self.usersPath, error: .passwordMismatch) }
        if let failure = try await change(actor, id, "created role=\(role.rawValue)", {
            _ = try await auth.store.addUser(id, role: role, password: password, now: auth.clock())
        }) {
            return Self.back(Self.usersPath, error: failure)
        }
        return Self.redirect("\(Self.usersPath)?done=\(AdminNotice.created.rawValue)&user=\(id)")
    }

    private func changeRole(_ request: Request, id: String, by actor: StaffUser) async throws -> Response {
        let form = try await Self.form(request)
        let page = "\(Self.usersPath)/\(id)"
        guard let role = FormQuery.value("role", in: form).flatMap(StaffRole.init(rawValue:)) else { return Self.back(page, error: .invalidRole) }
        if let failure = try await change(actor, id, "role=\(role.rawValue)", {
            // An administrator cannot change their own role: another administrator must, so nobody grants
            // themselves a role or drops out of administration by mistake.
            if id == actor.userID { throw AdminRefusal.ownRole }
            try await auth.store.setRole(id, role)
        }) {
            return Self.back(page, error: failure)
        }
        return Self.redirect("\(page)?done=\(AdminNotice.roleChanged.rawValue)")
    }

    private func setDisabled(_ disabled: Bool, id: String, by actor: StaffUser) async throws -> Response {
        let page = "\(Self.usersPath)/\(id)"
        if let failure = try await change(actor, id, disabled ? "disabled" : "enabled", {
            if disabled && id == actor.userID { throw StaffError.cannotDisableSelf(id) }
            try await auth.store.setDisabled(id, disabled)
        }) {
            return Self.back(page, error: failure)
        }
        return Self.redirect("\(page)?done=\((disabled ? AdminNotice.disabled : .enabled).rawValue)")
    }

    private func resetPassword(_ request: Request, id: String, by actor: StaffUser) async throws -> Response {
        let form = try await Self.form(request)
        let page = "\(Self.usersPath)/\(id)"
        let password = FormQuery.value("password", in: form) ?? ""
        guard password == FormQuery.value("passwordConfirm", in: form) else { return Self.back(page, error: .passwordMismatch) }
        if let failure = try await change(actor, id, "password_reset", {
            try await auth.store.setPassword(id, password: password, now: auth.clock())
        }) {
            return Self.back(page, error: failure)
        }
        return Self.redirect("\(page)?done=\(AdminNotice.passwordReset.rawValue)")
    }

    /// Runs an account change and audits it (`user_change`, the reason without any password); returns what
    /// refused it, or nil when it was done.
    private func change(_ actor: StaffUser, _ target: String, _ reason: String, _ body: () async throws -> Void) async throws -> AdminFailure? {
        let failure: AdminFailure
        do {
            try await body()
            try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .userChange, object: .user(target), reason: reason))
            auth.logger.info("staff user change", metadata: ["by": "\(actor.userID)", "user": "\(target)", "change": "\(reason)"])
            return nil
        } catch let error as StaffError {
            failure = AdminFailure(error)
        } catch let error as AdminRefusal {
            failure = error == .ownRole ? .ownRole : .invalidRole
        }
        try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .userChange, object: .user(target),
                                               outcome: .failure, reason: "\(reason) refused=\(failure.rawValue)"))
        return failure
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func back(_ page: String, error: AdminFailure) -> Response { redirect("\(page)?error=\(error.rawValue)") }

    // MARK: Seal keys

    private func keysInForce() throws -> SealKeys {
        guard let sealKeys else { throw HTTPError(.notFound) }
        return sealKeys
    }

    private func keysPage(_ request: Request, user: StaffUser) throws -> Response {
        let keys = try keysInForce()
        let q = request.uri.queryParameters
        let view = KeysView(keys, rotated: q.get("done") == "rotated", failed: q.get("error") == "rotation_failed")
        return try pages.page("admin/keys", title: "公印鍵の操作", content: view, user: user, request: request)
    }

    /// What `kofu keys rotate` does, from the page: a new active key, the old one signing no more from today;
    /// the server takes it at once. Audited as the command audits it, with the staff member as actor.
    private func rotate(_ request: Request, by actor: StaffUser) async throws -> Response {
        let keys = try keysInForce()
        let form = try await Self.form(request)
        guard FormQuery.value("confirm", in: form) == "yes" else { return Self.redirect("\(Self.keysPath)/rotate") }
        let previous = keys.signingKeyID
        do {
            let entry = try SealKeyInstall.install(settings: keys.settings, municipality: keys.municipalityCode,
                                                  validFrom: .todayInJapan(now: auth.clock()), replace: true)
            try keys.reloadIfChanged()
            try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .keyOperation,
                                                   object: .other("seal_key", entry.keyIDHex),
                                                   reason: "rotate previous=\(previous) not_after=\(entry.notAfter.iso) via=staff_page"))
            auth.logger.notice("seal key rotated from the staff page", metadata: ["by": "\(actor.userID)", "signing_key_id": "\(entry.keyIDHex)"])
        } catch {
            try await auth.audit.record(AuditEvent(actor: .staff(actor.userID), action: .keyOperation, object: .other("seal_key", previous),
                                                   outcome: .failure, reason: "rotate failed=\(type(of: error)) via=staff_page"))
            auth.logger.error("seal key rotation from the staff page failed", metadata: ["error": "\(error)"])
            return Self.redirect("\(Self.keysPath)?error=rotation_failed")
        }
        return Self.redirect("\(Self.keysPath)?done=rotated")
    }
}

/// Refusals of the pages' own (the store's are `StaffError`).
enum AdminRefusal: Error, Equatable {
    case ownRole
}

/// What a successful form did, as `?done=` names it.
enum AdminNotice: String {
    case created
    case roleChanged = "role_changed"
    case disabled
    case enabled
    case passwordReset = "password_reset"

    var text: String {
        switch self {
        case .created: "アカウントを登録しました。初期パスワードを本人に安全な方法で伝えてください。"
        case .roleChanged: "役割を変更しました。本人は次回のログインから新しい役割で利用します。"
        case .disabled: "アカウントを無効にしました。ログイン中の場合はログアウトされました。"
        case .enabled: "アカウントを有効にしました。ロックも解除されています。"
        case .passwordReset: "パスワードを再設定しました。新しいパスワードを本人に安全な方法で伝えてください。"
        }
    }
}

/// Why a form was refused, as `?error=` names it.
enum AdminFailure: String {
    case invalidUserID = "invalid_user_id"
    case invalidRole = "invalid_role"
    case userExists = "user_exists"
    case unknownUser = "unknown_user"
    case passwordTooShort = "password_too_short"
    case passwordMismatch = "password_mismatch"
    case lastAdministrator = "last_administrator"
    case ownAccount = "own_account"
    case ownRole = "own_role"

    init(_ error: StaffError) {
        switch error {
        case .invalidUserID: self = .invalidUserID
        case .userExists: self = .userExists
        case .unknownUser: self = .unknownUser
        case .passwordTooShort: self = .passwordTooShort
        case .lastAdministrator: self = .lastAdministrator
        case .cannotDisableSelf: self = .ownAccount
        }
    }

    var text: String {
        switch self {
        case .invalidUserID: "ユーザーIDは、半角の英小文字・数字・「.」「_」「-」で 1〜64 文字にしてください。"
        case .invalidRole: "役割を選んでください。"
        case .userExists: "このユーザーIDはすでに登録されています。別のIDにしてください。"
        case .unknownUser: "このアカウントは登録されていません。"
        case .passwordTooShort: "パスワードは \(StaffStore.minimumPasswordLength) 文字以上にしてください。"
        case .passwordMismatch: "パスワードと確認用のパスワードが一致しません。"
        case .lastAdministrator: "有効な管理者が他にいないため、この操作はできません。先に別の管理者を登録してください。"
        case .ownAccount: "自分のアカウントは無効にできません。別の管理者に依頼してください。"
        case .ownRole: "自分の役割は変更できません。別の管理者に依頼してください。"
        }
    }
}

struct EmptyView {}

/// The account review list.
struct AccountListView {
    struct Row {
        var userID: String
        var role: String
        var enabled: Bool
        var lockedUntil: String?
        var lastLogin: String
        var failedLogins: Int
        var href: String
    }

    var rows: [Row]
    var notice: String?
    var error: String?
    var roles: [SelectOption]

    init(users: [StaffUser], now: Date, notice: AdminNotice?, error: AdminFailure?, subject: String?) {
        rows = users.map { u in
            Row(userID: u.userID, role: u.role.japaneseName, enabled: !u.disabled,
                lockedUntil: u.isLocked(at: now) ? u.lockedUntil.map(StaffTime.display) : nil,
                lastLogin: u.lastLoginAt.map(StaffTime.display) ?? "なし", failedLogins: u.failedLogins,
                href: "\(AdminPages.usersPath)/\(u.userID)")
        }
        self.notice = notice.map { n in (subject.map { "\($0): " } ?? "") + n.text }
        self.error = error?.text
        roles = [SelectOption(value: "", label: "選んでください", selected: true)]
            + StaffRole.allCases.map { SelectOption(value: $0.rawValue, label: $0.japaneseName, selected: false) }
    }
}

/// One account's page.
struct AccountView {
    var userID: String
    var role: String
    var enabled: Bool
    var lockedUntil: String?
    var lastLogin: String
    var failedLogins: Int
    var createdAt: String
    var passwordChangedAt: String
    var isSelf: Bool
    var notice: String?
    var error: String?
    var roles: [SelectOption]
    var base: String

    init(_ u: StaffUser, now: Date, isSelf: Bool, notice: AdminNotice?, error: AdminFailure?) {
        userID = u.userID
        role = u.role.japaneseName
        enabled = !u.disabled
        lockedUntil = u.isLocked(at: now) ? u.lockedUntil.map(StaffTime.display) : nil
        lastLogin = u.lastLoginAt.map(StaffTime.display) ?? "なし"
        failedLogins = u.failedLogins
        createdAt = StaffTime.display(u.createdAt)
        passwordChangedAt = StaffTime.display(u.passwordChangedAt)
        self.isSelf = isSelf
        self.notice = notice?.text
        self.error = error?.text
        roles = StaffRole.allCases.map { SelectOption(value: $0.rawValue, label: $0.japaneseName, selected: $0 == u.role) }
        base = "\(AdminPages.usersPath)/\(u.userID)"
    }
}

/// The seal key page.
struct KeysView {
    struct Key {
        var keyID: String
        var municipality: String
        var notBefore: String
        var signingUntil: String
        var notAfter: String
        var signing: Bool
    }

    var signingKeyID: String
    var keys: [Key]
    var notice: String?
    var error: String?

    init(_ sealKeys: SealKeys, rotated: Bool, failed: Bool) {
        signingKeyID = sealKeys.signingKeyID
        keys = sealKeys.keyring.entries.map { e in
            Key(keyID: e.keyIDHex, municipality: e.municipalityCode, notBefore: e.notBefore.iso,
                signingUntil: e.signingUntil?.iso ?? "(署名中)", notAfter: e.notAfter.iso, signing: e.keyIDHex == sealKeys.signingKeyID)
        }
        notice = rotated ? "公印鍵を更新しました。新しい証明書は新しい鍵で署名されます。以前の鍵で署名された証明書は、有効期限まで検証できます。" : nil
        error = failed ? "公印鍵を更新できませんでした。これまでの鍵で署名を続けています。運用担当に連絡してください。" : nil
    }
}
