import ArgumentParser
import Foundation
import KofuConfig
import KofuDomain
import KofuStorage

extension BackupError: AuditReasonCoded {}

/// The file `manifest.json` of one backup directory: when, from where, what it holds (docs/deployment.md).
struct BackupManifest: Codable, Sendable {
    static let currentFormat = "kofu-backup-v1"

    var format = BackupManifest.currentFormat
    var createdAt: Date
    var backend: String
    var node: String
    /// The database file in the directory: `kofu.sqlite` or `kofu.pgdump`.
    var databaseFile: String
    /// The published keyring (public keys), when there was one.
    var keyringFile: String?
    /// Private key files copied (`--include-keys`); empty by default.
    var privateKeyFiles: [String]
    var contents: BackupContents
}

/// `kofu backup --out DIR`: a consistent backup of the database while the server runs; `--prune`: deletes the
/// backups that hold a fiscal year the rollover has erased.
struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Back up the database (and the public keyring) into a new directory under --out, or prune old backups.",
        discussion: """
            SQLite: the online backup API (the server keeps running); PostgreSQL: pg_dump --format=custom, the \
            password passed in the child's environment. Each backup is a directory kofu-<node>-<UTC time> (mode 0700, \
            files 0600) with manifest.json: time, backend, node, migrations, fiscal years held and the newest batch. \
            Private keys are copied only with --include-keys.
            --prune deletes every backup under --out that holds a fiscal year outside the retention window \
            (retention.fiscal_years): data the rollover erased must not live on in backups. Both are audited (action backup).
            """)

    @Option(help: "The directory holding the backups (created mode 0700).")
    var out: String

    @Flag(help: "Delete the backups under --out that hold a fiscal year the rollover has erased, instead of backing up.")
    var prune = false

    @Option(help: "With --prune: today's date YYYY-MM-DD (default: today in Japan).")
    var today: String?

    @Flag(help: "Also copy the private keys (seal, audit checkpoint and anchor keys). Keep such a backup offline.")
    var includeKeys = false

    @Option(help: "Directory of pg_dump (default: the newest /usr/lib/postgresql/*/bin, else PATH).")
    var pgBin: String?

    @Flag(help: "Machine-readable JSON output.")
    var json = false

    @Option(help: "The configuration file (default: $KOFU_CONFIG or config/kofu.yaml).")
    var config: String?

    func validate() throws {
        if prune && includeKeys { throw ValidationError("--include-keys makes no sense with --prune") }
        if !prune && today != nil { throw ValidationError("--today is only for --prune") }
    }

    func run() async throws {
        let configuration = try KofuConfiguration.load(file: config)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if prune {
            try await runPrune(configuration)
        } else {
            try await runBackup(configuration)
        }
    }

    private func runBackup(_ configuration: KofuConfiguration) async throws {
        let auth = try configuration.authSettings()
        let seal = try configuration.sealSettings()
        let node = auth.anchorNode
        let now = Date()
        let name = "kofu-\(Self.fileSafe(node))-\(Self.stamp(now))"
        let final = (out as NSString).appendingPathComponent(name)
        // Built under a hidden name and renamed when complete, so a half-written backup is never taken for one.
        let partial = (out as NSString).appendingPathComponent(".partial-\(name)")
        let backend = configuration.databaseURL == nil ? "sqlite" : "postgres"
        let manifest: BackupManifest = try await CLIAuditLog.audited(
            .backup, configuration: configuration, attempt: CLIAuditRecord(object: .other("backup", name), reason: "backend=\(backend)")
        ) { env in
            try FileManager.default.createDirectory(atPath: partial, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            do {
                let manifest = try await write(into: partial, configuration: configuration, database: env.database,
                                               seal: seal, auth: auth, node: node, now: now)
                try FileManager.default.moveItem(atPath: partial, toPath: final)
                let years = manifest.contents.fiscalYears.map(String.init).joined(separator: ",")
                return (manifest, CLIAuditRecord(object: .other("backup", name),
                                                 reason: "backend=\(backend) years=\(years.isEmpty ? "none" : years) "
                                                     + "batch=\(manifest.contents.newestBatchID ?? "none") keys=\(includeKeys ? "private" : "public")"))
            } catch {
                try? FileManager.default.removeItem(atPath: partial)
                throw error
            }
        }
        if includeKeys {
            FileHandle.standardError.write(Data("warning: \(final) holds private keys (seal, audit); keep it offline and encrypted\n".utf8))
        }
        if json {
            try TaxDataCommandSupport.printJSON(BackupReport(directory: final, manifest: manifest))
        } else {
            let years = manifest.contents.fiscalYears.map(String.init).joined(separator: ", ")
            print("backup \(final): \(backend), fiscal years \(years.isEmpty ? "none" : years), newest batch \(manifest.contents.newestBatchID ?? "none")")
        }
    }

    private func write(into dir: String, configuration: KofuConfiguration, database: KofuDatabase, seal: SealSettings,
                       auth: AuthSettings, node: String, now: Date) async throws -> BackupManifest {
        let databaseFile: String
        let contents: BackupContents
        if let url = configuration.databaseURL {
            databaseFile = "kofu.pgdump"
            // Read just before the dump: an import committing in between makes the dump newer than the manifest
            // says, never older, so the ordering rule after a restore still holds (docs/deployment.md).
            contents = try await BackupContents.read(database)
            try DatabaseBackup.dumpPostgres(url: url, to: (dir as NSString).appendingPathComponent(databaseFile), binDir: pgBin)
        } else {
            databaseFile = "kofu.sqlite"
            let copy = (dir as NSString).appendingPathComponent(databaseFile)
            try await DatabaseBackup.copySQLite(from: configuration.sqlitePath, to: copy)
            // Read from the copy itself, so the manifest is exactly what the file holds.
            let copied = try await KofuDatabase.open(.sqlite(path: copy))
            do {
                contents = try await BackupContents.read(copied)
                await copied.close()
            } catch {
                await copied.close()
                throw error
            }
        }
        var keyringFile: String?
        if FileManager.default.fileExists(atPath: seal.keyringFile) {
            keyringFile = "keyring.json"
            try Self.copy(seal.keyringFile, to: (dir as NSString).appendingPathComponent("keyring.json"))
        }
        var privateKeys: [String] = []
        if includeKeys {
            let keys = (dir as NSString).appendingPathComponent("keys")
            try FileManager.default.createDirectory(atPath: keys, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
            for (file, target) in [(seal.privateKeyFile, "seal-private.pem"), (auth.checkpointKeyPath, "audit-checkpoint.key"),
                                   (auth.anchorKeyPath, "audit-anchor.pem")] where FileManager.default.fileExists(atPath: file) {
                try Self.copy(file, to: (keys as NSString).appendingPathComponent(target))
                privateKeys.append("keys/\(target)")
            }
        }
        let manifest = BackupManifest(createdAt: now, backend: configuration.databaseURL == nil ? "sqlite" : "postgres", node: node,
                                      databaseFile: databaseFile, keyringFile: keyringFile, privateKeyFiles: privateKeys, contents: contents)
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let path = (dir as NSString).appendingPathComponent("manifest.json")
        guard FileManager.default.createFile(atPath: path, contents: try encoder.encode(manifest), attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return manifest
    }

    private func runPrune(_ configuration: KofuConfiguration) async throws {
        let window = RetentionWindow(years: try configuration.retentionSettings().fiscalYears, today: try TaxDataCommandSupport.date(today))
        let deleted: [String] = try await CLIAuditLog.audited(
            .backup, configuration: configuration, attempt: CLIAuditRecord(object: .other("backup", "prune"), reason: "prune oldest_kept=\(window.oldest.year)")
        ) { _ in
            var deleted: [String] = []
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            decoder.dateDecodingStrategy = .iso8601
            for entry in try FileManager.default.contentsOfDirectory(atPath: out).sorted() where entry.hasPrefix("kofu-") {
                let dir = (out as NSString).appendingPathComponent(entry)
                guard let data = FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent("manifest.json")),
                      let manifest = try? decoder.decode(BackupManifest.self, from: data),
                      manifest.format == BackupManifest.currentFormat else { continue }
                if BackupRetention.expired(fiscalYears: manifest.contents.fiscalYears, window: window) {
                    try FileManager.default.removeItem(atPath: dir)
                    deleted.append(entry)
                }
            }
            return (deleted, CLIAuditRecord(object: .other("backup", "prune"),
                                            reason: "prune oldest_kept=\(window.oldest.year) deleted=\(deleted.count)"))
        }
        if json {
            try TaxDataCommandSupport.printJSON(PruneReport(oldestFiscalYearKept: window.oldest.year, deleted: deleted))
        } else {
            print("backups holding fiscal years before \(window.oldest.year) deleted: \(deleted.isEmpty ? "none" : deleted.joined(separator: ", "))")
        }
    }

    struct BackupReport: Encodable {
        var directory: String
        var manifest: BackupManifest
    }

    struct PruneReport: Encodable {
        var oldestFiscalYearKept: Int
        var deleted: [String]
    }

    /// Copies a file into a new file of mode 0600.
    private static func copy(_ source: String, to destination: String) throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: source))
        guard FileManager.default.createFile(atPath: destination, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
        }
    }

    /// `20261207T144635Z`
    static func stamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }

    private static func fileSafe(_ s: String) -> String {
        String(s.map { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") ? $0 : "_" }.prefix(64))
    }
}
