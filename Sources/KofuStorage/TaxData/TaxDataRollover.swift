import KofuDomain
import SQLKit

/// What a fiscal-year rollover did.
public struct RolloverReport: Sendable, Codable, Hashable {
    /// Fiscal years still held after the rollover, newest first.
    public var keptYears: [Int]
    /// Fiscal years erased.
    public var erasedYears: [Int]
    /// Rows erased across assessments, levies and vehicles.
    public var erasedRows: Int

    /// `kept=2026,2025,2024,2023 erased=2022,2021 rows=1234`, for the audit log.
    public var auditReason: String {
        func years(_ y: [Int]) -> String { y.isEmpty ? "none" : y.map(String.init).joined(separator: ",") }
        return "kept=\(years(keptYears)) erased=\(years(erasedYears)) rows=\(erasedRows)"
    }
}

/// 年度更新: keeps the latest N fiscal years and erases older ones so they cannot be recovered from the
/// database files (DOMAIN.md §4).
///
/// SQLite: the rows are deleted with `secure_delete` on (freed content is overwritten with zeros), the WAL
/// is checkpointed and truncated so no old page image survives in `-wal`, then `VACUUM` rebuilds the file
/// without free pages and a second checkpoint truncates the WAL again. PostgreSQL: `DELETE` then
/// `VACUUM FULL` of the affected tables, which rewrites them into new files; see docs/storage.md for what
/// PostgreSQL's own WAL and the file system still hold.
public struct TaxDataRollover: Sendable {
    public let database: KofuDatabase
    public let retention: RetentionWindow

    public init(database: KofuDatabase, retention: RetentionWindow) {
        self.database = database
        self.retention = retention
    }

    public func run() async throws -> RolloverReport {
        let oldest = retention.oldest.year
        let before = try await SQLTaxDataStore(database: database).heldFiscalYears().map(\.year)
        let erasedRows = try await database.transaction { db in
            var total = 0
            for table in TaxDataSchema.fiscalYearTables {
                let n = try await db.raw("SELECT COUNT(*) AS n FROM \(unsafeRaw: table) WHERE fiscal_year < \(bind: oldest)")
                    .first()?.decode(column: "n", as: Int.self) ?? 0
                try await db.raw("DELETE FROM \(unsafeRaw: table) WHERE fiscal_year < \(bind: oldest)").run()
                total += n
            }
            try await db.raw("DELETE FROM tax_fiscal_years WHERE fiscal_year < \(bind: oldest)").run()
            return total
        }
        try await compact()
        let after = try await SQLTaxDataStore(database: database).heldFiscalYears().map(\.year)
        return RolloverReport(keptYears: after, erasedYears: before.filter { $0 < oldest }, erasedRows: erasedRows)
    }

    /// `run`, with one audit entry (action `rollover`): the years kept and erased and the rows erased, or a failure.
    public func run(audit: AuditLog, actor: AuditActor) async throws -> RolloverReport {
        let report: RolloverReport
        do {
            report = try await run()
        } catch {
            // The error is not recorded: a driver's message may quote a value.
            try await audit.record(AuditEvent(actor: actor, action: .rollover, object: .other("fiscal_years", "oldest_kept_\(retention.oldest.year)"),
                                              outcome: .failure, reason: "failed: error (see the command's output)"))
            throw error
        }
        try await audit.record(AuditEvent(actor: actor, action: .rollover, object: .other("fiscal_years", "oldest_kept_\(retention.oldest.year)"),
                                          reason: report.auditReason))
        return report
    }

    /// Rewrites storage so erased rows leave no trace in the database files.
    public func compact() async throws {
        switch database.backend {
        case .sqlite:
            try await database.exclusive { db in
                try await db.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
                try await db.raw("VACUUM").run()
                try await db.raw("PRAGMA wal_checkpoint(TRUNCATE)").run()
            }
        case .postgres:
            for table in TaxDataSchema.fiscalYearTables {
                try await database.exclusive { db in
                    try await db.raw("VACUUM FULL \(unsafeRaw: table)").run()
                }
            }
        }
    }
}
