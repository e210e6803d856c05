import Foundation
import HTTPTypes
import Hummingbird
import KofuStorage

/// The staff web application's entry: the home page (`GET /staff`, the role's menu) and the sign-in page
/// (`GET /staff/login`). Signing in and out are `StaffController`'s `POST login` / `POST logout`, which
/// take this page's forms. Mount after `StaffController.addRoutes`, on the `StaffRoutes` it returns.
public struct StaffShellController: Sendable {
    public let pages: StaffPageRenderer

    public init(pages: StaffPageRenderer) { self.pages = pages }

    /// Open to anyone: without a session it sends the browser to the sign-in page.
    public static let home = StaffEndpoint(.get, "", .anyone)
    public static let loginForm = StaffEndpoint(.get, "login", .anyone)
    public static let endpoints = [home, loginForm]

    public func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.addPublic(Self.home) { request, context in
            guard let user = context.staff else { return StaffLoginPage.redirect(to: StaffLoginPage.loginPath, status: .found) }
            return pages.shellPage("home", title: "ホーム", content: HomeView(user.role), user: user, request: request)
        }
        staff.addPublic(Self.loginForm) { request, context in
            if context.staff != nil { return StaffLoginPage.redirect(to: StaffLoginPage.homePath, status: .found) }
            let query = request.uri.queryParameters
            return pages.loginPage(request: request, status: .ok, notice: query.get("notice").flatMap(StaffLoginPage.Notice.init),
                                   next: StaffLoginPage.safeNext(query.get("next")))
        }
    }
}

/// The home page: the role's features by area.
struct HomeView {
    struct Area {
        var id: String
        var title: String
        var items: [Item]
    }

    struct Item {
        var label: String
        var summary: String
        var href: String?
    }

    var roleName: String
    var areas: [Area]

    init(_ role: StaffRole) {
        roleName = role.japaneseName
        areas = StaffMenu.areas(for: role).map { area, items in
            Area(id: area.rawValue, title: area.title,
                 items: items.map { Item(label: $0.label, summary: $0.summary, href: $0.href) })
        }
    }
}

/// The sign-in page, its notices and the redirects around it.
enum StaffLoginPage {
    static let homePath = "/staff"
    static let loginPath = "/staff/login"
    /// The one message for every failed sign-in: it never tells an unknown user from a locked or disabled one.
    static let failureMessage = "ユーザーIDまたはパスワードが正しくありません。"

    /// Why the sign-in page is shown (`?notice=`): a fixed text each, so no text is taken from the URL.
    enum Notice: String {
        case loggedOut = "logged_out"
        case expired

        var text: String {
            switch self {
            case .loggedOut: "ログアウトしました。"
            case .expired: "一定時間操作がなかったため、ログアウトしました。もう一度ログインしてください。"
            }
        }
    }

    struct View {
        var notice: String?
        var error: String?
        var next: String?
    }

    /// `/staff/login`, with a notice and the page to return to.
    static func path(notice: Notice? = nil, next: String? = nil) -> String {
        var query: [String] = []
        if let notice { query.append("notice=" + notice.rawValue) }
        if let next = safeNext(next), next != homePath {
            query.append("next=" + (next.addingPercentEncoding(withAllowedCharacters: queryValueCharacters) ?? homePath))
        }
        return loginPath + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
    }

    private static let queryValueCharacters = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~/"))

    /// `next` if it is a staff page to return to after signing in, else nil: a path on this server under
    /// `/staff` (never another host, `//host` or `\\host`, never the sign-in or sign-out endpoints).
    static func safeNext(_ next: String?) -> String? {
        guard let next, next.utf8.count <= 512, next == homePath || next.hasPrefix(homePath + "/"),
              next.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }),
              !next.contains("//"), !next.contains("\\"), !next.contains(".."),
              !next.hasPrefix(loginPath), !next.hasPrefix("/staff/logout") else { return nil }
        return next
    }

    static func redirect(to location: String, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.location: location, .cacheControl: "no-store"])
    }
}

extension StaffPageRenderer {
    /// The sign-in page; `failed` shows the one failure message.
    func loginPage(request: Request, status: HTTPResponse.Status, failed: Bool = false, notice: StaffLoginPage.Notice? = nil,
                   next: String?) -> Response {
        let view = StaffLoginPage.View(notice: notice?.text, error: failed ? StaffLoginPage.failureMessage : nil, next: next)
        return shellPage("login", title: "ログイン", content: view, user: nil, request: request, status: status)
    }
}
