import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuStorage

/// The counter's JSON API under `/staff/api/v1/counter` (documented in docs/staff-openapi.yaml). The same
/// permissions and audit as the counter pages, which call the same `CounterService`.
public struct CounterController: Sendable {
    let counter: CounterService

    public init(counter: CounterService) { self.counter = counter }

    static let lookupByID = StaffEndpoint(.get, "api/v1/counter/residents/:addressee", .permission(.counterLookup))
    static let search = StaffEndpoint(.get, "api/v1/counter/residents", .permission(.counterLookup))
    static let issue = StaffEndpoint(.post, "api/v1/counter/issuances", .permission(.counterIssue))
    static let document = StaffEndpoint(.get, "api/v1/counter/issuances/:id/document", .permission(.counterIssue))
    static let printed = StaffEndpoint(.post, "api/v1/counter/issuances/:id/printed", .permission(.counterIssue))
    static let cancel = StaffEndpoint(.post, "api/v1/counter/issuances/:id/cancel", .permission(.counterIssue))
    static let pendingApprovals = StaffEndpoint(.get, "api/v1/counter/approvals", .permission(.approveRestrictedIssuance))
    static let approve = StaffEndpoint(.post, "api/v1/counter/approvals/:id/approve", .permission(.approveRestrictedIssuance))
    static let reject = StaffEndpoint(.post, "api/v1/counter/approvals/:id/reject", .permission(.approveRestrictedIssuance))
    static let reprint = StaffEndpoint(.post, "api/v1/counter/reprints", .permission(.counterIssue))
    static let takings = StaffEndpoint(.get, "api/v1/counter/takings", .permission(.counterIssue))
    static let residentHistory = StaffEndpoint(.get, "api/v1/history/residents/:addressee", .permission(.viewIssuanceHistory))
    static let numberHistory = StaffEndpoint(.get, "api/v1/history/certificates/:number", .permission(.viewIssuanceHistory))
    public static let endpoints = [lookupByID, search, issue, document, printed, cancel, pendingApprovals, approve, reject,
                            reprint, takings, residentHistory, numberHistory]

    public func addRoutes<Routes: RouterMethods>(to staff: StaffRoutes<Routes>) where Routes.Context: StaffRequestContext {
        staff.add(Self.lookupByID) { request, context, user in
            try await respond {
                guard let raw = context.parameters.get("addressee"), let id = AddresseeID(raw) else {
                    throw CounterError.invalid("addressee: 宛名番号は1〜15桁の数字")
                }
                let purpose = request.uri.queryParameters.get("purpose") ?? ""
                return KioskJSON.response(.ok, ResidentJSON(try await counter.resident(id, purpose: purpose, by: user.userID)))
            }
        }
        staff.add(Self.search) { request, _, user in
            try await respond {
                let q = request.uri.queryParameters
                guard let birth = q.get("birth_date").flatMap(LocalDate.init(iso:)) else {
                    throw CounterError.invalid("birth_date: YYYY-MM-DD")
                }
                let people = try await counter.search(name: q.get("name") ?? "", birthDate: birth, purpose: q.get("purpose") ?? "",
                                                      by: user.userID)
                return KioskJSON.response(.ok, ["residents": people.map(PersonJSON.init)])
            }
        }
        staff.add(Self.issue) { request, _, user in
            try await respond {
                var request = request
                let body = try await request.collectBody(upTo: RequestBodyPolicy.staffLimit)
                let parsed = try CounterIssueJSON.parse(Array(buffer: body))
                switch try await counter.issue(parsed, by: user.userID) {
                case .issued(let record):
                    return KioskJSON.response(.created, CounterIssuanceJSON(record))
                case .pendingApproval(let approval):
                    return KioskJSON.response(.accepted, ApprovalJSON(approval))
                }
            }
        }
        staff.add(Self.document) { _, context, user in
            try await respond {
                let (record, pdf) = try await counter.document(try Self.id(context), by: user.userID)
                var headers = HTTPFields()
                headers[.contentType] = "application/pdf"
                headers[.cacheControl] = "no-store"
                headers[.contentDisposition] = "inline; filename=\"certificate-\(record.numbers.first?.value ?? record.id).pdf\""
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
            }
        }
        staff.add(Self.printed) { _, context, user in
            try await respond { KioskJSON.response(.ok, CounterIssuanceJSON(try await counter.printed(try Self.id(context), by: user.userID))) }
        }
        staff.add(Self.cancel) { _, context, user in
            try await respond { KioskJSON.response(.ok, CounterIssuanceJSON(try await counter.cancel(try Self.id(context), by: user.userID))) }
        }
        staff.add(Self.pendingApprovals) { _, _, _ in
            try await respond {
                KioskJSON.response(.ok, ["approvals": try await counter.approvals.pending(now: counter.issuance.clock.now()).map(ApprovalJSON.init)])
            }
        }
        staff.add(Self.approve) { _, context, user in
            try await respond {
                let (approval, record) = try await counter.decide(try Self.id(context), approve: true, by: user.userID)
                return KioskJSON.response(.created, ["approval": AnyEncodable(ApprovalJSON(approval)),
                                                     "issuance": AnyEncodable(record.map(CounterIssuanceJSON.init))])
            }
        }
        staff.add(Self.reprint) { request, _, user in
            try await respond {
                var request = request
                let body = try await request.collectBody(upTo: RequestBodyPolicy.staffLimit)
                guard case .object(let o) = JSONValue.parse(Array(buffer: body)) ?? .null else { throw CounterError.invalid("body: JSONオブジェクト") }
                func string(_ key: String) -> String? { if case .string(let v) = o[key] ?? .null { return v }; return nil }
                var originalID = string("issuance_id")
                if originalID == nil, let number = string("certificate_number") {
                    originalID = try await counter.issuance.ledger.issuance(forNumber: number)?.id
                    if originalID == nil { throw CounterError.issuanceNotFound }
                }
                guard let originalID else { throw CounterError.invalid("issuance_id または certificate_number") }
                guard let reason = string("reason").flatMap(CounterService.ReprintReason.init(rawValue:)) else {
                    throw CounterError.invalid("reason: \(CounterService.ReprintReason.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                let record = try await counter.reprint(original: originalID, reason: reason, note: string("reason_text") ?? "",
                                                       identity: try CounterIssueJSON.identity(o["identity"]), by: user.userID)
                return KioskJSON.response(.created, CounterIssuanceJSON(record))
            }
        }
        staff.add(Self.takings) { request, _, _ in
            try await respond {
                let q = request.uri.queryParameters
                let day = try q.get("date").map { text -> LocalDate in
                    guard let d = LocalDate(iso: text) else { throw CounterError.invalid("date: YYYY-MM-DD") }
                    return d
                } ?? JapanTime.localDate(counter.issuance.clock.now())
                let records = try await counter.takings(on: day)
                if q.get("format") == "csv" { return Self.takingsCSV(records, day: day) }
                return KioskJSON.response(.ok, TakingsJSON(day: day, records: records))
            }
        }
        staff.add(Self.residentHistory) { _, context, user in
            try await respond {
                guard let raw = context.parameters.get("addressee"), let id = AddresseeID(raw) else { throw CounterError.invalid("addressee: 宛名番号") }
                return KioskJSON.response(.ok, ["issuances": try await counter.history(id, by: user.userID).map(HistoryJSON.init)])
            }
        }
        staff.add(Self.numberHistory) { _, context, user in
            try await respond {
                let number = context.parameters.get("number") ?? ""
                return KioskJSON.response(.ok, HistoryJSON(try await counter.history(number: number, by: user.userID)))
            }
        }
        staff.add(Self.reject) { _, context, user in
            try await respond {
                let (approval, _) = try await counter.decide(try Self.id(context), approve: false, by: user.userID)
                return KioskJSON.response(.ok, ["approval": ApprovalJSON(approval)])
            }
        }
    }

    /// The cash desk's list as CSV (UTF-8 with BOM, so Excel opens it).
    static func takingsCSV(_ records: [IssuanceRecord], day: LocalDate) -> Response {
        var csv = "\u{FEFF}時刻,証明書,年度,通数,手数料(円),証明書番号,担当\r\n"
        for r in records {
            let staff = CounterStaff.of(r) ?? ""
            csv += "\(JapanTime.iso8601(r.updatedAt).dropFirst(11).prefix(5)),\(r.kind.title),\(r.fiscalYear),\(r.copies),\(r.feeYen),"
                + "\(r.numbers.map(\.value).joined(separator: " ")),\(staff)\r\n"
        }
        csv += "合計,,,\(records.totalCopies),\(records.totalFeeYen),,\r\n"
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"kofu-counter-takings-\(day.iso.replacingOccurrences(of: "-", with: "")).csv\""
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: csv)))
    }

    static func id(_ context: some RequestContext) throws -> String {
        guard let id = context.parameters.get("id"), UUID(uuidString: id) != nil, id == id.lowercased() else {
            throw CounterError.issuanceNotFound
        }
        return id
    }

    /// Runs `body`; a `CounterError` becomes its JSON answer (the Japanese message for the clerk).
    func respond(_ body: () async throws -> Response) async throws -> Response {
        do {
            return try await body()
        } catch let error as CounterError {
            return Self.errorResponse(error)
        }
    }

    static func errorResponse(_ error: CounterError) -> Response {
        let (status, code): (HTTPResponse.Status, String) = switch error {
        case .invalid: (.badRequest, "INVALID_REQUEST")
        case .residentNotFound, .issuanceNotFound: (.notFound, "NOT_FOUND")
        case .refused(let r): (.unprocessableContent, r.code.rawValue)
        case .approval(.notFound): (.notFound, "NOT_FOUND")
        case .approval(.selfApproval): (.forbidden, "SELF_APPROVAL")
        case .approval(.expired): (.conflict, "APPROVAL_EXPIRED")
        case .approval(.notPending): (.conflict, "APPROVAL_DECIDED")
        case .gone: (.gone, "GONE")
        case .contentChanged: (.conflict, "CONTENT_CHANGED")
        case .notReprintable: (.conflict, "NOT_REPRINTABLE")
        case .failed: (.internalServerError, "INTERNAL_ERROR")
        }
        var body = KioskJSON.error(status, code: code, message: error.message)
        if case .refused(let r) = error {
            // Staff may see the internal reason (the kiosk never does).
            body = KioskJSON.response(status, ["error": ["code": code, "message": error.message, "reason": r.internalReason]])
        }
        return body
    }
}

/// Type erasure for mixed JSON objects.
struct AnyEncodable: Encodable {
    let value: (any Encodable)?
    init(_ value: (any Encodable)?) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        if let value { try value.encode(to: encoder) } else { var c = encoder.singleValueContainer(); try c.encodeNil() }
    }
}

/// The body of `POST …/counter/issuances`.
enum CounterIssueJSON {
    static func parse(_ bytes: [UInt8]) throws -> CounterIssueRequest {
        guard case .object(let o) = JSONValue.parse(bytes) ?? .null else { throw CounterError.invalid("body: JSONオブジェクト") }
        func string(_ key: String) -> String? { if case .string(let s) = o[key] ?? .null { return s }; return nil }
        func int(_ key: String) -> Int? { if case .int(let i) = o[key] ?? .null { return i }; return nil }
        guard let addressee = string("addressee_id").flatMap(AddresseeID.init) else { throw CounterError.invalid("addressee_id: 宛名番号") }
        guard let kind = string("kind").flatMap(CertificateKind.init(rawValue:)) else {
            throw CounterError.invalid("kind: \(CertificateKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let year = int("fiscal_year"), (1989...2200).contains(year) else { throw CounterError.invalid("fiscal_year: 年度(西暦)") }
        let copies = int("copies") ?? 1
        var items: [TaxItem] = []
        if case .array(let a) = o["tax_items"] ?? .null {
            for v in a {
                guard case .string(let s) = v, let item = TaxItem(rawValue: s) else { throw CounterError.invalid("tax_items: 税目コード") }
                items.append(item)
            }
        }
        return CounterIssueRequest(addresseeID: addressee, kind: kind, fiscalYear: FiscalYear(year), copies: copies, taxItems: items,
                                   vehiclePlate: string("vehicle_plate"), identity: try identity(o["identity"]))
    }

    /// The `identity` object: 本人確認書類, 本人/代理人, 委任状.
    static func identity(_ value: JSONValue?) throws -> IdentityCheck {
        guard case .object(let id) = value ?? .null else { throw CounterError.invalid("identity: 本人確認の記録が必要です") }
        func string(_ key: String) -> String { if case .string(let s) = id[key] ?? .null { return s }; return "" }
        let poa: Bool = if case .bool(let b) = id["power_of_attorney"] ?? .null { b } else { false }
        return IdentityCheck(document: string("document"), applicant: string("applicant"), powerOfAttorney: poa)
    }
}

struct PersonJSON: Encodable {
    var addressee_id: String
    var name: String
    var name_kana: String
    var birth_date: String
    var birth_date_ja: String
    var address: String
    var status: String
    var status_ja: String
    var status_date: String

    init(_ p: Person) {
        addressee_id = p.addresseeID.value; name = p.name; name_kana = p.nameKana; birth_date = p.birthDate.iso
        birth_date_ja = p.birthDate.japaneseEraFormatted
        address = p.address + (p.addressExtra.isEmpty ? "" : "　" + p.addressExtra)
        status = p.status.rawValue; status_ja = CounterText.residentStatus(p.status); status_date = p.statusDate.iso
    }
}

struct ResidentJSON: Encodable {
    struct RestrictionJSON: Encodable {
        var kind: String
        var label: String
        var valid_from: String
        var valid_to: String?
        var active: Bool
    }
    struct AnswerJSON: Encodable {
        var kind: String
        var kind_ja: String
        var fiscal_year: Int
        var kiosk: String
        var kiosk_code: String?
        var kiosk_reason: String?
        var counter: String
        var counter_code: String?
        var counter_reason: String?
        var needs_approval: Bool
    }
    var resident: PersonJSON
    var restrictions: [RestrictionJSON]
    var cards: Int
    var held_fiscal_years: [Int]
    var approval_needed: Bool
    var answers: [AnswerJSON]

    init(_ v: CounterService.ResidentView) {
        let today = JapanTime.localDate(Date())
        resident = PersonJSON(v.found.person)
        restrictions = v.found.restrictions.map {
            RestrictionJSON(kind: $0.kind.rawValue, label: CounterText.restriction($0.kind), valid_from: $0.validFrom.iso,
                            valid_to: $0.validTo?.iso, active: $0.isActive(on: today))
        }
        cards = v.found.cards.count
        held_fiscal_years = v.heldYears.map(\.year)
        approval_needed = !v.approvalNeededFor.isEmpty
        answers = v.answers.map { a in
            AnswerJSON(kind: a.kind.rawValue, kind_ja: a.kind.title, fiscal_year: a.fiscalYear,
                       kiosk: a.kiosk == nil ? "issue" : "refuse", kiosk_code: a.kiosk?.code.rawValue,
                       kiosk_reason: a.kiosk.map(CounterText.refusal),
                       counter: a.counter == nil ? (a.needsApproval ? "approval" : "issue") : "refuse",
                       counter_code: a.counter?.code.rawValue, counter_reason: a.counter.map(CounterText.refusal),
                       needs_approval: a.needsApproval)
        }
    }
}

struct CounterIssuanceJSON: Encodable {
    var issuance_id: String
    var status: String
    var status_ja: String
    var kind: String
    var fiscal_year: Int
    var copies: Int
    var pages: Int?
    var certificate_numbers: [String]
    var fee_yen: Int
    var document_url: String?
    var expires_at: String?

    init(_ r: IssuanceRecord) {
        issuance_id = r.id; status = r.status.rawValue; status_ja = CounterText.issuanceStatus(r.status); kind = r.kind.rawValue
        fiscal_year = r.fiscalYear; copies = r.copies; pages = r.pages; certificate_numbers = r.numbers.map(\.value); fee_yen = r.feeYen
        document_url = r.status == .ready ? "/staff/api/v1/counter/issuances/\(r.id)/document" : nil
        expires_at = r.expiresAt.map(JapanTime.iso8601)
    }
}

struct ApprovalJSON: Encodable {
    var approval_id: String
    var status: String
    var addressee_id: String
    var kind: String
    var fiscal_year: Int
    var copies: Int
    var restrictions: [String]
    var requested_by: String
    var requested_at: String
    var expires_at: String
    var decided_by: String?
    var issuance_id: String?

    init(_ a: CounterApproval) {
        approval_id = a.id; status = a.status.rawValue; addressee_id = a.addresseeID; kind = a.kind.rawValue; fiscal_year = a.fiscalYear
        copies = a.copies; restrictions = a.restrictions; requested_by = a.requestedBy; requested_at = JapanTime.iso8601(a.requestedAt)
        expires_at = JapanTime.iso8601(a.expiresAt); decided_by = a.decidedBy; issuance_id = a.issuanceID
    }
}

struct TakingsJSON: Encodable {
    var date: String
    var count: Int
    var copies: Int
    var total_yen: Int
    var issuances: [CounterIssuanceJSON]

    init(day: LocalDate, records: [IssuanceRecord]) {
        date = day.iso
        count = records.count
        copies = records.totalCopies
        total_yen = records.totalFeeYen
        issuances = records.map(CounterIssuanceJSON.init)
    }
}

/// One issuance in the history: metadata only (kind, year, channel, numbers and their standing, status, times,
/// staff), never amounts or content.
struct HistoryJSON: Encodable {
    struct Number: Encodable {
        var number: String
        var status: String
        var superseded_by: String?
    }
    var issuance_id: String
    var channel: String
    var kind: String
    var kind_ja: String
    var fiscal_year: Int
    var copies: Int
    var status: String
    var status_ja: String
    var numbers: [Number]
    var created_at: String
    var updated_at: String
    var staff: String?
    var reprint_of: String?
    var reprint_reason: String?
    var reprints: Int

    init(_ e: CounterService.HistoryEntry) {
        let r = e.record
        issuance_id = r.id; channel = r.channel.rawValue; kind = r.kind.rawValue; kind_ja = r.kind.title; fiscal_year = r.fiscalYear
        copies = r.copies; status = r.status.rawValue; status_ja = CounterText.issuanceStatus(r.status)
        numbers = e.numbers.map { Number(number: $0.number, status: $0.status.rawValue, superseded_by: $0.supersededBy) }
        created_at = JapanTime.iso8601(r.createdAt); updated_at = JapanTime.iso8601(r.updatedAt)
        staff = CounterStaff.of(r)
        reprint_of = e.reprint?.reprintOf; reprint_reason = e.reprint?.reprintReason; reprints = e.reprint?.reprints ?? 0
    }
}
