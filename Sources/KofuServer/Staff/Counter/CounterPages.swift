import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// The counter's pages (窓口) under `/staff/counter`: look-up, the resident, the issue form, printing and
/// the approvals. HTML forms with `_csrf`; every POST answers with a redirect (303), except a form that has to
/// be shown again with its error. The same permissions, audit and rules as the JSON API: both call
/// `CounterService`.
struct CounterPages: Sendable {
    let counter: CounterService
    let pages: StaffPageRenderer

    static let lookup = StaffEndpoint(.get, "counter", .permission(.counterLookup))
    static let resident = StaffEndpoint(.get, "counter/residents/:addressee", .permission(.counterLookup))
    static let issueForm = StaffEndpoint(.get, "counter/residents/:addressee/issue", .permission(.counterIssue))
    static let issue = StaffEndpoint(.post, "counter/residents/:addressee/issue", .permission(.counterIssue))
    static let request = StaffEndpoint(.get, "counter/requests/:id", .permission(.counterIssue))
    static let issuance = StaffEndpoint(.get, "counter/issuances/:id", .permission(.counterIssue))
    static let confirm = StaffEndpoint(.get, "counter/issuances/:id/confirm", .permission(.counterIssue))
    static let printed = StaffEndpoint(.post, "counter/issuances/:id/printed", .permission(.counterIssue))
    static let cancel = StaffEndpoint(.post, "counter/issuances/:id/cancel", .permission(.counterIssue))
    static let approvals = StaffEndpoint(.get, "counter/approvals", .permission(.approveRestrictedIssuance))
    static let approve = StaffEndpoint(.post, "counter/approvals/:id/approve", .permission(.approveRestrictedIssuance))
    static let reject = StaffEndpoint(.post, "counter/approvals/:id/reject", .permission(.approveRestrictedIssuance))
    static let endpoints = [lookup, resident, issueForm, issue, request, issuance, confirm, printed, cancel, approvals, approve, reject]

    static let root = "/staff/counter"

    func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.lookup) { request, _, user in try await lookupPage(request, user: user) }
        staff.add(Self.resident) { request, context, user in try await residentPage(request, context, user: user) }
        staff.add(Self.issueForm) { request, context, user in try await issueFormPage(request, context, user: user) }
        staff.add(Self.issue) { request, context, user in try await issuePost(request, context, user: user) }
        staff.add(Self.request) { request, context, user in try await requestPage(request, context, user: user) }
        staff.add(Self.issuance) { request, context, user in try await issuancePage(request, context, user: user) }
        staff.add(Self.confirm) { request, context, user in try await confirmPage(request, context, user: user) }
        staff.add(Self.printed) { _, context, user in
            let id = try CounterController.id(context)
            _ = try await counter.printed(id, by: user.userID)
            return StaffLoginPage.redirect(to: Self.issuancePath(id), status: .seeOther)
        }
        staff.add(Self.cancel) { _, context, user in
            let id = try CounterController.id(context)
            _ = try await counter.cancel(id, by: user.userID)
            return StaffLoginPage.redirect(to: Self.issuancePath(id), status: .seeOther)
        }
        staff.add(Self.approvals) { request, _, user in
            try await approvalsPage(request, user: user, notice: request.uri.queryParameters.get("notice").flatMap(ApprovalsView.Notice.init))
        }
        staff.add(Self.approve) { request, context, user in try await decide(request, context, approve: true, user: user) }
        staff.add(Self.reject) { request, context, user in try await decide(request, context, approve: false, user: user) }
        HistoryPages(counter: counter, pages: pages).addRoutes(to: staff)
    }

    static func residentPath(_ id: String, purpose: String) -> String { "\(root)/residents/\(id)?purpose=\(purpose)" }
    static func issuancePath(_ id: String) -> String { "\(root)/issuances/\(id)" }
    static func requestPath(_ id: String) -> String { "\(root)/requests/\(id)" }

    // MARK: - 照会

    private func lookupPage(_ request: Request, user: StaffUser) async throws -> Response {
        let q = request.uri.queryParameters
        var view = LookupView(purpose: q.get("purpose") ?? "", addressee: q.get("addressee") ?? "", name: q.get("name") ?? "",
                              birthDate: q.get("birth_date") ?? "")
        let searched = q.get("search") != nil
        guard searched else { return try render("counter/lookup", "窓口照会", view, user, request) }
        do {
            try CounterService.checkPurpose(view.purpose)
        } catch {
            view.error = "照会目的を選んでください。"
            return try render("counter/lookup", "窓口照会", view, user, request, status: .badRequest)
        }
        let number = view.addressee.trimmingCharacters(in: .whitespaces)
        if !number.isEmpty {
            guard let id = AddresseeID(number) else {
                view.error = "宛名番号は1〜15桁の半角数字で入力してください。"
                return try render("counter/lookup", "窓口照会", view, user, request, status: .badRequest)
            }
            return StaffLoginPage.redirect(to: Self.residentPath(id.value, purpose: view.purpose), status: .seeOther)
        }
        guard !view.name.trimmingCharacters(in: .whitespaces).isEmpty, let birth = LocalDate(iso: view.birthDate) else {
            view.error = "宛名番号、または氏名と生年月日の両方を入力してください。"
            return try render("counter/lookup", "窓口照会", view, user, request, status: .badRequest)
        }
        do {
            let people = try await counter.search(name: view.name, birthDate: birth, purpose: view.purpose, by: user.userID)
            view.results = people.map { PersonRow($0, purpose: view.purpose) }
            view.searched = true
            view.found = !people.isEmpty
            return try render("counter/lookup", "窓口照会", view, user, request)
        } catch let error as CounterError {
            view.error = error.message
            return try render("counter/lookup", "窓口照会", view, user, request, status: .badRequest)
        }
    }

    // MARK: - 住民

    private func residentPage(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        let purpose = request.uri.queryParameters.get("purpose") ?? ""
        var lookup = LookupView(purpose: purpose, addressee: context.parameters.get("addressee") ?? "", name: "", birthDate: "")
        guard let id = context.parameters.get("addressee").flatMap(AddresseeID.init) else {
            lookup.error = "宛名番号は1〜15桁の半角数字で入力してください。"
            return try render("counter/lookup", "窓口照会", lookup, user, request, status: .badRequest)
        }
        do {
            let view = try await counter.resident(id, purpose: purpose, by: user.userID)
            var page = ResidentView(view, purpose: purpose, purposeLabel: Self.purposeLabel(purpose), canIssue: user.role.allows(.counterIssue))
            if user.role.allows(.viewIssuanceHistory) { page.historyHref = HistoryPages.historyPath(addressee: id.value) }
            return try render("counter/resident", "住民情報 \(id.value)", page, user, request)
        } catch CounterError.residentNotFound {
            lookup.error = CounterError.residentNotFound.message
            return try render("counter/lookup", "窓口照会", lookup, user, request, status: .notFound)
        } catch CounterError.invalid {
            lookup.error = "照会目的を選んでください。"
            return try render("counter/lookup", "窓口照会", lookup, user, request, status: .badRequest)
        }
    }

    static func purposeLabel(_ code: String) -> String {
        CounterService.purposes.first { $0.code == code }?.label ?? ""
    }

    // MARK: - 窓口交付

    private func issueFormPage(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        let q = request.uri.queryParameters
        let form = IssueForm(kind: q.get("kind") ?? "", year: q.get("year") ?? "", purpose: q.get("purpose") ?? "", copies: "1",
                             taxItems: [], plate: "", document: "", applicant: "self", powerOfAttorney: false)
        return try await showIssueForm(form, error: nil, request, context, user: user, status: .ok)
    }

    private func showIssueForm(_ form: IssueForm, error: String?, _ request: Request, _ context: some RequestContext, user: StaffUser,
                               status: HTTPResponse.Status) async throws -> Response {
        guard let id = context.parameters.get("addressee").flatMap(AddresseeID.init),
              let person = try await counter.issuance.taxData.person(id) else {
            throw HTTPError(.notFound)
        }
        guard let kind = CertificateKind(rawValue: form.kind), let year = Int(form.year), (1989...2200).contains(year) else {
            throw HTTPError(.badRequest)
        }
        let vehicles = kind == .vehicleInspection ? try await counter.issuance.taxData.vehicles(for: id, year: FiscalYear(year)) : []
        let view = IssueView(person: person, kind: kind, year: year, form: form, error: error, vehicles: vehicles,
                             feePerCopy: counter.issuance.counterFeePerCopy(kind))
        return try render("counter/issue", "窓口交付", view, user, request, status: status)
    }

    private func issuePost(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        var request = request
        let fields = FormFields(String(buffer: try await request.collectBody(upTo: RequestBodyPolicy.staffLimit)))
        let form = IssueForm(kind: fields.first("kind") ?? "", year: fields.first("year") ?? "", purpose: fields.first("purpose") ?? "",
                             copies: fields.first("copies") ?? "1", taxItems: fields.all("tax_items"), plate: fields.first("vehicle_plate") ?? "",
                             document: fields.first("document") ?? "", applicant: fields.first("applicant") ?? "",
                             powerOfAttorney: fields.first("power_of_attorney") == "yes")
        guard let id = context.parameters.get("addressee").flatMap(AddresseeID.init) else { throw HTTPError(.notFound) }
        guard let kind = CertificateKind(rawValue: form.kind), let year = Int(form.year), (1989...2200).contains(year) else {
            throw HTTPError(.badRequest)
        }
        // The form's own checks first, each in words a clerk can act on.
        var problem: String?
        let copies = Int(form.copies) ?? 0
        let items = form.taxItems.compactMap(TaxItem.init(rawValue:))
        if !(1...10).contains(copies) { problem = "部数は1〜10の数字で入力してください。" }
        else if items.count != form.taxItems.count { problem = "税目の選択に誤りがあります。" }
        else if !IdentityCheck.documents.contains(form.document) { problem = "本人確認書類を選んでください。" }
        else if form.applicant != "self" && form.applicant != "proxy" { problem = "申請者(本人・代理人)を選んでください。" }
        else if form.applicant == "proxy" && !form.powerOfAttorney { problem = "代理人の場合は委任状を確認し、「委任状を確認した」にチェックしてください。" }
        else if kind == .vehicleInspection && form.plate.isEmpty { problem = "継続検査用には車両(標識番号)を選んでください。" }
        if let problem {
            return try await showIssueForm(form, error: problem, request, context, user: user, status: .badRequest)
        }
        let r = CounterIssueRequest(addresseeID: id, kind: kind, fiscalYear: FiscalYear(year), copies: copies, taxItems: items,
                                    vehiclePlate: kind == .vehicleInspection ? form.plate : nil,
                                    identity: IdentityCheck(document: form.document, applicant: form.applicant, powerOfAttorney: form.powerOfAttorney))
        do {
            switch try await counter.issue(r, by: user.userID) {
            case .issued(let record): return StaffLoginPage.redirect(to: Self.issuancePath(record.id), status: .seeOther)
            case .pendingApproval(let approval): return StaffLoginPage.redirect(to: Self.requestPath(approval.id), status: .seeOther)
            }
        } catch let error as CounterError {
            let status: HTTPResponse.Status = switch error {
            case .refused: .unprocessableContent
            case .residentNotFound: .notFound
            case .failed: .internalServerError
            default: .badRequest
            }
            return try await showIssueForm(form, error: error.message, request, context, user: user, status: status)
        }
    }

    // MARK: - 承認待ち

    private func requestPage(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        guard let id = context.parameters.get("id"), UUID(uuidString: id) != nil,
              var approval = try await counter.approvals.get(id) else { throw HTTPError(.notFound) }
        if approval.status == .pending && approval.expiresAt <= counter.issuance.clock.now() { approval.status = .expired }
        return try render("counter/request", "承認待ち", RequestView(approval, viewer: user.userID), user, request)
    }

    // MARK: - 印刷

    private func record(_ context: some RequestContext) async throws -> IssuanceRecord {
        let id = try CounterController.id(context)
        guard let record = try await counter.issuance.ledger.get(id: id), record.channel == .counter else { throw HTTPError(.notFound) }
        return record
    }

    private func issuancePage(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        let record = try await record(context)
        return try render("counter/issuance", "証明書の印刷", IssuanceView(record), user, request)
    }

    private func confirmPage(_ request: Request, _ context: some RequestContext, user: StaffUser) async throws -> Response {
        let record = try await record(context)
        guard record.status == .ready else { return StaffLoginPage.redirect(to: Self.issuancePath(record.id), status: .found) }
        guard let action = request.uri.queryParameters.get("action").flatMap(ConfirmView.Action.init) else { throw HTTPError(.badRequest) }
        return try render("counter/confirm", action.heading, ConfirmView(IssuanceView(record), action: action), user, request)
    }

    // MARK: - 承認

    private func approvalsPage(_ request: Request, user: StaffUser, notice: ApprovalsView.Notice?, error: String? = nil,
                               status: HTTPResponse.Status = .ok) async throws -> Response {
        var rows: [ApprovalRow] = []
        for a in try await counter.approvals.pending(now: counter.issuance.clock.now()) {
            var name = ""
            if let id = AddresseeID(a.addresseeID), let person = try await counter.issuance.taxData.person(id) { name = person.name }
            rows.append(ApprovalRow(a, name: name, viewer: user.userID))
        }
        return try render("counter/approvals", "制限付き交付の承認", ApprovalsView(rows: rows, notice: notice?.text, error: error), user, request,
                          status: status)
    }

    private func decide(_ request: Request, _ context: some RequestContext, approve: Bool, user: StaffUser) async throws -> Response {
        guard let id = context.parameters.get("id"), UUID(uuidString: id) != nil else { throw HTTPError(.notFound) }
        do {
            let (_, record) = try await counter.decide(id, approve: approve, by: user.userID)
            if let record { return StaffLoginPage.redirect(to: Self.issuancePath(record.id), status: .seeOther) }
            return StaffLoginPage.redirect(to: "\(Self.root)/approvals?notice=rejected", status: .seeOther)
        } catch let error as CounterError {
            let status: HTTPResponse.Status = switch error {
            case .approval(.selfApproval): .forbidden
            case .approval(.notFound), .residentNotFound: .notFound
            case .refused: .unprocessableContent
            case .failed: .internalServerError
            default: .conflict
            }
            return try await approvalsPage(request, user: user, notice: nil, error: error.message, status: status)
        }
    }

    private func render(_ template: String, _ title: String, _ content: some Any, _ user: StaffUser, _ request: Request,
                        status: HTTPResponse.Status = .ok) throws -> Response {
        try pages.page(template, title: title, content: content, user: user, request: request, status: status)
    }
}

/// The fields of a form post (`application/x-www-form-urlencoded`), a name possibly repeated (checkboxes).
struct FormFields {
    let pairs: [(String, String)]

    init(_ body: String) {
        pairs = body.split(separator: "&").compactMap { pair in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ s: Substring) -> String? { String(s).replacingOccurrences(of: "+", with: " ").removingPercentEncoding }
            guard let name = decode(kv[0]), let value = kv.count == 2 ? decode(kv[1]) : "" else { return nil }
            return (name, value)
        }
    }

    func first(_ name: String) -> String? { pairs.first { $0.0 == name }?.1 }
    func all(_ name: String) -> [String] { pairs.filter { $0.0 == name }.map(\.1) }
}

/// Date and time as the counter pages show them: 令和8年12月7日 14:05.
enum CounterDisplay {
    static func dateTime(_ date: Date) -> String {
        let minute = JapanTime.minuteOfDay(date)
        let mm = minute % 60
        return JapanTime.localDate(date).japaneseEraFormatted + " \(minute / 60):" + (mm < 10 ? "0" : "") + "\(mm)"
    }

    static func yen(_ amount: Int) -> String {
        let formatter = NumberFormatter()
        formatter.numberStyle = .decimal
        formatter.groupingSeparator = ","
        formatter.usesGroupingSeparator = true
        return (formatter.string(from: NSNumber(value: amount)) ?? "\(amount)") + "円"
    }

    static func identityDocument(_ code: String) -> String {
        switch code {
        case "my_number_card": "マイナンバーカード"
        case "driver_license": "運転免許証"
        case "passport": "パスポート"
        case "residence_card": "在留カード"
        case "health_insurance": "健康保険証(資格確認書)"
        default: "その他の本人確認書類"
        }
    }
}

// MARK: - views

struct Choice {
    var value: String
    var label: String
    var selected: Bool
}

struct LookupView {
    var purpose: String
    var addressee: String
    var name: String
    var birthDate: String
    var error: String?
    var searched = false
    var found = false
    var results: [PersonRow] = []
    var purposes: [Choice]

    init(purpose: String, addressee: String, name: String, birthDate: String) {
        self.purpose = purpose; self.addressee = addressee; self.name = name; self.birthDate = birthDate
        purposes = CounterService.purposes.map { Choice(value: $0.code, label: $0.label, selected: $0.code == purpose) }
    }
}

struct PersonRow {
    var addresseeID: String
    var name: String
    var kana: String
    var birthDate: String
    var address: String
    var status: String
    var statusDate: String
    var moved: Bool
    var href: String

    init(_ p: Person, purpose: String) {
        addresseeID = p.addresseeID.value; name = p.name; kana = p.nameKana; birthDate = p.birthDate.japaneseEraFormatted
        address = p.address + (p.addressExtra.isEmpty ? "" : "　" + p.addressExtra)
        status = CounterText.residentStatus(p.status); statusDate = p.statusDate.japaneseEraFormatted
        moved = p.status != .resident
        href = CounterPages.residentPath(p.addresseeID.value, purpose: purpose)
    }
}

struct ResidentView {
    struct RestrictionRow {
        var label: String
        var period: String
        var active: Bool
        var needsApproval: Bool
        var explanation: String
    }
    struct Cell {
        var ok: Bool
        var approval: Bool
        var text: String
        var reason: String?
        var href: String?
    }
    struct Row {
        var kind: String
        var year: String
        var kiosk: Cell
        var counter: Cell
    }

    var person: PersonRow
    var purposeLabel: String
    var restrictions: [RestrictionRow]
    var approvalNeeded: Bool
    var heldYears: String
    var cards: Int
    var rows: [Row]
    var canIssue: Bool
    var lookupHref: String
    /// 交付履歴 of this resident, for those who may see it.
    var historyHref: String?

    init(_ v: CounterService.ResidentView, purpose: String, purposeLabel: String, canIssue: Bool) {
        let today = JapanTime.localDate(Date())
        person = PersonRow(v.found.person, purpose: purpose)
        self.purposeLabel = purposeLabel
        self.canIssue = canIssue
        let needing = Set(v.approvalNeededFor.map(\.kind))
        restrictions = v.found.restrictions.map { r in
            let active = r.isActive(on: today)
            let explanation = switch r.kind {
            case .supportMeasure: "住所等を加害者に知られないよう保護されている方です。本人確認を厳格に行い、交付には責任者の承認が必要です。"
            case .issuanceStop: "証明書の発行が停止されています。交付には責任者の承認が必要です。"
            case .counterOnly: "コンビニ交付はできません。窓口で交付してください。"
            }
            return RestrictionRow(label: CounterText.restriction(r.kind),
                                  period: r.validFrom.japaneseEraFormatted + "から" + (r.validTo.map { $0.japaneseEraFormatted + "まで" } ?? "(期限なし)"),
                                  active: active, needsApproval: active && needing.contains(r.kind),
                                  explanation: active ? explanation : "期間外のため、現在は適用されていません。")
        }
        approvalNeeded = !v.approvalNeededFor.isEmpty
        heldYears = v.heldYears.map(\.japaneseLabel).joined(separator: "、")
        cards = v.found.cards.count
        let id = v.found.person.addresseeID.value
        rows = v.answers.map { a in
            let kiosk = Cell(ok: a.kiosk == nil, approval: false, text: a.kiosk == nil ? "交付可" : "不可",
                             reason: a.kiosk.map(CounterText.refusal), href: nil)
            let issuable = a.counter == nil
            let href = issuable && canIssue
                ? "\(CounterPages.root)/residents/\(id)/issue?kind=\(a.kind.rawValue)&year=\(a.fiscalYear)&purpose=\(purpose)" : nil
            let counter = Cell(ok: issuable && !a.needsApproval, approval: issuable && a.needsApproval,
                               text: issuable ? (a.needsApproval ? "承認が必要" : "交付可") : "不可",
                               reason: a.counter.map(CounterText.refusal), href: href)
            return Row(kind: a.kind.title, year: FiscalYear(a.fiscalYear).japaneseLabel, kiosk: kiosk, counter: counter)
        }
        lookupHref = CounterPages.root + "?purpose=" + purpose
    }
}

struct IssueForm {
    var kind: String
    var year: String
    var purpose: String
    var copies: String
    var taxItems: [String]
    var plate: String
    var document: String
    var applicant: String
    var powerOfAttorney: Bool
}

struct IssueView {
    var addresseeID: String
    var name: String
    var kana: String
    var birthDate: String
    var kind: String
    var kindTitle: String
    var year: Int
    var yearLabel: String
    var purpose: String
    var copies: String
    var error: String?
    var taxPayment: Bool
    var taxItems: [Choice]
    var vehicleInspection: Bool
    var vehicles: [Choice]
    var noVehicles: Bool
    var documents: [Choice]
    var applicantSelf: Bool
    var applicantProxy: Bool
    var powerOfAttorney: Bool
    var feePerCopy: String
    var backHref: String

    init(person: Person, kind: CertificateKind, year: Int, form: IssueForm, error: String?, vehicles: [Vehicle], feePerCopy: Int) {
        addresseeID = person.addresseeID.value; name = person.name; kana = person.nameKana; birthDate = person.birthDate.japaneseEraFormatted
        self.kind = kind.rawValue; kindTitle = kind.title; self.year = year; yearLabel = FiscalYear(year).japaneseLabel
        purpose = form.purpose; copies = form.copies; self.error = error
        taxPayment = kind == .taxPayment
        taxItems = TaxItem.allCases.map { Choice(value: $0.rawValue, label: $0.japaneseName, selected: form.taxItems.contains($0.rawValue)) }
        vehicleInspection = kind == .vehicleInspection
        self.vehicles = vehicles.map { Choice(value: $0.plate, label: "\($0.plate)(\($0.vehicleClass))", selected: $0.plate == form.plate) }
        noVehicles = vehicles.isEmpty
        documents = IdentityCheck.documents.map { Choice(value: $0, label: CounterDisplay.identityDocument($0), selected: $0 == form.document) }
        applicantSelf = form.applicant != "proxy"
        applicantProxy = form.applicant == "proxy"
        powerOfAttorney = form.powerOfAttorney
        self.feePerCopy = CounterDisplay.yen(feePerCopy)
        backHref = CounterPages.residentPath(person.addresseeID.value, purpose: form.purpose)
    }
}

struct RequestView {
    var id: String
    var addresseeID: String
    var kind: String
    var year: String
    var copies: Int
    var restrictions: String
    var requestedBy: String
    var requestedAt: String
    var expiresAt: String
    var pending: Bool
    var approved: Bool
    var rejected: Bool
    var expired: Bool
    var decidedBy: String?
    var issuanceHref: String?

    init(_ a: CounterApproval, viewer: String) {
        id = a.id; addresseeID = a.addresseeID; kind = a.kind.title; year = FiscalYear(a.fiscalYear).japaneseLabel; copies = a.copies
        restrictions = a.restrictions.map { Restriction.Kind(rawValue: $0).map(CounterText.restriction) ?? $0 }.joined(separator: "、")
        requestedBy = a.requestedBy; requestedAt = CounterDisplay.dateTime(a.requestedAt); expiresAt = CounterDisplay.dateTime(a.expiresAt)
        pending = a.status == .pending; approved = a.status == .approved; rejected = a.status == .rejected; expired = a.status == .expired
        decidedBy = a.decidedBy
        issuanceHref = a.issuanceID.map(CounterPages.issuancePath)
    }
}

struct IssuanceView {
    var id: String
    var kind: String
    var year: String
    var copies: Int
    var pages: Int?
    var numbers: [String]
    var fee: String
    var status: String
    var ready: Bool
    var delivered: Bool
    var cancelled: Bool
    var expiresAt: String?
    var addresseeID: String?
    var documentHref: String

    init(_ r: IssuanceRecord) {
        id = r.id; kind = r.kind.title; year = FiscalYear(r.fiscalYear).japaneseLabel; copies = r.copies; pages = r.pages
        numbers = r.numbers.map(\.value); fee = CounterDisplay.yen(r.feeYen); status = CounterText.issuanceStatus(r.status)
        ready = r.status == .ready; delivered = r.status == .delivered; cancelled = r.status == .cancelled
        expiresAt = r.status == .ready ? r.expiresAt.map(CounterDisplay.dateTime) : nil
        addresseeID = r.addresseeID
        documentHref = "/staff/api/v1/counter/issuances/\(r.id)/document"
    }
}

struct ConfirmView {
    enum Action: String {
        case printed, cancel

        var heading: String { self == .printed ? "印刷完了の確認" : "取消の確認" }
    }

    var issuance: IssuanceView
    var heading: String
    var printed: Bool
    var action: String

    init(_ issuance: IssuanceView, action: Action) {
        self.issuance = issuance; heading = action.heading; printed = action == .printed
        self.action = "\(CounterPages.issuancePath(issuance.id))/\(action.rawValue)"
    }
}

struct ApprovalRow {
    var request: RequestView
    var name: String
    var own: Bool
    var approveAction: String
    var rejectAction: String

    init(_ a: CounterApproval, name: String, viewer: String) {
        request = RequestView(a, viewer: viewer); self.name = name; own = a.requestedBy == viewer
        approveAction = "\(CounterPages.root)/approvals/\(a.id)/approve"
        rejectAction = "\(CounterPages.root)/approvals/\(a.id)/reject"
    }
}

struct ApprovalsView {
    enum Notice: String {
        case rejected

        var text: String { "却下しました。申請した職員に伝えてください。" }
    }

    var rows: [ApprovalRow]
    var notice: String?
    var error: String?
    var selfApproval = CounterError.approval(.selfApproval).message
}
