import HTTPTypes
import Hummingbird
import KofuStorage

/// What a browser sees when a staff request fails: the sign-in page for a missing session, otherwise the
/// error page in Japanese. The English messages of the JSON errors are never shown (they are for programs).
enum StaffErrorPage: Equatable {
    case badRequest
    case forbidden
    /// A form from another site, or one whose token belongs to an earlier session.
    case forgery
    case notFound
    case conflict
    case internalError

    init(_ error: any Error) {
        if let denial = error as? StaffDenial {
            self = denial == .forgery ? .forgery : .forbidden
            return
        }
        switch (error as? any HTTPResponseError)?.status.code ?? 500 {
        case 403: self = .forbidden
        case 404: self = .notFound
        case 409: self = .conflict
        case 400..<500: self = .badRequest
        default: self = .internalError
        }
    }

    var heading: String {
        switch self {
        case .badRequest: "入力内容に誤りがあります"
        case .forbidden: "権限がありません"
        case .forgery: "この操作は受け付けられませんでした"
        case .notFound: "ページが見つかりません"
        case .conflict: "この操作は実行できません"
        case .internalError: "エラーが発生しました"
        }
    }

    var message: String {
        switch self {
        case .badRequest: "入力内容を確認して、もう一度操作してください。"
        case .forbidden: "この画面・操作は、ログイン中の職員の役割では利用できません。必要な場合は管理者に相談してください。"
        case .forgery: "画面の有効期限が切れたか、別のサイトから送信された可能性があります。画面を開き直してから、もう一度操作してください。"
        case .notFound: "URLを確認してください。メニューから目的の画面を開けます。"
        case .conflict: "現在の状態ではこの操作を実行できません。状態を確認してから、もう一度操作してください。"
        case .internalError: "処理中にエラーが発生しました。しばらくしてから、もう一度操作してください。続く場合は運用担当に連絡してください。"
        }
    }

    struct View {
        var status: Int
        var heading: String
        var message: String
    }
}

extension StaffPageRenderer {
    /// The answer to a browser whose staff request threw `error`: without a session, a redirect to the
    /// sign-in page (which returns to the page asked for, when it was a GET); otherwise the error page with
    /// the error's status.
    func errorResponse(_ error: any Error, request: Request, user: StaffUser?, sessionExpired: Bool) -> Response {
        let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
        if status == .unauthorized {
            let back = request.method == .get ? request.uri.path + (request.uri.query.map { "?" + $0 } ?? "") : nil
            return StaffLoginPage.redirect(to: StaffLoginPage.path(notice: sessionExpired ? .expired : nil, next: back),
                                           status: request.method == .get ? .found : .seeOther)
        }
        let kind = StaffErrorPage(error)
        let view = StaffErrorPage.View(status: Int(status.code), heading: kind.heading, message: kind.message)
        return shellPage("error", title: kind.heading, content: view, user: user, request: request, status: status)
    }
}
