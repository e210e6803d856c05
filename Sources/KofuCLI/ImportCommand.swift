import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuStorage

/// `kofu import <batch-dir>`: checks a daily linkage batch (日次連携) and applies it atomically.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import a daily linkage batch (manifest.json + CSV files); any problem rejects it untouched.",
        discussion: """
            A batch must be extracted later than the data in force; an older one (or one imported before) is refused
            unless --allow-older is given with --reason, a deliberate restore. The batch in force again is a no-op.
            Every run is recorded in the audit log (action import) with the operating-system user and host.
            Problems are printed as file:line:column: message, one per line, on standard error (exit code 2).
            With --json a single JSON object goes to standard output instead: {"ok": true, "report": {…}} or
            {"ok": false, "problems": [{"file", "line", "column", "message"}], "stopped_at_cap": false}.
            """)

    @Argument(help: "The batch directory (default: linkage.batch_dir from the configuration).")
    var batchDirectory: String?

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Option(help: "The configuration file (default: $KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    @Option(help: "Today's date YYYY-MM-DD for the retention window (default: today in Japan).")
    var today: String?

    @Flag(help: "Restore deliberately: also apply a batch not newer than the data in force, or imported before (needs --reason).")
    var allowOlder = false

    @Option(help: "Why an older batch is restored (with --allow-older); recorded in the audit log. No personal data.")
    var reason: String?

    func validate() throws {
        let text = reason?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        if allowOlder && text.isEmpty { throw ValidationError("--allow-older needs --reason TEXT saying why the older batch is restored") }
        if !allowOlder && reason != nil { throw ValidationError("--reason is only used with --allow-older") }
    }

    func run() async throws {
        let configuration = try KofuConfiguration.load(file: config)
        let settings = try configuration.retentionSettings()
        guard let dir = batchDirectory ?? settings.batchDirectory else {
            throw ValidationError("give a batch directory or set linkage.batch_dir")
        }
        let day = try TaxDataCommandSupport.date(today)
        let ordering: ImportOrdering = allowOlder
            ? .allowOlder(reason: (reason ?? "").trimmingCharacters(in: .whitespacesAndNewlines)) : .newerOnly
        let database = try await TaxDataCommandSupport.open(configuration)
        let importer = LinkageImporter(database: database, municipalityCode: configuration.municipality.code,
                                       retention: RetentionWindow(years: settings.fiscalYears, today: day),
                                       maxProblems: settings.maxImportProblems)
        do {
            let audit = try CLIAudit.log(configuration, database: database)
            let report = try await importer.importBatch(at: dir, ordering: ordering, audit: audit, actor: CLIAudit.actor)
            await database.close()
            if json {
                try TaxDataCommandSupport.printJSON(ImportOutput(ok: true, report: report, problems: nil, stoppedAtCap: nil))
            } else {
                print(report.summary)
                for f in report.files {
                    print("  \(f.file): \(f.rows) rows" + (f.skippedRows > 0 ? ", \(f.skippedRows) skipped (older than retention)" : ""))
                }
            }
        } catch let rejection as LinkageRejection {
            await database.close()
            if json {
                try TaxDataCommandSupport.printJSON(ImportOutput(ok: false, report: nil, problems: rejection.problems,
                                                                 stoppedAtCap: rejection.stoppedAtCap))
            } else {
                FileHandle.standardError.write(Data((rejection.description + "\n").utf8))
            }
            throw ExitCode(2)
        } catch {
            await database.close()
            throw error
        }
    }
}

/// The `--json` shape of `kofu import`.
struct ImportOutput: Encodable {
    var ok: Bool
    var report: ImportReport?
    var problems: [LinkageProblem]?
    var stoppedAtCap: Bool?
}

/// Helpers shared by the tax-data commands (import, rollover, sample, bench import).
enum TaxDataCommandSupport {
    /// Opens the configured database (SQLite under `data.dir`, or `database.url`) and runs pending migrations.
    static func open(_ configuration: KofuConfiguration) async throws -> KofuDatabase {
        let location: DatabaseLocation = configuration.databaseURL.map { .postgres(url: $0) }
            ?? .sqlite(path: configuration.sqlitePath)
        let database = try await KofuDatabase.open(location)
        do {
            try await Migrator.all.run(on: database)
        } catch {
            await database.close()
            throw error
        }
        return database
    }

    /// Parses `--today`, or today's date in Japan.
    static func date(_ text: String?) throws -> LocalDate {
        guard let text else { return LocalDate.todayInJapan() }
        guard let d = LocalDate(iso: text) else { throw ValidationError("--today must be YYYY-MM-DD") }
        return d
    }

    static func printJSON(_ value: some Encodable) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}
