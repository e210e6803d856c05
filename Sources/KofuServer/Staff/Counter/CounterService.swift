import Foundation
import KofuDomain
import KofuStorage
import Logging

/// What went wrong with a counter request, in words a clerk can act on.
public enum CounterError: Error, Equatable {
    case invalid(String)
    case residentNotFound
    case refused(Refusal)
    case approval(CounterApprovalError)
    case issuanceNotFound
    case gone
    /// Rendering or storage failed; nothing was issued.
    case failed
    /// Today's data would print something else than the original: a reprint is not possible, a new issuance is.
    case contentChanged
    /// The original cannot be reprinted (never handed over, refused, or still waiting to be printed).
    case notReprintable(IssuanceStatus)

    /// The Japanese message shown to the clerk.
    public var message: String {
        switch self {
        case .invalid(let what): "入力内容に誤りがあります(\(what))"
        case .residentNotFound: "該当する住民が見つかりません。"
        case .refused(let r): "交付できません: \(CounterText.refusal(r))"
        case .approval(let e):
            switch e {
            case .notFound: "承認依頼が見つかりません。"
            case .notPending: "この承認依頼は既に処理されています。"
            case .expired: "承認の期限を過ぎました。改めて交付申請をしてください。"
            case .selfApproval: "申請した職員は自分の申請を承認できません。別の責任者が承認してください。"
            }
        case .issuanceNotFound: "指定された交付は存在しません。"
        case .gone: "この証明書のデータは既に削除されています(印刷完了・取消・期限切れ)。"
        case .failed: "証明書を作成できませんでした。もう一度お試しください。"
        case .contentChanged: "交付後にデータが変更されているため再交付できません。新規に交付してください。"
        case .notReprintable(let s): "この証明書は再交付できません(状態: \(CounterText.issuanceStatus(s)))。"
        }
    }
}

/// Japanese labels the counter shows (kinds, statuses, refusal reasons, restriction kinds).
public enum CounterText {
    public static func refusal(_ r: Refusal) -> String { reason(r.internalReason) ?? code(r.code.rawValue) }

    public static func code(_ code: String) -> String {
        switch code {
        case "CARD_NOT_REGISTERED": "カードが登録されていません"
        case "COUNTER_ONLY": "窓口でのみ交付できます"
        case "OUT_OF_RETENTION": "保存年度外です"
        case "NOT_ASSESSED": "該当年度の課税(非課税)情報がありません"
        case "UNPAID_TAX": "納期限を過ぎた未納があります"
        case "PAYMENT_UNCONFIRMED": "納付が確認中です"
        case "NO_VEHICLE": "該当する車両がありません"
        case "SERVICE_CLOSED": "サービス停止中です"
        default: code
        }
    }

    public static func reason(_ internalReason: String) -> String? {
        if internalReason.hasPrefix("unprintable_character") { return "外字を含むため印字できません" }
        if internalReason.hasPrefix("data_stale") || internalReason.hasPrefix("data_missing") { return "連携データが古いため交付できません" }
        return switch internalReason {
        case "moved_out": "転出済み"
        case "deceased": "死亡"
        case "non_resident": "住民登録なし"
        case "moved_in_today": "本日転入"
        case "support_measure": "DV等支援措置"
        case "issuance_stop": "証明発行停止"
        case "counter_only": "窓口限定"
        case "card_unknown": "カード未登録"
        case "card_revoked": "カード失効"
        case "card_expired": "カード有効期限切れ"
        case "person_unknown": "住民情報なし"
        case "fiscal_year_not_held": "保存年度外"
        case "no_assessment": "課税情報なし"
        case "taxed_not_non_taxed": "課税されているため非課税証明書は交付できません"
        default: nil
        }
    }

    public static func restriction(_ kind: Restriction.Kind) -> String {
        switch kind {
        case .supportMeasure: "DV等支援措置"
        case .issuanceStop: "証明発行停止"
        case .counterOnly: "窓口限定"
        }
    }

    public static func residentStatus(_ s: ResidentStatus) -> String {
        switch s {
        case .resident: "住民"
        case .movedOut: "転出"
        case .deceased: "死亡"
        case .nonResident: "住民登録外"
        }
    }

    public static func issuanceStatus(_ s: IssuanceStatus) -> String {
        switch s {
        case .rendering: "作成中"
        case .ready: "印刷待ち"
        case .delivered: "交付済み"
        case .cancelled: "取消"
        case .expired: "期限切れ(無効)"
        case .refused: "交付不可"
        case .failed: "作成失敗(無効)"
        }
    }
}

/// A counter issuance as the clerk asks for it.
public struct CounterIssueRequest: Sendable, Hashable {
    public var addresseeID: AddresseeID
    public var kind: CertificateKind
    public var fiscalYear: FiscalYear
    public var copies: Int
    public var taxItems: [TaxItem]
    public var vehiclePlate: String?
    public var identity: IdentityCheck

    public init(addresseeID: AddresseeID, kind: CertificateKind, fiscalYear: FiscalYear, copies: Int, taxItems: [TaxItem] = [],
                vehiclePlate: String? = nil, identity: IdentityCheck) {
        self.addresseeID = addresseeID; self.kind = kind; self.fiscalYear = fiscalYear; self.copies = copies
        self.taxItems = taxItems; self.vehiclePlate = vehiclePlate; self.identity = identity
    }
}

/// The counter (窓口): look up a resident, issue at the counter (with a second staff member's approval for a
/// person under a support measure or an issuance stop), print, and void. Every step is audited with the staff
/// member who did it; nothing personal goes to a log.
public struct CounterService: Sendable {
    public let issuance: IssuanceService
    public let lookup: ResidentLookup
    public let approvals: CounterApprovalStore
    public let audit: AuditLog
    /// How long a restricted issuance may wait for its approval (`counter.approval_minutes`).
    public let approvalTimeLimit: TimeInterval

    public init(issuance: IssuanceService, database: KofuDatabase, audit: AuditLog, approvalTimeLimit: TimeInterval = 30 * 60) {
        self.issuance = issuance
        self.lookup = ResidentLookup(database: database)
        self.approvals = CounterApprovalStore(database: database)
        self.audit = audit
        self.approvalTimeLimit = approvalTimeLimit
    }

    /// Why a lookup was made (recorded with it): the clerk picks one.
    public static let purposes: [(code: String, label: String)] = [
        ("certificate_request", "証明書の交付申請"),
        ("reissue", "再交付"),
        ("inquiry", "本人からの問い合わせ"),
        ("kiosk_refusal", "コンビニ交付の不可理由の確認"),
    ]

    static func checkPurpose(_ purpose: String) throws {
        guard purposes.contains(where: { $0.code == purpose }) else {
            throw CounterError.invalid("purpose: \(purposes.map(\.code).joined(separator: ", ")) のいずれか")
        }
    }

    // MARK: - look up

    /// What the kiosk and the counter would answer for one kind and year.
    public struct Answer: Sendable {
        public var kind: CertificateKind
        public var fiscalYear: Int
        /// nil: the kiosk issues it.
        public var kiosk: Refusal?
        /// nil: the counter may issue it (perhaps after approval).
        public var counter: Refusal?
        public var needsApproval: Bool
    }

    /// One resident as the counter sees them (staff may see internal reasons; the kiosk never does).
    public struct ResidentView: Sendable {
        public var found: ResidentLookup.Found
        public var heldYears: [FiscalYear]
        public var answers: [Answer]
        public var approvalNeededFor: [Restriction]
    }

    /// Looks a resident up by 宛名番号 for `purpose`, audited as `lookup` on `addressee:<id>`.
    public func resident(_ id: AddresseeID, purpose: String, by user: String) async throws -> ResidentView {
        try Self.checkPurpose(purpose)
        guard let found = try await lookup.find(id) else {
            try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .addressee(id.value), outcome: .failure,
                                              reason: "\(purpose)/not_found"))
            throw CounterError.residentNotFound
        }
        try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .addressee(id.value), reason: purpose))
        return try await view(found)
    }

    /// Searches by name (kanji or kana) and birth date; every person shown is audited as a lookup.
    public func search(name: String, birthDate: LocalDate, purpose: String, by user: String) async throws -> [Person] {
        try Self.checkPurpose(purpose)
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 64 else { throw CounterError.invalid("name: 1〜64文字") }
        let people = try await lookup.search(name: trimmed, birthDate: birthDate)
        if people.isEmpty {
            try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .none, outcome: .failure, reason: "\(purpose)/search_no_match"))
        }
        for p in people {
            try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .addressee(p.addresseeID.value), reason: "\(purpose)/search"))
        }
        return people
    }

    private func view(_ found: ResidentLookup.Found) async throws -> ResidentView {
        let now = issuance.clock.now()
        let today = JapanTime.localDate(now)
        let held = try await issuance.loadedData.years()
        let availability = try await issuance.availability(at: now)
        var answers: [Answer] = []
        for year in held {
            for kind in CertificateKind.allCases {
                let counterContext = try await context(found.person, kind: kind, year: year, copies: 1, taxItems: [], plate: nil,
                                                       today: today, now: now, restrictions: found.restrictions)
                let card = found.cards.first { !$0.revoked && $0.validUntil >= today } ?? found.cards.first
                var kioskContext = counterContext
                kioskContext.card = card
                kioskContext.request.cardSerial = card?.cardSerial ?? ""
                var kioskAnswer = availability.reason(for: kind).map { Refusal(.serviceClosed, $0.code) }
                if kioskAnswer == nil { kioskAnswer = EligibilityPolicy.kiosk.evaluate(kioskContext) }
                let counterAnswer = EligibilityPolicy.counter.evaluate(counterContext)
                answers.append(Answer(kind: kind, fiscalYear: year.year, kiosk: kioskAnswer, counter: counterAnswer,
                                      needsApproval: counterAnswer == nil
                                        && !EligibilityPolicy.restrictionsNeedingApproval(found.restrictions, on: today).isEmpty))
            }
        }
        return ResidentView(found: found, heldYears: held, answers: answers,
                            approvalNeededFor: EligibilityPolicy.restrictionsNeedingApproval(found.restrictions, on: today))
    }

    /// The eligibility context for a counter request (no card; the vehicle plate defaults to the person's
    /// first vehicle of that year, so the lookup can say what the certificate would be).
    private func context(_ person: Person, kind: CertificateKind, year: FiscalYear, copies: Int, taxItems: [TaxItem],
                         plate: String?, today: LocalDate, now: Date, restrictions known: [Restriction]? = nil) async throws -> EligibilityContext {
        let store = issuance.taxData
        let restrictions: [Restriction]
        if let known { restrictions = known } else { restrictions = try await store.restrictions(for: person.addresseeID) }
        var assessment: Assessment?
        var levies: [Levy] = []
        var vehicles: [Vehicle] = []
        switch kind {
        case .incomeTaxation, .nonTaxation: assessment = try await store.assessment(for: person.addresseeID, year: year)
        case .taxPayment: levies = try await store.levies(for: person.addresseeID, year: year)
        case .vehicleInspection: vehicles = try await store.vehicles(for: person.addresseeID, year: year)
        }
        var ages: [String: Double] = [:]
        for f in try await issuance.loadedData.freshness() { ages[f.dataSet] = now.timeIntervalSince(f.extractedAt) / 3600 }
        let request = CertificateRequest(cardSerial: "", kind: kind, fiscalYear: year, copies: copies, taxItems: taxItems,
                                         vehiclePlate: kind == .vehicleInspection ? (plate ?? vehicles.first?.plate) : nil)
        let renderer = issuance.renderer
        return EligibilityContext(request: request, today: today, policy: issuance.settings.policy, card: nil, person: person,
                                  restrictions: restrictions, heldFiscalYears: try await issuance.loadedData.years(),
                                  assessment: assessment, levies: levies, vehicles: vehicles, dataAgeHours: ages,
                                  unprintable: { renderer.unprintableCharacters(in: $0) })
    }

    // MARK: - issue and approve

    /// What a counter issue call led to.
    public enum IssueOutcome: Sendable {
        /// Rendered: print it, then confirm.
        case issued(IssuanceRecord)
        /// Waiting for a second staff member with `counter.approve`.
        case pendingApproval(CounterApproval)
    }

    /// Issues at the counter after the clerk's identity check; for a person under a support measure or an
    /// issuance stop, records an approval request instead and renders nothing.
    public func issue(_ r: CounterIssueRequest, by user: String) async throws -> IssueOutcome {
        if let problem = r.identity.problem { throw CounterError.invalid(problem) }
        guard (1...10).contains(r.copies) else { throw CounterError.invalid("copies: 1〜10") }
        if r.kind == .vehicleInspection && (r.vehiclePlate ?? "").isEmpty { throw CounterError.invalid("vehicle_plate: 継続検査用には車両番号が必要です") }
        let now = issuance.clock.now()
        let today = JapanTime.localDate(now)
        guard let person = try await issuance.taxData.person(r.addresseeID) else { throw CounterError.residentNotFound }
        let context = try await context(person, kind: r.kind, year: r.fiscalYear, copies: r.copies, taxItems: r.taxItems,
                                        plate: r.vehiclePlate, today: today, now: now)
        if let refusal = EligibilityPolicy.counter.evaluate(context) {
            try await audit.record(AuditEvent(actor: .staff(user), action: .issue, object: .addressee(r.addresseeID.value), outcome: .refused,
                                              reason: "\(r.kind.rawValue)/\(r.fiscalYear.year)/\(refusal.code.rawValue)/\(refusal.internalReason)"))
            throw CounterError.refused(refusal)
        }
        let restricted = EligibilityPolicy.restrictionsNeedingApproval(context.restrictions, on: today)
        if !restricted.isEmpty {
            let approval = CounterApproval(
                id: UUID().uuidString.lowercased(), addresseeID: r.addresseeID.value, kind: r.kind, fiscalYear: r.fiscalYear.year,
                copies: r.copies, options: Self.options(r), identity: r.identity, restrictions: restricted.map(\.kind.rawValue),
                requestedBy: user, requestedAt: now, expiresAt: now.addingTimeInterval(approvalTimeLimit), status: .pending)
            try await approvals.create(approval)
            try await audit.record(AuditEvent(actor: .staff(user), action: .issue, object: .addressee(r.addresseeID.value), outcome: .success,
                                              reason: "approval_requested/\(approval.id)/\(r.kind.rawValue)/\(r.identity.auditText)"))
            return .pendingApproval(approval)
        }
        return .issued(try await render(r, context: context, today: today, now: now, by: user, approval: nil))
    }

    /// A supervisor's decision. Approving renders the certificate at once; both staff members are recorded.
    public func decide(_ approvalID: String, approve: Bool, by user: String) async throws -> (CounterApproval, IssuanceRecord?) {
        let now = issuance.clock.now()
        let decided: CounterApproval
        do {
            decided = try await approvals.decide(approvalID, approve: approve, by: user, at: now)
        } catch let e as CounterApprovalError {
            try await audit.record(AuditEvent(actor: .staff(user), action: .approval, object: .other("approval", approvalID), outcome: .denied,
                                              reason: "\(e)"))
            throw CounterError.approval(e)
        }
        try await audit.record(AuditEvent(actor: .staff(user), action: .approval, object: .other("approval", approvalID),
                                          reason: "\(approve ? "approved" : "rejected")/requested_by=\(decided.requestedBy)"))
        guard approve, let id = AddresseeID(decided.addresseeID), let kind = Optional(decided.kind) else { return (decided, nil) }
        let options = Self.parseOptions(decided.options)
        let request = CounterIssueRequest(addresseeID: id, kind: kind, fiscalYear: FiscalYear(decided.fiscalYear), copies: decided.copies,
                                          taxItems: options.taxItems, vehiclePlate: options.plate, identity: decided.identity)
        let today = JapanTime.localDate(now)
        guard let person = try await issuance.taxData.person(id) else { throw CounterError.residentNotFound }
        // The data may have changed while waiting: the rules are checked again.
        let context = try await context(person, kind: kind, year: request.fiscalYear, copies: request.copies, taxItems: request.taxItems,
                                        plate: request.vehiclePlate, today: today, now: now)
        if let refusal = EligibilityPolicy.counter.evaluate(context) { throw CounterError.refused(refusal) }
        let record = try await render(request, context: context, today: today, now: now, by: decided.requestedBy, approval: decided)
        try await approvals.attach(approvalID, issuanceID: record.id)
        return (decided, record)
    }

    private func render(_ r: CounterIssueRequest, context: EligibilityContext, today: LocalDate, now: Date, by user: String,
                        approval: CounterApproval?) async throws -> IssuanceRecord {
        let id = UUID().uuidString.lowercased()
        let terminal = "counter:\(user)" + (approval.map { "/approved_by:\($0.decidedBy ?? "")" } ?? "") + "/\(r.identity.auditText)"
        let new = NewIssuance(id: id, requestID: "counter-\(id)", requestDigest: Self.options(r), channel: .counter,
                              nodeID: issuance.settings.nodeID, kind: r.kind, fiscalYear: r.fiscalYear.year,
                              addresseeID: r.addresseeID.value, copies: r.copies,
                              feeYen: issuance.counterFeePerCopy(r.kind) * r.copies, terminal: terminal)
        do {
            return try await issuance.produce(new, context: context, today: today, now: now, feePerCopy: issuance.counterFeePerCopy(r.kind),
                                              actor: .staff(user), action: .issue).record
        } catch {
            throw CounterError.failed
        }
    }

    static func options(_ r: CounterIssueRequest) -> String {
        let items = r.taxItems.map(\.rawValue).joined(separator: ",")
        return "items=\(items);plate=\(r.vehiclePlate ?? "")"
    }

    static func parseOptions(_ text: String) -> (taxItems: [TaxItem], plate: String?) {
        var items: [TaxItem] = []
        var plate: String?
        for part in text.split(separator: ";") {
            let kv = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard kv.count == 2 else { continue }
            if kv[0] == "items" { items = kv[1].split(separator: ",").compactMap { TaxItem(rawValue: String($0)) } }
            if kv[0] == "plate", !kv[1].isEmpty { plate = String(kv[1]) }
        }
        return (items, plate)
    }

    // MARK: - reprint (再交付)

    /// Why a certificate is printed again.
    public enum ReprintReason: String, Sendable, CaseIterable {
        case misprint, paperJam = "paper_jam", soiled, lost, other

        public var label: String {
            switch self {
            case .misprint: "印刷不良"
            case .paperJam: "用紙詰まり"
            case .soiled: "汚損"
            case .lost: "紛失"
            case .other: "その他"
            }
        }
    }

    /// Prints a handed-over (or, after a jam, cancelled) certificate again with new numbers, when today's data
    /// gives exactly the content it had (its content digest); the old numbers become superseded, and `/verify`
    /// says so. A person now under a support measure or an issuance stop is not reprinted (a new, approved
    /// issuance is).
    public func reprint(original id: String, reason: ReprintReason, note: String, identity: IdentityCheck, by user: String) async throws -> IssuanceRecord {
        if let problem = identity.problem { throw CounterError.invalid(problem) }
        let text = note.trimmingCharacters(in: .whitespacesAndNewlines)
        if reason == .other && text.isEmpty { throw CounterError.invalid("reason_text: 「その他」の理由を入力してください") }
        guard text.count <= 200 else { throw CounterError.invalid("reason_text: 200文字以内") }
        guard let original = try await issuance.ledger.get(id: id) else { throw CounterError.issuanceNotFound }
        guard [.delivered, .cancelled, .expired].contains(original.status) else { throw CounterError.notReprintable(original.status) }
        guard let addressee = original.addresseeID.flatMap(AddresseeID.init), let person = try await issuance.taxData.person(addressee) else {
            throw CounterError.residentNotFound
        }
        let info = try await issuance.ledger.reprintInfo(id)
        let now = issuance.clock.now()
        let today = JapanTime.localDate(now)
        let items = Self.parseOptions(info?.options ?? "").taxItems
        // The vehicle is not kept in the ledger: the one whose certificate has the original's content is it.
        let plates: [String?]
        if original.kind == .vehicleInspection {
            plates = try await issuance.taxData.vehicles(for: addressee, year: FiscalYear(original.fiscalYear)).map(\.plate)
        } else {
            plates = [nil]
        }
        for plate in plates {
            let context = try await context(person, kind: original.kind, year: FiscalYear(original.fiscalYear), copies: 1,
                                            taxItems: items, plate: plate, today: today, now: now)
            if !EligibilityPolicy.restrictionsNeedingApproval(context.restrictions, on: today).isEmpty {
                throw CounterError.refused(Refusal(.counterOnly, context.restrictions.first { $0.isActive(on: today) }?.kind.rawValue ?? "restricted"))
            }
            if let refusal = EligibilityPolicy.counter.evaluate(context) {
                if plates.count > 1 { continue }
                throw CounterError.refused(refusal)
            }
            let probe = Certificate(number: CertificateNumber("-"), issueDate: today, fiscalYear: context.request.fiscalYear, person: person,
                                    municipality: issuance.municipality, body: issuance.body(for: context, today: today),
                                    feeYen: original.channel == .counter ? issuance.counterFeePerCopy(original.kind) : issuance.feePerCopy(original.kind))
            guard let digest = info?.contentDigest, ContentDigest.of(probe) == digest else { continue }
            let newID = UUID().uuidString.lowercased()
            let new = NewIssuance(id: newID, requestID: "reprint-\(newID)", requestDigest: "reprint:\(id)", channel: .counter,
                                  nodeID: issuance.settings.nodeID, kind: original.kind, fiscalYear: original.fiscalYear,
                                  addresseeID: addressee.value, copies: 1, feeYen: probe.feeYen,
                                  terminal: "counter:\(user)/reprint:\(reason.rawValue)/\(identity.auditText)")
            let record: IssuanceRecord
            do {
                record = try await issuance.produce(new, context: context, today: today, now: now, feePerCopy: probe.feeYen,
                                                    actor: .staff(user), action: .reprint) { numbers in
                    LedgerStore.supersede(original: id, by: newID, newNumber: numbers[0].value, reason: reason.rawValue)
                }.record
            } catch {
                throw CounterError.failed
            }
            try await audit.record(AuditEvent(actor: .staff(user), action: .reprint, object: .issuance(id),
                                              reason: "\(reason.rawValue)/new=\(record.numbers.map(\.value).joined(separator: ","))/\(identity.auditText)"))
            return record
        }
        try await audit.record(AuditEvent(actor: .staff(user), action: .reprint, object: .issuance(id), outcome: .refused, reason: "content_changed"))
        throw CounterError.contentChanged
    }

    // MARK: - history and takings

    /// One issuance as the history shows it: metadata only, never amounts.
    public struct HistoryEntry: Sendable {
        public var record: IssuanceRecord
        public var numbers: [(number: String, status: NumberStatus, supersededBy: String?)]
        public var reprint: ReprintInfo?
    }

    /// A resident's issuances (kiosk and counter), newest first; the view is audited.
    public func history(_ id: AddresseeID, by user: String) async throws -> [HistoryEntry] {
        let records = try await issuance.ledger.history(addressee: id.value)
        try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .addressee(id.value), reason: "history"))
        return try await records.asyncMap(entry)
    }

    /// The issuance a certificate number belongs to; the view is audited.
    public func history(number: String, by user: String) async throws -> HistoryEntry {
        guard number.utf8.count <= 32, let record = try await issuance.ledger.issuance(forNumber: number) else { throw CounterError.issuanceNotFound }
        try await audit.record(AuditEvent(actor: .staff(user), action: .lookup, object: .certificate(number), reason: "history"))
        return try await entry(record)
    }

    private func entry(_ record: IssuanceRecord) async throws -> HistoryEntry {
        HistoryEntry(record: record, numbers: try await issuance.ledger.numberStatuses(record.id),
                     reprint: try await issuance.ledger.reprintInfo(record.id))
    }

    /// 窓口収納: counter issuances handed over on `day` (Japan time), for the cash desk.
    public func takings(on day: LocalDate) async throws -> [IssuanceRecord] {
        let start = Date(timeIntervalSince1970: TimeInterval(day.dayNumber * 86400 - JapanTime.offsetSeconds))
        return try await issuance.ledger.counterTakings(from: start, to: start.addingTimeInterval(86400))
    }

    // MARK: - print

    /// The counter document while it waits to be printed.
    public func document(_ id: String, by user: String) async throws -> (IssuanceRecord, [UInt8]) {
        let record = try await counterRecord(id)
        guard record.status == .ready, let pdf = try? await issuance.spool.load(id: id) else { throw CounterError.gone }
        try await audit.record(AuditEvent(actor: .staff(user), action: .issue, object: .issuance(id), reason: "document_opened"))
        return (record, pdf)
    }

    /// 印刷完了: the document is wiped at once. Idempotent.
    public func printed(_ id: String, by user: String) async throws -> IssuanceRecord {
        try await finish(id, as: .delivered, detail: nil, reason: "printed", by: user)
    }

    /// 取消: wiped, its numbers void. Idempotent.
    public func cancel(_ id: String, by user: String) async throws -> IssuanceRecord {
        try await finish(id, as: .cancelled, detail: "counter_cancel", reason: "cancelled", by: user)
    }

    private func finish(_ id: String, as status: IssuanceStatus, detail: String?, reason: String, by user: String) async throws -> IssuanceRecord {
        let record = try await counterRecord(id)
        if record.status == status { return record }
        guard record.status == .ready else { throw CounterError.gone }
        await issuance.spool.wipe(id: id)
        let event = AuditEvent(actor: .staff(user), action: .issue, object: .issuance(id), reason: reason)
        let log = audit
        guard let updated = try await issuance.ledger.finish(id: id, as: status, detail: detail, at: issuance.clock.now(),
                                                            also: { db in try await log.append([event], in: db) }) else {
            return try await counterRecord(id)
        }
        return updated
    }

    private func counterRecord(_ id: String) async throws -> IssuanceRecord {
        guard UUID(uuidString: id) != nil, let record = try await issuance.ledger.get(id: id), record.channel == .counter else {
            throw CounterError.issuanceNotFound
        }
        return record
    }
}

extension Sequence where Element: Sendable {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var out: [T] = []
        for element in self { out.append(try await transform(element)) }
        return out
    }
}
