import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// 交付履歴, 再交付 and 窓口収納 (issue #12): the issuance history of a resident or a certificate number
/// (metadata only, never amounts), the reprint form reached from it, and the cash desk's list of the day. The
/// same permissions, audit and rules as the JSON API: both call `CounterService`.
struct HistoryPages: Sendable {
    let counter: CounterService
    let pages: StaffPageRenderer

    static let history = StaffEndpoint(.get, "history", .permission(.viewIssuanceHistory))
    static let reprintForm = StaffEndpoint(.get, "counter/issuances/:id/reprint", .permission(.counterIssue))
    static let reprint = StaffEndpoint(.post, "counter/issuances/:id/reprint", .permission(.counterIssue))
    static let takings = StaffEndpoint(.get, "counter/takings", .permission(.counterIssue))
    static let endpoints = [history, reprintForm, reprint, takings]

    static let historyRoot = "/staff/history"

    static func historyPath(addressee: String) -> String { "\(historyRoot)?addressee=\(addressee)" }
    static func historyPath(number: String) -> String {
        "\(historyRoot)?number=\(number.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? "")"
    }
    static func reprintPath(_ id: String) -> String { "\(CounterPages.issuancePath(id))/reprint" }

    func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.history) { request, _, user in try await historyPage(request, user: user) }
        staff.add(Self.reprintForm) { request, context, user in
            let original = try await original(context)
            return try await showReprintForm(original, form: ReprintForm(), error: nil, request, user: user, status: .ok)
        }
        staff.add(Self.reprint) { request, context, user in try await reprintPost(request, context, user: user) }
        staff.add(Self.takings) { request, _, user in try await takingsPage(request, user: user) }
    }

    // MARK: - 交付履歴

    private func historyPage(_ request: Request, user: StaffUser) async throws -> Response {
        let q = request.uri.queryParameters
        var view = HistoryView(addressee: q.get("addressee") ?? "", number: q.get("number") ?? "")
        let addressee = view.addressee.trimmingCharacters(in: .whitespaces)
        let number = view.number.trimmingCharacters(in: .whitespaces)
        guard !addressee.isEmpty || !number.isEmpty else { return try render("counter/history", "交付履歴照会", view, user, request) }
        let canReprint = user.role.allows(.counterIssue)
        let entries: [CounterService.HistoryEntry]
        do {
            if !addressee.isEmpty {
                guard let id = AddresseeID(addressee) else {
                    view.error = "宛名番号は1〜15桁の半角数字で入力してください。"
                    return try render("counter/history", "交付履歴照会", view, user, request, status: .badRequest)
                }
                entries = try await counter.history(id, by: user.userID)
                view.subject = "宛名番号 \(id.value)"
            } else {
                entries = [try await counter.history(number: number, by: user.userID)]
                view.subject = "証明書番号 \(number)"
            }
        } catch CounterError.issuanceNotFound {
            view.error = "この証明書番号の交付記録はありません。"
            return try render("counter/history", "交付履歴照会", view, user, request, status: .notFound)
        }
        // A reprint names its original by issuance id; the clerk knows it by its number.
        var originalNumbers: [String: String] = [:]
        for e in entries { originalNumbers[e.record.id] = e.numbers.first?.number }
        for e in entries {
            if let of = e.reprint?.reprintOf, originalNumbers[of] == nil {
                originalNumbers[of] = try await counter.issuance.ledger.get(id: of)?.numbers.first?.value
            }
        }
        view.rows = entries.map { HistoryRow($0, originalNumber: $0.reprint?.reprintOf.flatMap { originalNumbers[$0] }, canReprint: canReprint) }
        view.searched = true
        view.empty = entries.isEmpty
        if addressee.isEmpty, let owner = entries.first?.record.addresseeID { view.residentHref = Self.historyPath(addressee: owner) }
        return try render("counter/history", "交付履歴照会", view, user, request)
    }

    // MARK: - 再交付

    private func original(_ context: some RequestContext) async throws -> IssuanceRecord {
        let id = try CounterController.id(context)
        guard let record = try await counter.issuance.ledger.get(id: id), record.addresseeID != nil else { throw HTTPError(.notFound) }
        return record
    }

    private func showReprintForm(_ original: IssuanceRecord, form: ReprintForm, error: String?, newIssuanceHref: String? = nil,
                                 _ request: Request, user: StaffUser, status: HTTPResponse.Status) async throws -> Response {
        var person: Person?
        if let id = original.addresseeID.flatMap(AddresseeID.init) { person = try await counter.issuance.taxData.person(id) }
        let view = ReprintView(original: original, numbers: try await counter.issuance.ledger.numberStatuses(original.id),
                               person: person, form: form, error: error, newIssuanceHref: newIssuanceHref)
        return try render("counter/reprint", "再交付", view, user, request, status: status)
    }

    private func reprintPost(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        var request = request
        let fields = FormFields(String(buffer: try await request.collectBody(upTo: RequestBodyPolicy.staffLimit)))
        let original = try await original(context)
        let form = ReprintForm(reason: fields.first("reason") ?? "", note: fields.first("reason_text") ?? "",
                               document: fields.first("document") ?? "", applicant: fields.first("applicant") ?? "",
                               powerOfAttorney: fields.first("power_of_attorney") == "yes")
        // The form's own checks first, each in words a clerk can act on.
        var problem: String?
        let reason = CounterService.ReprintReason(rawValue: form.reason)
        let note = form.note.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason == nil { problem = "再交付の理由を選んでください。" }
        else if reason == .other && note.isEmpty { problem = "「その他」の場合は理由を入力してください。" }
        else if note.count > 200 { problem = "理由は200文字以内で入力してください。" }
        else if !IdentityCheck.documents.contains(form.document) { problem = "本人確認書類を選んでください。" }
        else if form.applicant != "self" && form.applicant != "proxy" { problem = "申請者(本人・代理人)を選んでください。" }
        else if form.applicant == "proxy" && !form.powerOfAttorney { problem = "代理人の場合は委任状を確認し、「委任状を確認した」にチェックしてください。" }
        guard let reason, problem == nil else {
            return try await showReprintForm(original, form: form, error: problem, request, user: user, status: .badRequest)
        }
        do {
            let record = try await counter.reprint(original: original.id, reason: reason, note: note,
                                                   identity: IdentityCheck(document: form.document, applicant: form.applicant,
                                                                           powerOfAttorney: form.powerOfAttorney),
                                                   by: user.userID)
            return StaffLoginPage.redirect(to: CounterPages.issuancePath(record.id), status: .seeOther)
        } catch CounterError.contentChanged {
            let href = original.addresseeID.map {
                "\(CounterPages.root)/residents/\($0)/issue?kind=\(original.kind.rawValue)&year=\(original.fiscalYear)&purpose=reissue"
            }
            return try await showReprintForm(original, form: form, error: CounterError.contentChanged.message, newIssuanceHref: href, request,
                                             user: user, status: .conflict)
        } catch let error as CounterError {
            let status: HTTPResponse.Status = switch error {
            case .refused: .unprocessableContent
            case .residentNotFound, .issuanceNotFound: .notFound
            case .notReprintable: .conflict
            case .failed: .internalServerError
            default: .badRequest
            }
            return try await showReprintForm(original, form: form, error: error.message, request, user: user, status: status)
        }
    }

    // MARK: - 窓口収納

    private func takingsPage(_ request: Request, user: StaffUser) async throws -> Response {
        let today = JapanTime.localDate(counter.issuance.clock.now())
        let text = request.uri.queryParameters.get("date") ?? ""
        guard let day = text.isEmpty ? today : LocalDate(iso: text) else {
            var view = TakingsView(day: today, records: [])
            view.date = text
            view.error = "日付は YYYY-MM-DD の形で入力してください。"
            return try render("counter/takings", "窓口収納", view, user, request, status: .badRequest)
        }
        return try render("counter/takings", "窓口収納", TakingsView(day: day, records: try await counter.takings(on: day)), user, request)
    }

    private func render(_ template: String, _ title: String, _ content: some Any, _ user: StaffUser, _ request: Request,
                        status: HTTPResponse.Status = .ok) throws -> Response {
        try pages.page(template, title: title, content: content, user: user, request: request, status: status)
    }
}

/// The counter staff member a counter issuance's terminal names (`counter:<user>/…`); nil for a kiosk.
enum CounterStaff {
    static func of(_ r: IssuanceRecord) -> String? {
        guard r.channel == .counter else { return nil }
        return r.terminal?.split(separator: "/").first.map { String($0.dropFirst("counter:".count)) }
    }
}

extension [IssuanceRecord] {
    /// Copies and fees of a takings list (the page, the JSON and the CSV all total the same way).
    var totalCopies: Int { map(\.copies).reduce(0, +) }
    var totalFeeYen: Int { map(\.feeYen).reduce(0, +) }
}

// MARK: - views

struct HistoryView {
    var addressee: String
    var number: String
    var error: String?
    var searched = false
    var subject = ""
    var rows: [HistoryRow] = []
    var residentHref: String?
    var empty = false
}

/// One issuance in the history: metadata only (never amounts).
struct HistoryRow {
    struct Number {
        var number: String
        var standing: String
        var valid: Bool
        var supersededBy: String?
        var supersededHref: String?
    }

    var createdAt: String
    var kind: String
    var year: String
    var channel: String
    var copies: Int
    var numbers: [Number]
    var status: String
    var staff: String
    /// How many reprints were made of it; nil when none.
    var reprints: Int?
    var reprintOf: String?
    var reprintOfHref: String?
    var reprintReason: String?
    var reprintHref: String?

    init(_ e: CounterService.HistoryEntry, originalNumber: String?, canReprint: Bool) {
        let r = e.record
        createdAt = CounterDisplay.dateTime(r.createdAt)
        kind = r.kind.title; year = FiscalYear(r.fiscalYear).japaneseLabel
        channel = r.channel == .counter ? "窓口" : "コンビニ"
        copies = r.copies
        numbers = e.numbers.map { n in
            let standing = switch n.status {
            case .issued: "有効"
            case .void: "無効"
            case .superseded: "再交付により置換"
            }
            return Number(number: n.number, standing: standing, valid: n.status == .issued, supersededBy: n.supersededBy,
                          supersededHref: n.supersededBy.map(HistoryPages.historyPath(number:)))
        }
        status = CounterText.issuanceStatus(r.status)
        staff = CounterStaff.of(r) ?? "—"
        reprints = (e.reprint?.reprints ?? 0) > 0 ? e.reprint?.reprints : nil
        reprintOf = e.reprint?.reprintOf == nil ? nil : (originalNumber ?? "(不明)")
        reprintOfHref = originalNumber.map(HistoryPages.historyPath(number:))
        reprintReason = e.reprint?.reprintReason.map { CounterService.ReprintReason(rawValue: $0)?.label ?? $0 }
        let reprintable = [.delivered, .cancelled, .expired].contains(r.status) && !e.numbers.contains { $0.status == .superseded }
        reprintHref = canReprint && reprintable && r.addresseeID != nil ? HistoryPages.reprintPath(r.id) : nil
    }
}

struct ReprintForm {
    var reason = ""
    var note = ""
    var document = ""
    var applicant = "self"
    var powerOfAttorney = false
}

struct ReprintView {
    var id: String
    var kind: String
    var year: String
    var channel: String
    var createdAt: String
    var status: String
    var numbers: [String]
    var addresseeID: String
    var name: String?
    var error: String?
    var newIssuanceHref: String?
    var reasons: [Choice]
    var note: String
    var documents: [Choice]
    var applicantSelf: Bool
    var applicantProxy: Bool
    var powerOfAttorney: Bool
    var historyHref: String

    init(original r: IssuanceRecord, numbers: [(number: String, status: NumberStatus, supersededBy: String?)], person: Person?,
         form: ReprintForm, error: String?, newIssuanceHref: String?) {
        id = r.id; kind = r.kind.title; year = FiscalYear(r.fiscalYear).japaneseLabel; channel = r.channel == .counter ? "窓口" : "コンビニ"
        createdAt = CounterDisplay.dateTime(r.createdAt); status = CounterText.issuanceStatus(r.status)
        self.numbers = numbers.map(\.number)
        addresseeID = r.addresseeID ?? ""
        name = person.map { "\($0.name)(\($0.nameKana))" }
        self.error = error; self.newIssuanceHref = newIssuanceHref
        reasons = CounterService.ReprintReason.allCases.map { Choice(value: $0.rawValue, label: $0.label, selected: $0.rawValue == form.reason) }
        note = form.note
        documents = IdentityCheck.documents.map { Choice(value: $0, label: CounterDisplay.identityDocument($0), selected: $0 == form.document) }
        applicantSelf = form.applicant != "proxy"; applicantProxy = form.applicant == "proxy"; powerOfAttorney = form.powerOfAttorney
        historyHref = HistoryPages.historyPath(addressee: addresseeID)
    }
}

struct TakingsView {
    struct Row {
        var time: String
        var kind: String
        var year: String
        var copies: Int
        var fee: String
        var numbers: [String]
        var staff: String
    }

    var date: String
    var dateLabel: String
    var error: String?
    var rows: [Row]
    var count: Int
    var copies: Int
    var total: String
    var csvHref: String

    init(day: LocalDate, records: [IssuanceRecord]) {
        date = day.iso; dateLabel = day.japaneseEraFormatted
        rows = records.map { r in
            let minute = JapanTime.minuteOfDay(r.updatedAt)
            return Row(time: "\(minute / 60):" + (minute % 60 < 10 ? "0" : "") + "\(minute % 60)", kind: r.kind.title,
                       year: FiscalYear(r.fiscalYear).japaneseLabel, copies: r.copies, fee: CounterDisplay.yen(r.feeYen),
                       numbers: r.numbers.map(\.value), staff: CounterStaff.of(r) ?? "")
        }
        count = records.count
        copies = records.totalCopies
        total = CounterDisplay.yen(records.totalFeeYen)
        csvHref = "/staff/api/v1/counter/takings?date=\(day.iso)&format=csv"
    }
}
