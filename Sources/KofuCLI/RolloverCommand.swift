import ArgumentParser
import Foundation
import KofuConfig
import KofuStorage

/// `kofu rollover`: 年度更新 — keep the latest N fiscal years, erase older ones beyond recovery.
struct RolloverCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollover",
        abstract: "Fiscal-year update: keep the latest retention.fiscal_years years of tax data, erase the rest.",
        discussion: """
            Erased rows are overwritten (SQLite secure_delete), the WAL is checkpointed and truncated and the file
            is rebuilt with VACUUM; on PostgreSQL the tables are rewritten with VACUUM FULL. Every run is recorded in
            the audit log (action rollover) with the operating-system user and host.
            """)

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Option(help: "The configuration file (default: $KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    @Option(help: "Today's date YYYY-MM-DD (default: today in Japan); the current fiscal year follows from it.")
    var today: String?

    func run() async throws {
        let configuration = try KofuConfiguration.load(file: config)
        let settings = try configuration.retentionSettings()
        let day = try TaxDataCommandSupport.date(today)
        let database = try await TaxDataCommandSupport.open(configuration)
        let report: RolloverReport
        do {
            let audit = try CLIAudit.log(configuration, database: database)
            report = try await TaxDataRollover(database: database,
                                               retention: RetentionWindow(years: settings.fiscalYears, today: day))
                .run(audit: audit, actor: CLIAudit.actor)
            await database.close()
        } catch {
            await database.close()
            throw error
        }
        if json {
            try TaxDataCommandSupport.printJSON(report)
        } else {
            let erased = report.erasedYears.isEmpty ? "none" : report.erasedYears.map(String.init).joined(separator: ", ")
            print("fiscal years kept: \(report.keptYears.map(String.init).joined(separator: ", ")); erased: \(erased) (\(report.erasedRows) rows)")
        }
    }
}
