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
    /// True when this batch id had already been imported: nothing was read or changed.
    public var alreadyImported: Bool
    public var files: [FileResult]
    /// Wall-clock time of the whole import.
    public var durationSeconds: Double

    /// Every data row read (stored plus skipped).
    public var totalRows: Int { files.reduce(0) { $0 + $1.rows + $1.skippedRows } }

    /// One line for people, e.g. `batch 20261122-01 imported: 1,234 rows (12 skipped, out of retention) in 0.4 s`.
    public var summary: String {
        if alreadyImported { return "batch \(batchID) was already imported; nothing changed" }
        let stored = files.reduce(0) { $0 + $1.rows }
        let skipped = files.reduce(0) { $0 + $1.skippedRows }
        return "batch \(batchID) imported: \(stored) rows stored, \(skipped) skipped (older than the retention window) "
            + "in \(String(format: "%.2f", durationSeconds)) s"
    }
}

/// 日次連携の取込: checks a linkage batch (LINKAGE.md) completely and applies it in one transaction.
///
/// Order: the manifest (municipality, check digit, encoding), the batch id (a repeat is a no-op), every
/// listed file's SHA-256, then one transaction that replaces each listed data set while parsing and
/// checking its rows as a stream. Any problem anywhere rolls the whole transaction back, so the stored
/// data is either entirely the old or entirely the new; every problem found is reported, up to
/// `maxProblems`.
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

    /// Imports the batch in `directory`. Throws `LinkageRejection` (nothing changed) when the batch has problems.
    public func importBatch(at directory: String, now: @Sendable () -> Date = { Date() }) async throws -> ImportReport {
        let started = DispatchTime.now().uptimeNanoseconds
        func elapsed() -> Double { Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9 }
        var manifestProblems: [LinkageProblem] = []
        guard let manifest = LinkageManifest.load(directory: directory, expectedMunicipality: municipalityCode,
                                                  problems: &manifestProblems) else {
            throw LinkageRejection(problems: manifestProblems)
        }
        if try await isImported(manifest.batchID) {
            return ImportReport(batchID: manifest.batchID, alreadyImported: true, files: [], durationSeconds: elapsed())
        }
        // Digests first: a file that is not what the manifest describes is not parsed at all.
        let manifestText = String(decoding: FileManager.default.contents(
            atPath: (directory as NSString).appendingPathComponent("manifest.json")) ?? Data(), as: UTF8.self)
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
        if !digestProblems.isEmpty { throw LinkageRejection(problems: digestProblems) }
        let logger = database.logger
        logger.debug("linkage import: digests checked", metadata: ["seconds": "\(elapsed())"])

        let log = ProblemLog(cap: maxProblems)
        let retention = self.retention
        let outcome: Result<[ImportReport.FileResult], any Error>
        do {
            outcome = .success(try await database.importTransaction { db, writer in
                try await Self.apply(manifest: manifest, directory: directory, retention: retention, log: log,
                                     db: db, writer: writer, loadedAt: now(), logger: logger)
            })
        } catch {
            outcome = .failure(error)
        }
        let results: [ImportReport.FileResult]
        switch outcome {
        case .success(let r): results = r
        case .failure(is ProblemLog.Full): throw LinkageRejection(problems: log.problems, stoppedAtCap: true)
        case .failure(is ProblemLog.AlreadyImported):
            return ImportReport(batchID: manifest.batchID, alreadyImported: true, files: [], durationSeconds: elapsed())
        case .failure(is ProblemLog.Rejected): throw LinkageRejection(problems: log.problems)
        case .failure(let error): throw error
        }
        logger.debug("linkage import: committed", metadata: ["seconds": "\(elapsed())"])
        return ImportReport(batchID: manifest.batchID, alreadyImported: false, files: results, durationSeconds: elapsed())
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

    private func isImported(_ batchID: String) async throws -> Bool {
        try await database.read { db in
            try await db.raw("SELECT batch_id FROM tax_batches WHERE batch_id = \(bind: batchID)").first() != nil
        }
    }

    private static func apply(manifest: LinkageManifest, directory: String, retention: RetentionWindow, log: ProblemLog,
                              db: any SQLDatabase, writer: any TaxDataBulkWriter,
                              loadedAt: Date, logger: Logger) async throws -> [ImportReport.FileResult] {
        // Another node may have imported the same batch meanwhile; inside the transaction this is exact.
        if try await db.raw("SELECT batch_id FROM tax_batches WHERE batch_id = \(bind: manifest.batchID)").first() != nil {
            throw ProblemLog.AlreadyImported()
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
        var results: [ImportReport.FileResult] = []
        var heldYears: [String: Set<Int>] = [:]
        for entry in manifest.files {
            guard let spec = LinkageFileSpec.all[entry.name] else { continue }
            try await db.raw("DELETE FROM \(unsafeRaw: spec.table)").run()
            let path = (directory as NSString).appendingPathComponent(entry.name)
            let file = LinkageFileImport(spec: spec, entry: entry, retention: retention, log: log)
            if spec.addresseeReference == nil { known = UInt64Set(expected: LinkageFileImport.presize(entry.rows)) }
            let started = DispatchTime.now().uptimeNanoseconds
            try await file.run(path: path, encoding: manifest.encoding, known: &known, db: db, writer: writer)
            logger.debug("linkage import: file loaded", metadata: [
                "file": "\(entry.name)", "rows": "\(file.stored)",
                "seconds": "\(Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9)"])
            results.append(.init(file: entry.name, rows: file.stored, skippedRows: file.skipped))
            if spec.fiscalYear != nil { heldYears[spec.dataSet] = file.years }
        }
        if listed.contains("residents.csv") {
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
        let loaded = TaxDataTime.format(loadedAt)
        let extracted = TaxDataTime.format(manifest.extractedAt)
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
        return results
    }
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
    private(set) var stored = 0
    private(set) var skipped = 0
    /// The fiscal years the stored rows belong to (empty for files without a fiscal-year column).
    private(set) var years: Set<Int> = []
    private let table: TaxDataTable
    private var inFlight: Task<TaxDataRows, any Error>?
    /// The buffer of the last finished insert, reused for the next block's rows.
    private var spare: TaxDataRows?

    init(spec: LinkageFileSpec, entry: LinkageManifest.FileEntry, retention: RetentionWindow, log: ProblemLog) {
        self.spec = spec
        self.entry = entry
        self.retention = retention
        self.log = log
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
            try log.add(.init(file: spec.fileName, line: 1, column: 1, message: "cannot read the file"))
            return
        }
        var parser = CSVParser()
        var checker = LinkageRowChecker(spec: spec, retention: retention, log: log, expectedRows: entry.rows)
        let name = spec.fileName
        let log = self.log
        while true {
            let chunk: [UInt8]?
            do { chunk = try source.next() } catch ByteSourceError.invalidSequence(let byte) {
                try log.add(.init(file: name, line: parser.line, column: parser.column,
                                  message: "invalid \(encoding.rawValue) byte sequence (0x\(String(byte, radix: 16, uppercase: true)))"))
                return
            }
            guard let chunk else { break }
            try chunk.withUnsafeBufferPointer { buf in
                try parser.feed(buf, onRecord: { try checker.handle($0, known: &known) }, onError: { e in
                    try log.add(.init(file: name, line: e.line, column: e.column, message: e.message))
                })
            }
            if checker.headerFailed { return }
            try await flush(&checker, db: db, writer: writer)
        }
        try parser.finish(onRecord: { try checker.handle($0, known: &known) }, onError: { e in
            try log.add(.init(file: name, line: e.line, column: e.column, message: e.message))
        })
        if checker.headerFailed { return }
        if !checker.sawHeader {
            try log.add(.init(file: name, line: 1, column: 1, message: "the file is empty (no header line)"))
            return
        }
        try await flush(&checker, db: db, writer: writer)
        skipped = checker.skipped
        years = checker.years
        if checker.dataRows != entry.rows {
            try log.add(.init(file: name, line: parser.line, column: parser.column,
                              message: "manifest.json lists \(entry.rows) rows, the file has \(checker.dataRows) (truncated file?)"))
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
    private let kinds: [LinkageColumnKind]
    private let names: [String]
    private(set) var dataRows = 0
    private(set) var skipped = 0
    private(set) var headerFailed = false
    /// The fiscal years of the rows kept (files with a fiscal-year column), for `tax_fiscal_years`.
    private(set) var years: Set<Int> = []
    private var lastYear = TaxDataRows.null
    /// CSV field index of each spec column, once the header is read.
    private var fieldIndex: [Int] = []
    private(set) var sawHeader = false
    private var headerCount = 0
    private var rows: TaxDataRows
    private var keyHashes: UInt64Set
    /// Rows whose key hash was seen before: duplicates, or (rarely) hash collisions, decided against the table.
    private var suspects: TaxDataRows
    private var suspectPositions: [(line: Int, column: Int)] = []

    init(spec: LinkageFileSpec, retention: RetentionWindow, log: ProblemLog, expectedRows: Int) {
        self.spec = spec
        self.retention = retention
        self.log = log
        kinds = spec.columns.map(\.kind)
        names = spec.columns.map(\.name)
        let textColumns = spec.bulkTable.textColumns
        rows = TaxDataRows(textColumns: textColumns, reservingRows: 8192)
        suspects = TaxDataRows(textColumns: textColumns)
        // residents.csv checks its keys exactly against the addressee set instead.
        keyHashes = UInt64Set(expected: spec.addresseeReference == nil ? 0 : LinkageFileImport.presize(expectedRows))
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
        guard sawHeader else {
            try readHeader(r)
            return
        }
        dataRows += 1
        if r.count != headerCount {
            let (line, column) = r.count > headerCount ? (r.lines[headerCount], r.columns[headerCount]) : (r.endLine, r.endColumn)
            try log.add(.init(file: spec.fileName, line: line, column: column,
                              message: "the record has \(r.count) fields, the header has \(headerCount)"))
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
                        try log.add(.init(file: file, line: r.lines[i], column: r.columns[i], message: e.message))
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
                    if let p = packAddressee(field(i)), !known.contains(p) {
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
                    rows.rollBack(to: mark)
                    return
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
                headerFailed = true
                try log.add(.init(file: spec.fileName, line: r.lines[0], column: r.columns[0],
                                  message: "missing required column \(column.name)"))
            }
        }
        headerCount = r.count
        if !headerFailed {
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
