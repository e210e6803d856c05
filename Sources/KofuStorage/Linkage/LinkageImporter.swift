import Foundation
import KofuDomain
import Logging
import NIOPosix
import SQLKit

/// 直近N年度: the fiscal years Kofu holds, counted back from the current one.
public struct RetentionWindow: Sendable, Hashable, Codable {
    /// How many fiscal years are kept (4 by default, `retention.fiscal_years`).
    public let years: Int
    /// The current fiscal year (the one today falls in, in Japan).
    public let latest: FiscalYear

    public init(years: Int, latest: FiscalYear) {
        self.years = max(1, years)
        self.latest = latest
    }

    /// The window ending with the fiscal year `today` falls in.
    public init(years: Int, today: LocalDate) {
        self.init(years: years, latest: today.fiscalYear)
    }

    /// The oldest fiscal year still held.
    public var oldest: FiscalYear { FiscalYear(latest.year - years + 1) }

    /// Whether rows of `year` are kept (later years are kept too: they are not old).
    public func contains(_ year: FiscalYear) -> Bool { year >= oldest }
}

/// Which batches may replace the data in force.
public enum ImportOrdering: Sendable, Hashable {
    /// The daily run: only a batch extracted later than the data in force, and never one imported before
    /// (the batch in force itself is a no-op that says so).
    case newerOnly
    /// A deliberate restore (`kofu import --allow-older --reason …`): also an older batch, or one imported
    /// before. The reason is recorded in the audit log.
    case allowOlder(reason: String)
}

/// The batch whose data is the newest of the data in force (by `extracted_at`; a batch may list only some files).
public struct BatchInForce: Sendable, Hashable, Codable {
    public var batchID: String
    public var extractedAt: Date
}

/// What a batch did to the 発行制限 (restrictions.csv), so that one disappearing is visible in the summary and
/// the audit log: a support measure (DV等支援措置) that vanishes lets the kiosk issue that person's certificates.
public struct RestrictionChanges: Sendable, Codable, Hashable {
    /// Restrictions (addressee, kind, start) not held before.
    public var added: Int
    /// Held restrictions the batch no longer has.
    public var removed: Int
    /// Held restrictions that now end earlier (an end date set, or moved earlier).
    public var endedEarlier: Int

    public init(added: Int, removed: Int, endedEarlier: Int) {
        self.added = added
        self.removed = removed
        self.endedEarlier = endedEarlier
    }

    /// `1 added, 1 removed, 0 ended earlier`.
    public var summary: String { "\(added) added, \(removed) removed, \(endedEarlier) ended earlier" }
}

/// What an import did.
public struct ImportReport: Sendable, Codable, Hashable {
    /// One file's outcome.
    public struct FileResult: Sendable, Codable, Hashable {
        public var file: String
        /// Rows stored.
        public var rows: Int
        /// Rows of fiscal years older than the retention window: read, checked, not stored.
        public var skippedRows: Int
    }

    public var batchID: String
    /// True when this batch is the one in force already: nothing was read or changed.
    public var alreadyImported: Bool
    public var files: [FileResult]
    /// Wall-clock time of the whole import.
    public var durationSeconds: Double
    /// What the batch did to the restrictions; nil when it does not list restrictions.csv.
    public var restrictions: RestrictionChanges? = nil
    /// The batch in force before this one; nil for the first batch (and for `alreadyImported`).
    public var replaced: BatchInForce? = nil
    /// True when `ImportOrdering.allowOlder` let in a batch the ordering rule refuses (not newer than the data in
    /// force, or imported before).
    public var restored: Bool = false

    /// Every data row read (stored plus skipped).
    public var totalRows: Int { files.reduce(0) { $0 + $1.rows + $1.skippedRows } }

    /// One line for people, e.g. `batch 20261122-01 imported: 1,234 rows stored, 12 skipped (…) in 0.4 s;
    /// restrictions: 1 added, 0 removed, 0 ended earlier`.
    public var summary: String {
        if alreadyImported { return "batch \(batchID) was already imported and is the data in force; nothing changed" }
        let stored = files.reduce(0) { $0 + $1.rows }
        let skipped = files.reduce(0) { $0 + $1.skippedRows }
        var text = restored
            ? "batch \(batchID) restored (--allow-older) over batch \(replaced?.batchID ?? "none")"
            : "batch \(batchID) imported"
        text += ": \(stored) rows stored, \(skipped) skipped (older than the retention window) "
            + "in \(String(format: "%.2f", durationSeconds)) s"
        if let restrictions { text += "; restrictions: \(restrictions.summary)" }
        return text
    }
}

/// 日次連携の取込: checks a linkage batch (LINKAGE.md) completely and applies it in one transaction.
///
/// Order: the manifest (municipality, check digit, encoding), the ordering rule (a batch must be extracted later
/// than the data in force; the batch in force again is a no-op), every listed file's SHA-256, then one
/// transaction that replaces each listed data set while parsing and checking its rows as a stream. Any problem
/// anywhere rolls the whole transaction back, so the stored data is either entirely the old or entirely the new;
/// every problem found is reported, up to `maxProblems`, one message per root cause.
public struct LinkageImporter: Sendable {
    public let database: KofuDatabase
    /// The municipality this server serves; a batch for another one is rejected.
    public let municipalityCode: String
    public let retention: RetentionWindow
    public let maxProblems: Int

    public init(database: KofuDatabase, municipalityCode: String, retention: RetentionWindow, maxProblems: Int = 1000) {
        self.database = database
        self.municipalityCode = municipalityCode
        self.retention = retention
        self.maxProblems = max(1, maxProblems)
    }

    /// Imports the batch in `directory`. Throws `LinkageRejection` (nothing changed) when the batch has problems
    /// or the ordering rule refuses it.
    public func importBatch(at directory: String, ordering: ImportOrdering = .newerOnly,
                            now: @Sendable () -> Date = { Date() }) async throws -> ImportReport {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        var manifestProblems: [LinkageProblem] = []
        guard let manifest = LinkageManifest.load(directory: directory, expectedMunicipality: municipalityCode,
                                                  problems: &manifestProblems) else {
            throw LinkageRejection(problems: manifestProblems, batchID: Self.batchID(in: directory))
        }
        let manifestText = String(decoding: FileManager.default.contents(
            atPath: (directory as NSString).appendingPathComponent("manifest.json")) ?? Data(), as: UTF8.self)
        // The ordering rule before anything is read: a stale batch is refused whatever its content.
        switch try await database.read({ db in try await Self.decide(manifest, ordering, manifestText, db) }) {
        case .alreadyInForce:
            return ImportReport(batchID: manifest.batchID, alreadyImported: true, files: [], durationSeconds: elapsed())
        case .refuse(let problem):
            throw LinkageRejection(problems: [problem], batchID: manifest.batchID)
        case .apply:
            break
        }
        // Digests first: a file that is not what the manifest describes is not parsed at all.
        var digestProblems: [LinkageProblem] = []
        let digests = await Self.digests(manifest.files.map { (directory as NSString).appendingPathComponent($0.name) })
        for (entry, digest) in zip(manifest.files, digests) {
            let (line, column) = LinkageManifest.locate("\"sha256\"", in: manifestText, after: "\"\(entry.name)\"")
            if let sha = digest {
                if sha != entry.sha256 {
                    digestProblems.append(.init(file: "manifest.json", line: line, column: column,
                        message: "files.\(entry.name).sha256: the file's SHA-256 does not match (altered or truncated file)"))
                }
            } else {
                digestProblems.append(.init(file: entry.name, line: 1, column: 1, message: "cannot read the file"))
            }
        }
        if !digestProblems.isEmpty { throw LinkageRejection(problems: digestProblems, batchID: manifest.batchID) }
        let logger = database.logger
        logger.debug("linkage import: digests checked", metadata: ["seconds": "\(elapsed())"])

        let log = ProblemLog(cap: maxProblems)
        let context = ImportContext(manifest: manifest, manifestText: manifestText, directory: directory,
                                    retention: retention, ordering: ordering, backend: database.backend,
                                    loadedAt: now(), logger: logger)
        let outcome: Result<Applied, any Error>
        do {
            outcome = .success(try await database.importTransaction { db, writer in
                try await Self.apply(context, log: log, db: db, writer: writer)
            })
        } catch {
            outcome = .failure(error)
        }
        let applied: Applied
        switch outcome {
        case .success(let a): applied = a
        case .failure(is ProblemLog.Full):
            throw LinkageRejection(problems: log.problems, stoppedAtCap: true, batchID: manifest.batchID)
        case .failure(is ProblemLog.AlreadyImported):
            return ImportReport(batchID: manifest.batchID, alreadyImported: true, files: [], durationSeconds: elapsed())
        case .failure(is ProblemLog.Rejected):
            throw LinkageRejection(problems: log.problems, batchID: manifest.batchID)
        case .failure(let error): throw error
        }
        logger.debug("linkage import: committed", metadata: ["seconds": "\(elapsed())"])
        return ImportReport(batchID: manifest.batchID, alreadyImported: false, files: applied.files,
                            durationSeconds: elapsed(), restrictions: applied.restrictions,
                            replaced: applied.replaced, restored: applied.restored)
    }

    /// The SHA-256 of each file (nil when it cannot be read), computed on the NIO thread pool, one file per core.
    private static func digests(_ paths: [String]) async -> [String?] {
        await withTaskGroup(of: (Int, String?).self) { group in
            for (i, path) in paths.enumerated() {
                group.addTask {
                    (i, try? await NIOThreadPool.singleton.runIfActive { try LinkageByteSource.digest(path: path).sha256 })
                }
            }
            var digests = [String?](repeating: nil, count: paths.count)
            for await (i, digest) in group { digests[i] = digest }
            return digests
        }
    }

    /// What the ordering rule says about a batch.
    enum OrderingDecision {
        case apply(replacing: BatchInForce?, restore: Bool)
        /// The batch is the one in force: a no-op that says so (LINKAGE.md).
        case alreadyInForce
        case refuse(LinkageProblem)
    }

    /// The batch whose data in force is newest, if any data is held.
    static func batchInForce(_ db: any SQLDatabase) async throws -> BatchInForce? {
        var newest: BatchInForce?
        for row in try await db.raw("SELECT batch_id, extracted_at FROM tax_freshness").all() {
            guard let at = TaxDataTime.parse(try row.decode(column: "extracted_at", as: String.self)) else {
                throw TaxDataStoreError.corruptValue(table: "tax_freshness", column: "extracted_at")
            }
            if newest.map({ at > $0.extractedAt }) ?? true {
                newest = BatchInForce(batchID: try row.decode(column: "batch_id", as: String.self), extractedAt: at)
            }
        }
        return newest
    }

    /// The ordering rule. Without `allowOlder`: the batch in force again is a no-op; a batch imported before and
    /// since replaced, or one extracted no later than the data in force, is refused (applying it would silently
    /// undo later changes: a support measure added since, a payment confirmed since).
    static func decide(_ manifest: LinkageManifest, _ ordering: ImportOrdering, _ manifestText: String,
                       _ db: any SQLDatabase) async throws -> OrderingDecision {
        let inForce = try await batchInForce(db)
        let importedBefore = try await db.raw(
            "SELECT batch_id FROM tax_batches WHERE batch_id = \(bind: manifest.batchID)").first() != nil
        let newer = inForce.map { manifest.extractedAt > $0.extractedAt } ?? true
        if case .allowOlder = ordering {
            return .apply(replacing: inForce, restore: importedBefore || !newer)
        }
        func problem(_ key: String, _ message: String) -> LinkageProblem {
            let (line, column) = LinkageManifest.locate("\"\(key)\"", in: manifestText)
            return LinkageProblem(file: "manifest.json", line: line, column: column, message: message)
        }
        let restore = "a deliberate restore needs kofu import --allow-older --reason TEXT"
        if importedBefore {
            guard let inForce, inForce.batchID != manifest.batchID else { return .alreadyInForce }
            return .refuse(problem("batch_id", "batch_id: batch \(manifest.batchID) was imported before and has since been "
                + "replaced by batch \(inForce.batchID) (extracted_at \(TaxDataTime.japan(inForce.extractedAt))); "
                + "nothing changed; \(restore)"))
        }
        if let inForce, !newer {
            return .refuse(problem("extracted_at", "extracted_at: batch \(manifest.batchID) (extracted_at "
                + "\(TaxDataTime.japan(manifest.extractedAt))) is not later than the data in force, batch \(inForce.batchID) "
                + "(extracted_at \(TaxDataTime.japan(inForce.extractedAt))); applying it would undo what changed since "
                + "(restrictions, payments); nothing changed; \(restore)"))
        }
        return .apply(replacing: inForce, restore: false)
    }

    /// Everything `apply` needs besides the connection.
    struct ImportContext: Sendable {
        let manifest: LinkageManifest
        let manifestText: String
        let directory: String
        let retention: RetentionWindow
        let ordering: ImportOrdering
        let backend: DatabaseBackend
        let loadedAt: Date
        let logger: Logger
    }

    /// What a committed import changed.
    struct Applied: Sendable {
        var files: [ImportReport.FileResult]
        var restrictions: RestrictionChanges?
        var replaced: BatchInForce?
        var restored: Bool
    }

    private static func apply(_ context: ImportContext, log: ProblemLog, db: any SQLDatabase,
                              writer: any TaxDataBulkWriter) async throws -> Applied {
        let manifest = context.manifest
        if context.backend == .postgres {
            // Imports on several nodes take turns (SQLite's single writer already serializes them), so the
            // ordering rule below sees the other's commit. Plain reads of tax_batches are not blocked.
            try await db.raw("LOCK TABLE tax_batches IN SHARE ROW EXCLUSIVE MODE").run()
        }
        // Another node may have imported a batch meanwhile; inside the transaction this is exact.
        let replaced: BatchInForce?
        let restored: Bool
        switch try await decide(manifest, context.ordering, context.manifestText, db) {
        case .alreadyInForce: throw ProblemLog.AlreadyImported()
        case .refuse(let problem):
            try log.add(problem)
            throw ProblemLog.Rejected()
        case .apply(let r, let restore):
            replaced = r
            restored = restore
        }
        let listed = Set(manifest.files.map(\.name))
        // The addressees other files may refer to: this batch's residents.csv, or the held residents.
        var known = UInt64Set()
        if !listed.contains("residents.csv") {
            let held = try await db.raw("SELECT addressee_id FROM tax_residents").all()
            known = UInt64Set(expected: held.count)
            for row in held {
                if let p = packAddressee(try row.decode(column: "addressee_id", as: String.self)) { known.insert(p) }
            }
        }
        // When residents.csv could not be read through (a missing column, a broken structure), the references to
        // it cannot be checked: every one would be reported as unknown, hundreds of messages for one cause.
        var checkReferences = true
        let heldRestrictions = listed.contains("restrictions.csv") ? try await restrictionRows(db) : [:]
        let ruleContext = LinkageRuleContext(extractedOn: LocalDate.todayInJapan(now: manifest.extractedAt).parts)
        var results: [ImportReport.FileResult] = []
        var heldYears: [String: Set<Int>] = [:]
        for entry in manifest.files {
            guard let spec = LinkageFileSpec.spec(for: entry.name, formatVersion: manifest.formatVersion) else { continue }
            try await db.raw("DELETE FROM \(unsafeRaw: spec.table)").run()
            let path = (context.directory as NSString).appendingPathComponent(entry.name)
            let file = LinkageFileImport(spec: spec, entry: entry, retention: context.retention, log: log,
                                         rules: ruleContext, checkReferences: checkReferences)
            if spec.addresseeReference == nil { known = UInt64Set(expected: LinkageFileImport.presize(entry.rows)) }
            let started = DispatchTime.now().uptimeNanoseconds
            try await file.run(path: path, encoding: manifest.encoding, known: &known, db: db, writer: writer)
            context.logger.debug("linkage import: file loaded", metadata: [
                "file": "\(entry.name)", "rows": "\(file.stored)",
                "seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)"])
            results.append(.init(file: entry.name, rows: file.stored, skippedRows: file.skipped))
            if spec.fiscalYear != nil { heldYears[spec.dataSet] = file.years }
            if spec.addresseeReference == nil && !file.readThrough { checkReferences = false }
        }
        if listed.contains("residents.csv") && checkReferences {
            // Data sets not in this batch must not be left pointing at addressees the new residents.csv dropped.
            for spec in [LinkageFileSpec.cards, .restrictions, .assessments, .levies, .vehicles] where !listed.contains(spec.fileName) {
                let row = try await db.raw("""
                    SELECT COUNT(*) AS n FROM \(unsafeRaw: spec.table) t WHERE NOT EXISTS
                    (SELECT 1 FROM tax_residents r WHERE r.addressee_id = t.addressee_id)
                    """).first()
                let orphans = try row?.decode(column: "n", as: Int.self) ?? 0
                if orphans > 0 {
                    try log.add(.init(file: "residents.csv", line: 1, column: 1, message:
                        "\(orphans) rows of the held \(spec.fileName) data refer to addressees missing from this residents.csv; send \(spec.fileName) in the same batch"))
                }
            }
        }
        if !log.problems.isEmpty { throw ProblemLog.Rejected() }
        let restrictions = listed.contains("restrictions.csv")
            ? RestrictionChanges(old: heldRestrictions, new: try await restrictionRows(db)) : nil
        let loaded = TaxDataTime.format(context.loadedAt)
        let extracted = TaxDataTime.format(manifest.extractedAt)
        // A restore may apply a batch imported before: its bookkeeping row is replaced.
        try await db.raw("DELETE FROM tax_batches WHERE batch_id = \(bind: manifest.batchID)").run()
        try await db.raw("""
            INSERT INTO tax_batches (batch_id, municipality_code, extracted_at, loaded_at, files)
            VALUES (\(bind: manifest.batchID), \(bind: manifest.municipalityCode), \(bind: extracted), \(bind: loaded),
                    \(bind: manifest.files.map(\.name).joined(separator: ",")))
            """).run()
        // The held years of each replaced data set, so that asking which years are held reads a few rows
        // instead of scanning every per-year table (TaxDataSchema, `tax_fiscal_years`).
        for (dataSet, years) in heldYears.sorted(by: { $0.key < $1.key }) {
            try await db.raw("DELETE FROM tax_fiscal_years WHERE data_set = \(bind: dataSet)").run()
            for year in years.sorted() {
                try await db.raw("INSERT INTO tax_fiscal_years (data_set, fiscal_year) VALUES (\(bind: dataSet), \(bind: year))").run()
            }
        }
        for result in results {
            let dataSet = LinkageFileSpec.all[result.file]!.dataSet
            try await db.raw("DELETE FROM tax_freshness WHERE data_set = \(bind: dataSet)").run()
            try await db.raw("""
                INSERT INTO tax_freshness (data_set, batch_id, extracted_at, loaded_at, row_count)
                VALUES (\(bind: dataSet), \(bind: manifest.batchID), \(bind: extracted), \(bind: loaded), \(bind: result.rows))
                """).run()
        }
        return Applied(files: results, restrictions: restrictions, replaced: replaced, restored: restored)
    }

    /// The held restrictions: key (addressee, kind, start) → end date (nil: open-ended). A few hundred rows even
    /// in a large city.
    private static func restrictionRows(_ db: any SQLDatabase) async throws -> [String: String?] {
        var rows: [String: String?] = [:]
        for row in try await db.raw("SELECT addressee_id, kind, valid_from, valid_to FROM tax_restrictions").all() {
            let key = [try row.decode(column: "addressee_id", as: String.self), try row.decode(column: "kind", as: String.self),
                       try row.decode(column: "valid_from", as: String.self)].joined(separator: "|")
            rows[key] = .some(try row.decode(column: "valid_to", as: String?.self))
        }
        return rows
    }
}

extension RestrictionChanges {
    /// Compares the restrictions held before and after (key → end date, nil for open-ended).
    init(old: [String: String?], new: [String: String?]) {
        self.init(
            added: new.keys.filter { old[$0] == nil }.count,
            removed: old.keys.filter { new[$0] == nil }.count,
            endedEarlier: new.filter { key, end in
                guard let before = old[key], let end else { return false }
                // Dates are YYYY-MM-DD: text order is date order.
                return before.map { end < $0 } ?? true
            }.count)
    }
}

extension LocalDate {
    var parts: (year: Int, month: Int, day: Int) { (year, month, day) }
}

/// Problems of one import, shared by the files of a batch.
final class ProblemLog: @unchecked Sendable {
    /// The cap was reached; the import stops looking.
    struct Full: Error {}
    /// Problems were found (or the batch turned out to be imported already); roll back.
    struct Rejected: Error {}
    struct AlreadyImported: Error {}

    let cap: Int
    private(set) var problems: [LinkageProblem] = []

    init(cap: Int) { self.cap = cap }

    func add(_ p: LinkageProblem) throws {
        problems.append(p)
        if problems.count >= cap { throw Full() }
    }
}

/// One linkage file being parsed, checked and inserted.
///
/// Reading, parsing and checking happen on the calling task; each block's rows then go to the database in a
/// background task while the next block is parsed (one block in flight keeps memory bounded).
final class LinkageFileImport {
    let spec: LinkageFileSpec
    let entry: LinkageManifest.FileEntry
    let retention: RetentionWindow
    let log: ProblemLog
    let rules: LinkageRuleContext
    let checkReferences: Bool
    private(set) var stored = 0
    private(set) var skipped = 0
    /// The fiscal years the stored rows belong to (empty for files without a fiscal-year column).
    private(set) var years: Set<Int> = []
    /// False when the file could not be read through as CSV (unreadable, a missing column, an invalid byte, a
    /// syntax error): some of its records were not seen, so what refers to them cannot be checked.
    private(set) var readThrough = true
    private let table: TaxDataTable
    private var inFlight: Task<TaxDataRows, any Error>?
    /// The buffer of the last finished insert, reused for the next block's rows.
    private var spare: TaxDataRows?

    init(spec: LinkageFileSpec, entry: LinkageManifest.FileEntry, retention: RetentionWindow, log: ProblemLog,
         rules: LinkageRuleContext, checkReferences: Bool) {
        self.spec = spec
        self.entry = entry
        self.retention = retention
        self.log = log
        self.rules = rules
        self.checkReferences = checkReferences
        table = spec.bulkTable
    }

    /// Capacity to reserve for `rows` keys: what the manifest announces, within reason (a wrong count only
    /// costs a rehash later).
    static func presize(_ rows: Int) -> Int { min(max(rows, 0), 12_000_000) }

    func run(path: String, encoding: LinkageEncoding, known: inout UInt64Set, db: any SQLDatabase,
             writer: any TaxDataBulkWriter) async throws {
        do {
            try await parse(path: path, encoding: encoding, known: &known, db: db, writer: writer)
            try await drain()
        } catch {
            // Never leave an insert running on the connection that is about to roll back.
            try? await drain()
            throw error
        }
    }

    private func parse(path: String, encoding: LinkageEncoding, known: inout UInt64Set, db: any SQLDatabase,
                       writer: any TaxDataBulkWriter) async throws {
        let source: LinkageByteSource
        do { source = try LinkageByteSource(path: path, encoding: encoding) } catch {
            readThrough = false
            try log.add(.init(file: spec.fileName, line: 1, column: 1, message: "cannot read the file"))
            return
        }
        var parser = CSVParser()
        var checker = LinkageRowChecker(spec: spec, retention: retention, log: log, expectedRows: entry.rows,
                                        rules: rules, checkReferences: checkReferences)
        let name = spec.fileName
        let log = self.log
        var syntaxErrors = false
        let onError: (CSVSyntaxError) throws -> Void = { e in
            syntaxErrors = true
            try log.add(.init(file: name, line: e.line, column: e.column, message: e.message))
        }
        while true {
            let chunk: [UInt8]?
            do { chunk = try source.next() } catch ByteSourceError.invalidSequence(let byte) {
                readThrough = false
                try log.add(.init(file: name, line: parser.line, column: parser.column,
                                  message: "invalid \(encoding.rawValue) byte sequence (0x\(String(byte, radix: 16, uppercase: true)))"))
                return
            }
            guard let chunk else { break }
            try chunk.withUnsafeBufferPointer { buf in
                try parser.feed(buf, onRecord: { try checker.handle($0, known: &known) }, onError: onError)
            }
            if checker.stopped || parser.stopped {
                readThrough = false
                return
            }
            try await flush(&checker, db: db, writer: writer)
        }
        try parser.finish(onRecord: { try checker.handle($0, known: &known) }, onError: onError)
        if syntaxErrors { readThrough = false }
        if checker.stopped {
            readThrough = false
            return
        }
        if !checker.sawHeader {
            readThrough = false
            try log.add(.init(file: name, line: 1, column: 1, message: "the file is empty (no header line)"))
            return
        }
        try await flush(&checker, db: db, writer: writer)
        skipped = checker.skipped
        years = checker.years
        // Records dropped for a syntax error would make the count and the installment numbers wrong too: the
        // syntax error is the one message for that cause.
        if syntaxErrors { return }
        if checker.dataRows != entry.rows {
            // The digest matched, so the file is what the sender hashed: the count beside it disagrees.
            let hint = checker.dataRows < entry.rows ? " (truncated file?)" : ""
            try log.add(.init(file: "manifest.json", line: entry.rowsLine, column: entry.rowsColumn, message:
                "files.\(name).rows: the manifest lists \(entry.rows) data rows, \(name) has \(checker.dataRows)\(hint)"))
        }
        // A refused row's installment is unknown, so its notice would look incomplete: that row's own problem is
        // the message.
        if let notices = checker.notices, checker.refusedRows == 0 {
            try await drain()
            try await reportIrregular(notices.irregular(), db: db)
        }
    }

    /// Reports the notices whose installment numbers are not 0 alone or 1…n. While the batch is clean every row is
    /// in the table, and each one is confirmed there first: a hash collision of two notices cannot reject the batch.
    private func reportIrregular(_ irregular: [NoticeInstallments.Irregular], db: any SQLDatabase) async throws {
        guard !irregular.isEmpty, let notice = spec.notice else { return }
        var confirmed: Set<UInt64>?
        if log.problems.isEmpty {
            let key = notice.key.map { spec.columns[$0].name }.joined(separator: ", ")
            let installment = spec.columns[notice.installment].name
            let rows = try await db.raw("""
                SELECT \(unsafeRaw: key) FROM \(unsafeRaw: spec.table) GROUP BY \(unsafeRaw: key)
                HAVING NOT ((MIN(\(unsafeRaw: installment)) = 0 AND MAX(\(unsafeRaw: installment)) = 0)
                         OR (MIN(\(unsafeRaw: installment)) = 1 AND MAX(\(unsafeRaw: installment)) = COUNT(*)))
                """).all()
            var hashes = Set<UInt64>()
            for row in rows {
                var one = TaxDataRows(textColumns: table.textColumns, reservingRows: 1)
                for c in 0..<spec.columns.count {
                    guard notice.key.contains(c) else {
                        one.appendNull()
                        continue
                    }
                    let column = spec.columns[c].name
                    if spec.columns[c].kind.storesInteger {
                        one.appendInteger(try row.decode(column: column, as: Int.self))
                    } else {
                        var text = try row.decode(column: column, as: String.self)
                        text.withUTF8 { one.appendText($0) }
                    }
                }
                hashes.insert(NoticeInstallments.normalized(one.keyHash(row: 0, columns: notice.key)))
            }
            confirmed = hashes
        }
        for n in irregular where confirmed?.contains(n.hash) ?? true {
            let present = (0...12).filter { n.mask & (1 << $0) != 0 }
            let message: String
            if present.contains(0) {
                message = "installment: this notice has installment 0 (全期/随時) and numbered installments "
                    + "(\(present.filter { $0 > 0 }.map(String.init).joined(separator: ", "))); 0 stands alone"
            } else {
                let missing = (1...present.max()!).filter { !present.contains($0) }
                message = "installment: this notice has installments \(present.map(String.init).joined(separator: ", ")) "
                    + "but not \(missing.map(String.init).joined(separator: ", ")); installments run 1 to n without gaps"
            }
            try log.add(.init(file: spec.fileName, line: n.line, column: n.column, message: message))
        }
    }

    /// Inserts the checked rows (while the batch has no problems: a failing batch is rolled back anyway)
    /// and settles suspected duplicates.
    private func flush(_ checker: inout LinkageRowChecker, db: any SQLDatabase, writer: any TaxDataBulkWriter) async throws {
        let clean = log.problems.isEmpty
        let rows = checker.takeRows(replacement: spare.take())
        if clean { try await insert(rows, writer) }
        guard let (suspects, positions) = checker.takeSuspects() else { return }
        try await drain()
        for (row, position) in positions.enumerated() {
            var duplicate = true
            if clean && log.problems.isEmpty {
                let query = db.select().column(SQLLiteral.numeric("1")).from(spec.table)
                for k in spec.key {
                    let column = SQLIdentifier(spec.columns[k].name)
                    switch suspects.value(row * suspects.width + k) {
                    case .text(let v): query.where(SQLBinaryExpression(column, .equal, SQLBind(v)))
                    case .integer(let v): query.where(SQLBinaryExpression(column, .equal, SQLBind(v)))
                    case .null: query.where(SQLBinaryExpression(column, .is, SQLLiteral.null))
                    }
                }
                duplicate = try await query.first() != nil
            }
            if duplicate {
                try log.add(.init(file: spec.fileName, line: position.line, column: position.column,
                                  message: "duplicate key (\(spec.key.map { spec.columns[$0].name }.joined(separator: ", "))): the row repeats an earlier one"))
            } else {
                // A hash collision, not a duplicate.
                var one = TaxDataRows(textColumns: table.textColumns, reservingRows: 1)
                one.append(row: row, of: suspects)
                try await insert(one, writer)
                try await drain()
            }
        }
    }

    /// Hands `rows` to a background insert and returns at once, so parsing the next block overlaps with the
    /// database writing this one.
    private func insert(_ rows: TaxDataRows, _ writer: any TaxDataBulkWriter) async throws {
        guard !rows.isEmpty else { return }
        try await drain()
        let table = self.table
        inFlight = Task {
            try await writer.insert(rows, into: table)
            return rows
        }
        stored += rows.count
    }

    /// Waits for the insert in flight, if any.
    private func drain() async throws {
        if let task = inFlight {
            inFlight = nil
            spare = try await task.value
        }
    }
}

/// Checks one file's records and collects the rows to store: the per-row work of the import, kept in a value
/// type that lives on the parsing task's stack.
struct LinkageRowChecker {
    let spec: LinkageFileSpec
    let retention: RetentionWindow
    let log: ProblemLog
    let rules: LinkageRuleContext
    let checkReferences: Bool
    private let kinds: [LinkageColumnKind]
    private let names: [String]
    private(set) var dataRows = 0
    private(set) var skipped = 0
    /// Data rows with a problem of their own (wrong field count, a bad field, a cross-field rule).
    private(set) var refusedRows = 0
    /// The header lacks a column, or the structure broke (an unclosed quote): the rest of the file is not read.
    private(set) var stopped = false
    /// The fiscal years of the rows kept (files with a fiscal-year column), for `tax_fiscal_years`.
    private(set) var years: Set<Int> = []
    /// levies.csv: each notice's installment numbers.
    private(set) var notices: NoticeInstallments?
    private var lastYear = TaxDataRows.null
    /// CSV field index of each spec column, once the header is read.
    private var fieldIndex: [Int] = []
    private(set) var sawHeader = false
    private var headerCount = 0
    /// The first of the blank lines seen since the last record: harmless at the end of the file, an error before
    /// another record.
    private var blankLine: (line: Int, column: Int)?
    private var rows: TaxDataRows
    private var keyHashes: UInt64Set
    /// Rows whose key hash was seen before: duplicates, or (rarely) hash collisions, decided against the table.
    private var suspects: TaxDataRows
    private var suspectPositions: [(line: Int, column: Int)] = []

    init(spec: LinkageFileSpec, retention: RetentionWindow, log: ProblemLog, expectedRows: Int,
         rules: LinkageRuleContext, checkReferences: Bool) {
        self.spec = spec
        self.retention = retention
        self.log = log
        self.rules = rules
        self.checkReferences = checkReferences
        kinds = spec.columns.map(\.kind)
        names = spec.columns.map(\.name)
        let textColumns = spec.bulkTable.textColumns
        rows = TaxDataRows(textColumns: textColumns, reservingRows: 8192)
        suspects = TaxDataRows(textColumns: textColumns)
        // residents.csv checks its keys exactly against the addressee set instead.
        keyHashes = UInt64Set(expected: spec.addresseeReference == nil ? 0 : LinkageFileImport.presize(expectedRows))
        if spec.notice != nil { notices = NoticeInstallments(expected: LinkageFileImport.presize(expectedRows) / 3) }
    }

    /// The rows checked since the last call; `replacement` (an emptied earlier buffer) collects the next ones.
    mutating func takeRows(replacement: TaxDataRows?) -> TaxDataRows {
        let taken = rows
        if var replacement {
            replacement.removeAll()
            rows = replacement
        } else {
            rows = TaxDataRows(textColumns: taken.textColumns, reservingRows: max(8192, taken.count))
        }
        return taken
    }

    /// The suspected duplicates since the last call, with the position of each one's key.
    mutating func takeSuspects() -> (TaxDataRows, [(line: Int, column: Int)])? {
        guard !suspectPositions.isEmpty else { return nil }
        defer {
            suspects.removeAll()
            suspectPositions.removeAll()
        }
        return (suspects, suspectPositions)
    }

    mutating func handle(_ r: CSVRecord, known: inout UInt64Set) throws {
        if stopped { return }
        if r.isBlankLine {
            if blankLine == nil { blankLine = (r.lines[0], r.columns[0]) }
            return
        }
        if let blank = blankLine {
            blankLine = nil
            try log.add(.init(file: spec.fileName, line: blank.line, column: blank.column,
                              message: "a blank line between records (blank lines are ignored only at the end of the file)"))
        }
        guard sawHeader else {
            try readHeader(r)
            return
        }
        dataRows += 1
        if r.count != headerCount {
            if let open = r.multilineQuote {
                // The quoted field ran over line breaks and the record came out the wrong size: most likely its
                // closing quote is missing and it swallowed the lines after it, so every later line is misread.
                stopped = true
                try log.add(.init(file: spec.fileName, line: open.line, column: open.column, message:
                    "unclosed quote? the quoted field that starts here runs on to line \(r.endLine), and that record has \(r.count) fields, the header \(headerCount); the rest of the file was not checked"))
                return
            }
            refusedRows += 1
            let (line, column) = r.count > headerCount ? (r.lines[headerCount], r.columns[headerCount]) : (r.endLine, r.endColumn)
            try log.add(.init(file: spec.fileName, line: line, column: column,
                              message: "the record has \(r.count) fields, the header has \(headerCount)"))
            // A short residents.csv record still names its addressee: references to it are not errors of their own.
            if spec.addresseeReference == nil, fieldIndex[spec.key[0]] < r.count {
                r.bytes.withUnsafeBufferPointer { all in
                    if let p = packAddressee(UnsafeBufferPointer(rebasing: all[r.range(fieldIndex[spec.key[0]])])) { known.insert(p) }
                }
            }
            return
        }
        let mark = rows.mark
        var bad = false
        let file = spec.fileName
        try r.bytes.withUnsafeBufferPointer { all in
            try r.ends.withUnsafeBufferPointer { ends in
                func field(_ i: Int) -> UnsafeBufferPointer<UInt8> {
                    UnsafeBufferPointer(rebasing: all[(i == 0 ? 0 : ends[i - 1])..<ends[i]])
                }
                for c in 0..<kinds.count {
                    let i = fieldIndex[c]
                    if let e = kinds[c].append(field(i), name: names[c], to: &rows) {
                        bad = true
                        let (line, column) = e.byteOffset.map { r.position(field: i, byteOffset: $0) } ?? (r.lines[i], r.columns[i])
                        try log.add(.init(file: file, line: line, column: column, message: e.message))
                    }
                }
                if !bad {
                    for rule in spec.rowRules {
                        guard let (c, message) = rows.withLastRow({ rule.check($0, rules) }) else { continue }
                        bad = true
                        let i = fieldIndex[c]
                        try log.add(.init(file: file, line: r.lines[i], column: r.columns[i], message: message))
                    }
                }
                if let fy = spec.fiscalYear {
                    let year = rows.cells[mark.cells + fy]
                    if year != TaxDataRows.null, !retention.contains(FiscalYear(year)) {
                        if !bad { skipped += 1 }
                        rows.rollBack(to: mark)
                        return
                    }
                    if year != lastYear, year != TaxDataRows.null {
                        years.insert(year)
                        lastYear = year
                    }
                }
                if let ref = spec.addresseeReference {
                    let i = fieldIndex[ref]
                    if checkReferences, let p = packAddressee(field(i)), !known.contains(p) {
                        bad = true
                        try log.add(.init(file: file, line: r.lines[i], column: r.columns[i],
                                          message: "addressee_id: no such addressee in residents"))
                    }
                } else if let p = packAddressee(field(fieldIndex[spec.key[0]])) {
                    // residents.csv: the addressee set is both the reference list and the duplicate check, exactly.
                    if !known.insert(p) {
                        let i = fieldIndex[spec.key[0]]
                        try log.add(.init(file: file, line: r.lines[i], column: r.columns[i],
                                          message: "duplicate key (addressee_id): the row repeats an earlier one"))
                        rows.rollBack(to: mark)
                        return
                    }
                }
                if bad {
                    refusedRows += 1
                    rows.rollBack(to: mark)
                    return
                }
                if let notice = spec.notice {
                    let i = fieldIndex[notice.installment]
                    let hash = rows.keyHash(row: rows.count - 1, columns: notice.key)
                    let installment = rows.cells[mark.cells + notice.installment]
                    notices?.add(notice: hash, installment: installment, line: r.lines[i], column: r.columns[i])
                }
                if spec.addresseeReference != nil {
                    let row = rows.count - 1
                    if !keyHashes.insert(rows.keyHash(row: row, columns: spec.key)) {
                        let i = fieldIndex[spec.key[0]]
                        suspects.append(row: row, of: rows)
                        suspectPositions.append((r.lines[i], r.columns[i]))
                        rows.rollBack(to: mark)
                    }
                }
            }
        }
    }

    private mutating func readHeader(_ r: CSVRecord) throws {
        var positions: [String: Int] = [:]
        for i in 0..<r.count {
            guard var name = r.string(i) else { continue }
            if i == 0, name.hasPrefix("\u{FEFF}") { name.removeFirst() }
            name = name.trimmingCharacters(in: .whitespaces)
            if positions[name] == nil { positions[name] = i }
        }
        var index: [Int] = []
        for column in spec.columns {
            if let i = positions[column.name] {
                index.append(i)
            } else {
                stopped = true
                try log.add(.init(file: spec.fileName, line: r.lines[0], column: r.columns[0],
                                  message: "missing required column \(column.name)"))
            }
        }
        headerCount = r.count
        if !stopped {
            fieldIndex = index
            sawHeader = true
        }
    }
}

extension LinkageFileSpec {
    /// The table as the bulk writers see it.
    var bulkTable: TaxDataTable {
        TaxDataTable(name: table, columns: columns.map(\.name), textColumns: columns.map { !$0.kind.storesInteger })
    }
}
