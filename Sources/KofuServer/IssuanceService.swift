import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuStorage
import Logging
import Metrics

/// Where kiosk actions are recorded: the tamper-evident audit log, or nowhere (only the benchmark's
/// "audit off" run uses that, to measure what auditing costs).
public struct AuditTrail: Sendable {
    public let log: AuditLog?
    public init(_ log: AuditLog?) { self.log = log }
    public static let off = AuditTrail(nil)

    /// Appends the event and waits until it is committed, so no answer goes out without its entry.
    func record(_ actor: AuditActor, _ action: AuditAction, _ object: AuditObject, _ outcome: AuditOutcome, _ reason: String = "") async throws {
        try await log?.record(AuditEvent(actor: actor, action: action, object: object, outcome: outcome, reason: reason))
    }

    /// The same entry, written inside the ledger transaction of the change it records (nil when off).
    func within(_ actor: AuditActor, _ action: AuditAction, _ object: AuditObject, _ outcome: AuditOutcome,
                _ reason: String = "") -> LedgerStore.AlsoWrite? {
        guard let log else { return nil }
        let event = AuditEvent(actor: actor, action: action, object: object, outcome: outcome, reason: reason)
        return { db in try await log.append([event], in: db) }
    }
}

/// What a kiosk call can answer besides success (KIOSK_API.md's error table).
public enum KioskError: Error, Equatable {
    case invalidRequest(String)
    case notFound
    case requestIDReused
    case gone
    case refused(RefusalCode)
    case serviceClosed(retryAfter: Int)
    case overloaded(retryAfter: Int)
    /// Rendering or storage failed; the issuance is void.
    case internalFailure
}

/// The issuance pipeline, one request at a time, each step taking a value and returning one:
/// request → validation → eligibility → numbering (+ ledger) → render → seal → spool → delivery → wipe.
/// Nothing here is shared between requests except the database and the spool, both keyed by issuance id.
public struct IssuanceService: Sendable {
    public let taxData: any TaxDataStore
    public let ledger: LedgerStore
    public let spool: DocumentSpool
    public let renderer: any CertificateDocumentRenderer
    public let sealer: any CertificateSealer
    public let settings: IssuanceSettings
    public let municipality: Municipality
    public let eligibility: EligibilityPolicy
    public let admission: AdmissionControl
    public let audit: AuditTrail
    public let clock: any KofuClock
    public let logger: Logger

    public init(taxData: any TaxDataStore, ledger: LedgerStore, spool: DocumentSpool, renderer: any CertificateDocumentRenderer,
                sealer: any CertificateSealer, settings: IssuanceSettings, municipality: Municipality,
                eligibility: EligibilityPolicy = .kiosk, audit: AuditTrail, clock: any KofuClock = SystemClock(),
                logger: Logger = Logger(label: "kofu.issuance")) {
        self.taxData = taxData; self.ledger = ledger; self.spool = spool; self.renderer = renderer; self.sealer = sealer
        self.settings = settings; self.municipality = municipality; self.eligibility = eligibility; self.audit = audit
        self.clock = clock; self.logger = logger
        self.admission = AdmissionControl(permits: settings.maxConcurrentRenders, maxWaiting: settings.maxWaiting,
                                          maxWait: .milliseconds(settings.maxQueueWaitMilliseconds))
        self.loadedData = LoadedDataCache(taxData: taxData, clock: clock)
    }

    /// The fiscal years held and the data sets' freshness change only at import and rollover; reading them
    /// scans the tax tables, so requests share one answer for a few seconds instead of each reading them.
    public let loadedData: LoadedDataCache

    /// This node's shed and closed answers per minute (for the operators' console).
    public let rejections = RejectionLog()

    /// The outcome of an issue call: a ledger record, and the PDF when the document is ready.
    public struct Issued: Sendable {
        public var record: IssuanceRecord
        public var pdf: [UInt8]?
    }

    static let intakePausedKey = "kiosk_intake_paused"

    // MARK: - issue

    /// Handles `POST /kiosk/v1/issuances`. Throws `KioskError` for every non-201 answer.
    public func issue(_ request: KioskIssueRequest, wantPDF: Bool) async throws -> Issued {
        let started = clock.now()
        // Shedding first, and cheaply: with the line full, OVERLOADED goes out before any database work, so
        // that a flood of requests cannot starve the admitted ones of CPU. (A shed replay is answered when the
        // center retries after Retry-After.)
        try shedIfFull()
        // Idempotency next: a replay of a known request gets the same answer, even while closed.
        if let existing = try await ledger.get(requestID: request.requestID) {
            return try await replay(existing, request: request, wantPDF: wantPDF)
        }
        try await checkServiceWindow(request.certificate.kind, at: started)
        do {
            try await admission.acquire()
        } catch {
            throw shed()
        }
        defer { admission.release() }

        let outcome: Issued
        do {
            outcome = try await withDeadline(seconds: settings.requestTimeoutSeconds) {
                try await issueAdmitted(request, wantPDF: wantPDF, at: started)
            }
        } catch LedgerError.duplicateRequestID {
            // A concurrent twin of this request won the race: answer as a replay of it.
            guard let existing = try await ledger.get(requestID: request.requestID) else { throw KioskError.internalFailure }
            return try await replay(existing, request: request, wantPDF: wantPDF)
        }
        Metrics.issueDuration.recordNanoseconds(Int64(clock.now().timeIntervalSince(started) * 1e9))
        return outcome
    }

    /// Throws OVERLOADED when admission control has neither a free slot nor room in its line.
    public func shedIfFull() throws(KioskError) {
        guard admission.hasRoom else { throw shed() }
    }

    private func shed() -> KioskError {
        Metrics.shed.increment()
        rejections.record(.shed, at: clock.now())
        return KioskError.overloaded(retryAfter: settings.retryAfterSeconds)
    }

    private func issueAdmitted(_ request: KioskIssueRequest, wantPDF: Bool, at now: Date) async throws -> Issued {
        let today = JapanTime.localDate(now)
        let context = try await gatherContext(request.certificate, today: today, now: now)
        let issuanceID = UUID().uuidString.lowercased()
        let kind = request.certificate.kind
        let new = NewIssuance(id: issuanceID, requestID: request.requestID, requestDigest: request.digest, channel: .kiosk,
                              nodeID: settings.nodeID, kind: kind, fiscalYear: request.certificate.fiscalYear.year,
                              addresseeID: context.person?.addresseeID.value, copies: request.certificate.copies,
                              feeYen: feePerCopy(kind) * request.certificate.copies, terminal: request.terminal)

        if let refusal = eligibility.evaluate(context) {
            _ = try await ledger.recordRefusal(new, refusal: refusal, at: now,
                                               also: audit.within(.kioskCenter, .kioskRefusal, .issuance(new.id), .refused,
                                                                  "\(refusal.code.rawValue)/\(refusal.internalReason)"))
            Metrics.refusal(refusal)
            if refusal.code == .serviceClosed { throw KioskError.serviceClosed(retryAfter: 3600) }
            throw KioskError.refused(refusal.code)
        }

        let produced = try await produce(new, context: context, today: today, now: now, feePerCopy: feePerCopy(kind),
                                         actor: .kioskCenter, action: .kioskIssue)
        return Issued(record: produced.record, pdf: wantPDF ? produced.pdf : nil)
    }

    /// Numbers, certificates, seals, one PDF, the spool and `ready`: what every channel does once a request may
    /// be issued. On any failure the request is aborted as a whole: whatever exists is wiped, its numbers void.
    func produce(_ new: NewIssuance, context: EligibilityContext, today: LocalDate, now: Date, feePerCopy: Int,
                 actor: AuditActor, action: AuditAction,
                 also extra: @escaping @Sendable ([CertificateNumber]) -> LedgerStore.AlsoWrite? = { _ in nil })
        async throws -> (record: IssuanceRecord, pdf: [UInt8]) {
        let issuanceID = new.id
        let kind = new.kind
        // Room in the spool first: a full spool sheds the request before it draws numbers or leaves a row,
        // so the kiosk's retry after Retry-After (same request id) is a new attempt, not a replay of a failure.
        let room: DocumentSpool.Reservation
        do {
            room = try spool.reserve()
        } catch {
            throw shed()
        }
        defer { spool.release(room) }
        let numbers = try await ledger.begin(new, numberYear: today.year, at: now)
        do {
            try Task.checkCancellation()
            let point = issuancePoint(new)
            let asOf = try await dataAsOf(kind)
            let certificates = numbers.map { number in
                Certificate(number: number, issueDate: today, fiscalYear: context.request.fiscalYear, person: context.person!,
                            municipality: municipality, body: body(for: context, today: today), feeYen: feePerCopy,
                            issuedAt: point, dataAsOf: asOf)
            }
            // The seal signs the page count, so it is computed before the one render and checked after it.
            let signedAt = clock.now()
            let pageCounts = certificates.map { renderer.pageCount(of: $0) }
            let seals = try zip(certificates, pageCounts).map { try sealer.seal($0, pages: $1, signedAt: signedAt) }
            let documents = zip(certificates, seals).map { (certificate: $0, qrText: $1.text) }
            let renderStart = clock.now()
            let rendered = try renderer.renderDocument(documents)
            Metrics.renderDuration.recordNanoseconds(Int64(clock.now().timeIntervalSince(renderStart) * 1e9))
            let signedPages = pageCounts.reduce(0, +)
            guard rendered.pages == signedPages else { throw SealPaginationMismatch(signed: signedPages, rendered: rendered.pages) }
            let sealWrite = LedgerStore.registerSeals(seals.map { $0.record })
            try Task.checkCancellation()
            try await spool.store(id: issuanceID, pdf: rendered.pdf, reservation: room)
            let expires = now.addingTimeInterval(TimeInterval(settings.deliveryTTLSeconds))
            let auditWrite = audit.within(actor, action, .issuance(issuanceID), .success, numbers.map(\.value).joined(separator: ","))
            let extraWrite = extra(numbers)
            guard let record = try await ledger.markReady(
                id: issuanceID, pages: rendered.pages, documentDigest: SHA256.hex(rendered.pdf),
                contentDigest: ContentDigest.of(certificates[0]), options: ContentDigest.options(context.request),
                expiresAt: expires, at: clock.now(),
                also: { db in try await auditWrite?(db); try await sealWrite(db); try await extraWrite?(db) }) else {
                await spool.wipe(id: issuanceID)
                throw KioskError.internalFailure
            }
            Metrics.issued(kind)
            return (record, rendered.pdf)
        } catch {
            // Abort the request as a whole: wipe whatever exists, void its numbers.
            await spool.wipe(id: issuanceID)
            _ = try? await ledger.finish(id: issuanceID, as: .failed, detail: Self.failureDetail(error), at: clock.now())
            Metrics.failed.increment()
            logger.error("issuance failed", metadata: ["issuance_id": "\(issuanceID)", "error": "\(Self.failureDetail(error))"])
            try? await audit.record(.system, action, .issuance(issuanceID), .failure, Self.failureDetail(error))
            // The database went away mid-request: 503 and retry, not a 500 (the node sweep voids the row if
            // `failed` could not be written either).
            if DatabaseError.isUnavailability(error) { throw DatabaseError.unavailable }
            // The document was larger than the room reserved and the spool had no more: shed like a full line
            // (503 OVERLOADED, Retry-After); this issuance is failed and void, a retry needs a new request id.
            if error as? DocumentSpool.Error == .full { throw shed() }
            throw KioskError.internalFailure
        }
    }

    /// Where the certificate is handed over, as printed on it: the kiosk's store and terminal (the request's
    /// `terminal`), or the counter (窓口, reprints included).
    func issuancePoint(_ new: NewIssuance) -> IssuancePoint {
        new.channel == .kiosk ? .kiosk(terminal: new.terminal) : .counter
    }

    /// The day (Japan time) the batch in force for `kind`'s own data was extracted (levies, assessments or
    /// vehicles; the oldest when there are several), printed as 「…現在」. Read from the shared freshness
    /// cache, not with a query per issuance; nil when that data was never loaded.
    func dataAsOf(_ kind: CertificateKind) async throws -> LocalDate? {
        let sets = Set(EligibilityPolicy.dataSets(for: kind)).subtracting(EligibilityPolicy.personDataSets)
        let extracted = try await loadedData.freshness().filter { sets.contains($0.dataSet) }.map(\.extractedAt).min()
        return extracted.map(JapanTime.localDate)
    }

    /// The fee of one copy; each copy prints its own fee and the ledger records fee × copies.
    func feePerCopy(_ kind: CertificateKind) -> Int { settings.fees[kind] ?? 0 }

    /// The counter's fee of one copy (`counter.fee_<kind>`).
    func counterFeePerCopy(_ kind: CertificateKind) -> Int { settings.counterFees[kind] ?? 0 }

    /// A short reason without personal data: the error's type and case, never its payload.
    static func failureDetail(_ error: any Error) -> String {
        if error is CancellationError { return "timeout" }
        if error as? DocumentSpool.Error == .full { return "spool_full" }
        let text = String(describing: type(of: error))
        return "error_\(text)"
    }

    private func replay(_ existing: IssuanceRecord, request: KioskIssueRequest, wantPDF: Bool) async throws -> Issued {
        guard existing.requestDigest == request.digest else { throw KioskError.requestIDReused }
        var record = existing
        // A twin still rendering: wait for it to settle (bounded by the request timeout).
        let deadline = clock.now().addingTimeInterval(TimeInterval(settings.requestTimeoutSeconds))
        while record.status == .rendering && clock.now() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            record = try await ledger.get(id: record.id) ?? record
        }
        switch record.status {
        case .refused:
            let code = record.refusalCode.flatMap(RefusalCode.init(rawValue:)) ?? .counterOnly
            if code == .serviceClosed { throw KioskError.serviceClosed(retryAfter: 3600) }
            throw KioskError.refused(code)
        case .failed, .rendering:
            throw KioskError.internalFailure
        case .ready:
            let pdf = wantPDF ? try? await spool.load(id: record.id) : nil
            return Issued(record: record, pdf: pdf)
        case .delivered, .cancelled, .expired:
            if wantPDF { throw KioskError.gone }
            return Issued(record: record, pdf: nil)
        }
    }

    /// Refuses with SERVICE_CLOSED when `availability` says the kiosk does not take this kind now.
    private func checkServiceWindow(_ kind: CertificateKind, at now: Date) async throws {
        guard let reason = try await availability(at: now).reason(for: kind) else { return }
        Metrics.closed(reason)
        rejections.record(.closed, at: now)
        throw KioskError.serviceClosed(retryAfter: retryAfter(reason, from: now))
    }

    /// Seconds until the next opening minute (bounded to a day and a half for closed days, then the kiosk retries).
    func secondsUntilOpen(from now: Date) -> Int {
        var t = now
        for _ in 0..<(60 * 24 * 7) {
            t = t.addingTimeInterval(60)
            let d = JapanTime.localDate(t)
            if settings.isOpen(month: d.month, day: d.day, minuteOfDay: JapanTime.minuteOfDay(t)) {
                return max(60, Int(t.timeIntervalSince(now)))
            }
        }
        return 3600
    }

    // MARK: - eligibility data

    func gatherContext(_ request: CertificateRequest, today: LocalDate, now: Date) async throws -> EligibilityContext {
        let holder = try await taxData.holder(cardSerial: request.cardSerial, kind: request.kind, year: request.fiscalYear)
        let held = try await loadedData.years()
        var ages: [String: Double] = [:]
        for f in try await loadedData.freshness() {
            ages[f.dataSet] = now.timeIntervalSince(f.extractedAt) / 3600
        }
        let renderer = self.renderer
        return EligibilityContext(request: request, today: today, policy: settings.policy, card: holder.card,
                                  person: holder.person, restrictions: holder.restrictions, heldFiscalYears: held,
                                  assessment: holder.assessment, levies: holder.levies, vehicles: holder.vehicles,
                                  dataAgeHours: ages,
                                  unprintable: { renderer.unprintableCharacters(in: $0) })
    }

    /// The certificate body from the data that passed eligibility.
    func body(for c: EligibilityContext, today: LocalDate) -> CertificateBody {
        switch c.request.kind {
        case .taxPayment:
            let grouped = Dictionary(grouping: c.selectedLevies, by: \.taxItem)
            let items = grouped.keys.sorted().map { item in
                TaxPaymentItem(taxItem: item, installments: grouped[item]!.sorted { ($0.noticeNo, $0.installment) < ($1.noticeNo, $1.installment) })
            }
            return .taxPayment(items: items)
        case .incomeTaxation: return .incomeTaxation(c.assessment!)
        case .nonTaxation: return .nonTaxation(c.assessment!)
        case .vehicleInspection:
            // 有効期限: the end of May after the fiscal year's due date, when the next year's tax falls due.
            let validUntil = LocalDate(year: c.request.fiscalYear.year + 1, month: 5, day: 31)!
            return .vehicleInspection(vehicle: c.selectedVehicle!, validUntil: validUntil)
        }
    }

    // MARK: - fetch, deliver, cancel, expire

    /// The document while ready; `gone` once delivered, cancelled or expired.
    public func document(id: String) async throws -> (record: IssuanceRecord, pdf: [UInt8]) {
        // A counter issuance is never the kiosk's to fetch, deliver or cancel.
        guard let record = try await ledger.get(id: id), record.status != .refused, record.channel == .kiosk else { throw KioskError.notFound }
        guard record.status == .ready else { throw record.status == .rendering ? KioskError.notFound : KioskError.gone }
        let pdf: [UInt8]
        do {
            pdf = try await spool.load(id: id)
        } catch {
            throw KioskError.gone
        }
        do {
            try await audit.record(.kioskCenter, .kioskFetch, .issuance(id), .success)
        }
        return (record, pdf)
    }

    /// `delivered`: the kiosk printed it; wipe at once. Idempotent.
    public func delivered(id: String) async throws -> IssuanceRecord {
        guard let record = try await ledger.get(id: id), record.status != .refused, record.channel == .kiosk else { throw KioskError.notFound }
        switch record.status {
        case .delivered: return record
        case .ready:
            await spool.wipe(id: id)
            guard let updated = try await ledger.finish(id: id, as: .delivered, detail: nil, at: clock.now(),
                                                        also: audit.within(.kioskCenter, .kioskDelivered, .issuance(id), .success)) else {
                // Another request settled it meanwhile (a twin `delivered`, or the delivery time ran out).
                return try await settled(id)
            }
            Metrics.delivered.increment()
            return updated
        default:
            throw KioskError.gone
        }
    }

    /// The record of an issuance another request has just finished.
    private func settled(_ id: String) async throws -> IssuanceRecord {
        guard let record = try await ledger.get(id: id) else { throw KioskError.notFound }
        return record
    }

    /// Cancel reasons the contract allows.
    public static let cancelReasons: Set<String> = ["print_failure", "payment_cancelled", "user_cancelled", "timeout"]

    /// `cancel`: wipe, numbers void. Idempotent.
    public func cancel(id: String, reason: String) async throws -> IssuanceRecord {
        guard let record = try await ledger.get(id: id), record.status != .refused, record.channel == .kiosk else { throw KioskError.notFound }
        switch record.status {
        case .cancelled: return record
        case .ready, .rendering:
            await spool.wipe(id: id)
            guard let updated = try await ledger.finish(id: id, as: .cancelled, detail: reason, at: clock.now(),
                                                        also: audit.within(.kioskCenter, .kioskCancel, .issuance(id), .success, reason)) else {
                return try await settled(id)
            }
            Metrics.cancelled.increment()
            return updated
        default:
            throw KioskError.gone
        }
    }

    /// Wipes ready documents whose delivery TTL ran out; their issuances become `expired` (numbers void).
    @discardableResult
    public func expireOverdue() async throws -> Int {
        let ids = try await ledger.expiredReady(nodeID: settings.nodeID, now: clock.now())
        for id in ids {
            await spool.wipe(id: id)
            if try await ledger.finish(id: id, as: .expired, detail: "delivery_ttl", at: clock.now(),
                                       also: audit.within(.system, .kioskExpire, .issuance(id), .success, "delivery_ttl")) != nil {
                Metrics.expired.increment()
            }
        }
        return ids.count
    }

    /// At start and at a stop: every document still in the spool is wiped (none at start: they died with the
    /// process) and every unfinished issuance of this node becomes void (expired, reason `restart`).
    /// `oldSpoolFiles`: files of an earlier version's file spool removed at start, for the audit entry.
    @discardableResult
    public func recoverAfterRestart(oldSpoolFiles: Int = 0) async throws -> (wipedDocuments: Int, voided: Int) {
        let documents = await spool.wipeAll()
        let ids = try await ledger.unfinished(nodeID: settings.nodeID)
        // One entry per voided issuance, written with its ledger change, so an auditor following one
        // issuance finds why it ended; the aggregate entry says what the wipe found.
        for id in ids {
            try await ledger.finish(id: id, as: .expired, detail: "restart", at: clock.now(),
                                   also: audit.within(.system, .kioskExpire, .issuance(id), .success, "restart"))
        }
        if documents > 0 || oldSpoolFiles > 0 || !ids.isEmpty {
            let old = oldSpoolFiles > 0 ? " old_spool_files=\(oldSpoolFiles)" : ""
            try await audit.record(.system, .spoolRecovery, .none, .success, "documents=\(documents)\(old) voided=\(ids.count)")
        }
        return (documents, ids.count)
    }

    /// Operator pause / resume of kiosk intake (shared by every node through the database), with who,
    /// when and why, so every node's page and `/readyz` can say it.
    public func setIntakePaused(_ paused: Bool, by user: String, reason: String? = nil) async throws {
        let now = clock.now()
        let state = IntakePause(paused: paused, by: user, since: now, reason: reason)
        try await ledger.setState(Self.intakePausedKey, state.encoded, at: now)
        try await audit.record(.staff(user), paused ? .intakePause : .intakeResume, .none, .success,
                               String((reason ?? "").prefix(200)))
    }

    public func intakePaused() async throws -> Bool {
        try await intakePause().paused
    }
}

/// What changes only at import and rollover — the held fiscal years and each data set's freshness — re-read
/// at most every `ttl` seconds (another node's import shows within that) instead of on every request.
public actor LoadedDataCache {
    let taxData: any TaxDataStore
    let clock: any KofuClock
    let ttl: TimeInterval
    private var cached: (years: [FiscalYear], freshness: [DataSetFreshness], at: Date)?

    init(taxData: any TaxDataStore, clock: any KofuClock, ttl: TimeInterval = 10) {
        self.taxData = taxData; self.clock = clock; self.ttl = ttl
    }

    public func years() async throws -> [FiscalYear] { try await current().years }

    public func freshness() async throws -> [DataSetFreshness] { try await current().freshness }

    private func current() async throws -> (years: [FiscalYear], freshness: [DataSetFreshness]) {
        let now = clock.now()
        if let cached, now.timeIntervalSince(cached.at) < ttl, now >= cached.at { return (cached.years, cached.freshness) }
        let years = try await taxData.heldFiscalYears()
        let freshness = try await taxData.freshness()
        cached = (years, freshness, now)
        return (years, freshness)
    }
}

/// Runs `body`, cancelling it after `seconds`; the caller sees `CancellationError`.
func withDeadline<R: Sendable>(seconds: Int, _ body: @escaping @Sendable () async throws -> R) async throws -> R {
    try await withThrowingTaskGroup(of: R?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            return nil
        }
        defer { group.cancelAll() }
        while let next = try await group.next() {
            if let value = next { return value }
            // Past the deadline: cancel the body and take its outcome, which the group waits for anyway; a
            // database that went away meanwhile is a 503 (retry), not a timeout's 500.
            group.cancelAll()
            do {
                while let late = try await group.next() { if let value = late { return value } }
            } catch where DatabaseError.isUnavailability(error) {
                throw DatabaseError.unavailable
            } catch {}
            throw CancellationError()
        }
        throw CancellationError()
    }
}

/// The seal's signed page count differs from the pages the renderer drew: the certificate is not issued.
struct SealPaginationMismatch: Error, CustomStringConvertible {
    var signed: Int
    var rendered: Int
    var description: String { "seal page count \(signed) differs from rendered pages \(rendered)" }
}

/// 証明書内容のダイジェスト: SHA-256 over everything a certificate prints except its number and issue date, so
/// that a reprint can be checked to carry the same content without the ledger ever holding the content.
public enum ContentDigest {
    public static func of(_ certificate: Certificate) -> String {
        var c = certificate
        c.number = CertificateNumber("-")
        c.issueDate = LocalDate(year: 2000, month: 1, day: 1)!
        // Where and from which batch it was issued is not its content: a kiosk certificate reprinted at the
        // counter from a later batch with the same data says the same.
        c.issuedAt = .counter
        c.dataAsOf = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return SHA256.hex(Array((try? encoder.encode(c)) ?? Data()))
    }

    /// The request's options that are not personal (tax item codes), kept so a reprint asks for the same.
    static func options(_ request: CertificateRequest) -> String {
        "items=" + request.taxItems.map(\.rawValue).joined(separator: ",")
    }
}
