import Foundation
import HTTPTypes
import Hummingbird
import KofuStorage
import Mustache

/// The staff pages' templates (`<paths.templates>/staff/**/*.mustache`), read once at start, and the shell
/// every page is drawn in: the layout with the signed-in user, the role's menu and the logout button.
///
/// A page template names the layout as its parent and fills its `main` block:
/// `{{<layout}}{{$main}}…{{/main}}{{/layout}}`. It sees the shell's values (`title`, `user`, `csrfToken`,
/// `menu`) and its own under `page`. Pages are served with a Content-Security-Policy that allows styles
/// inline but scripts only as files from Kofu itself.
public struct StaffPageRenderer: Sendable {
    /// The templates the shell itself needs; a directory without one of them is refused at start.
    public static let requiredTemplates = ["layout", "style", "login", "home", "error"]

    /// Where the templates were read from.
    public let directory: String
    let library: MustacheLibrary

    /// Reads and parses every `.mustache` file under `directory` (names are the path below it without the
    /// extension: `layout`, `counter/lookup`). Throws, naming the file, on a template that does not parse
    /// or a required one that is missing.
    public init(directory: String) throws {
        self.directory = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue,
              let files = FileManager.default.enumerator(atPath: directory) else {
            throw StaffTemplateError.noDirectory(directory)
        }
        var templates: [String: MustacheTemplate] = [:]
        for case let file as String in files where file.hasSuffix(".mustache") {
            let path = (directory as NSString).appendingPathComponent(file)
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw StaffTemplateError.unreadable(path)
            }
            do {
                templates[String(file.dropLast(".mustache".count))] = try MustacheTemplate(string: text)
            } catch let error as MustacheTemplate.ParserError {
                throw StaffTemplateError.invalid(file: path, line: error.context.lineNumber, column: error.context.columnNumber,
                                                 problem: "\(error.error)")
            }
        }
        for name in Self.requiredTemplates where templates[name] == nil {
            throw StaffTemplateError.missing((directory as NSString).appendingPathComponent(name + ".mustache"))
        }
        library = MustacheLibrary(templates: templates)
    }

    /// Whether the client is a browser that should see pages rather than JSON errors: it accepts
    /// `text/html` (as a navigation or a form post does) and did not send a JSON body (a program did).
    public static func prefersHTML(_ request: Request) -> Bool {
        request.headers[values: .accept].contains { $0.lowercased().contains("text/html") }
            && RequestBodyPolicy.mediaType(request) != "application/json"
    }

    /// Whether the request body is an HTML form post.
    public static func isForm(_ request: Request) -> Bool {
        RequestBodyPolicy.mediaType(request) == "application/x-www-form-urlencoded"
    }

    /// Renders `template` in the shell: `content` is the page's own values (`page` in the template), `user`
    /// the signed-in staff member (nil on the sign-in page and an anonymous error page).
    public func page(_ template: String, title: String, content: some Any, user: StaffUser?, request: Request,
                     status: HTTPResponse.Status = .ok) throws -> Response {
        let view = StaffPageView(title: title, user: user.map(SignedInView.init), csrfToken: Self.csrfToken(request, user: user),
                                 menu: user.map { StaffMenu.navigation(for: $0.role, current: request.uri.path) } ?? [],
                                 page: content)
        guard let html = library.render(view, withTemplate: template) else {
            throw StaffTemplateError.missing((directory as NSString).appendingPathComponent(template + ".mustache"))
        }
        return Self.htmlResponse(html, status: status)
    }

    /// A page of the shell's own: its template is one of `requiredTemplates`, present since `init`.
    func shellPage(_ template: String, title: String, content: some Any, user: StaffUser?, request: Request,
                   status: HTTPResponse.Status = .ok) -> Response {
        do {
            return try page(template, title: title, content: content, user: user, request: request, status: status)
        } catch {
            preconditionFailure("\(error)")
        }
    }

    static func csrfToken(_ request: Request, user: StaffUser?) -> String? {
        guard user != nil, let session = request.cookies[StaffAuth.cookieName]?.value, !session.isEmpty else { return nil }
        return StaffAuth.csrfToken(forSession: session)
    }

    /// An HTML response that no other site may frame, with scripts only from Kofu itself.
    static func htmlResponse(_ html: String, status: HTTPResponse.Status) -> Response {
        var headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8",
            .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                + "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ]
        headers[.xContentTypeOptions] = "nosniff"
        headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// What the layout shows around every page.
struct StaffPageView<Content> {
    var title: String
    var user: SignedInView?
    /// The session's CSRF token, sent back as `_csrf` by every form (the logout button too).
    var csrfToken: String?
    var menu: [StaffMenu.Link]
    var page: Content
}

/// The signed-in user as the header shows them.
struct SignedInView {
    var userID: String
    var roleName: String

    init(_ user: StaffUser) {
        userID = user.userID
        roleName = user.role.japaneseName
    }
}

extension StaffRole {
    /// The role's name on the staff pages.
    public var japaneseName: String {
        switch self {
        case .counterClerk: "窓口担当"
        case .counterSupervisor: "窓口責任者"
        case .operator: "運用担当"
        case .auditor: "監査担当"
        case .administrator: "管理者"
        }
    }
}

/// Why the staff templates could not be loaded (at start).
public enum StaffTemplateError: Error, CustomStringConvertible, Equatable {
    case noDirectory(String)
    case unreadable(String)
    case invalid(file: String, line: Int, column: Int, problem: String)
    case missing(String)

    public var description: String {
        switch self {
        case .noDirectory(let path): "\(path): the staff templates directory does not exist (paths.templates)"
        case .unreadable(let path): "\(path): cannot read the template as UTF-8 text"
        case .invalid(let file, let line, let column, let problem): "\(file):\(line):\(column): invalid template: \(problem)"
        case .missing(let path): "\(path): template missing"
        }
    }
}
