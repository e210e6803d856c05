import Foundation
import KofuConfig
import KofuDomain
import KofuRendering
import KofuSeal
import KofuStorage
import Logging

extension CertificateRenderer: CertificateDocumentRenderer {
    public func renderDocument(_ documents: [(certificate: Certificate, qrText: String)]) throws -> (pdf: [UInt8], pages: Int) {
        let rendered = try render(documents)
        return (rendered.pdf, rendered.pageCount)
    }
}


extension KofuServices {
    /// Opens everything `serve` needs from the configuration: the database (migrated), the templates and
    /// font (validated now, never at a resident's request), the seal key (refusing a readable key file),
    /// the audit log, and the in-memory spool (removing an old file spool once and voiding this node's unfinished
    /// issuances, whose documents died with the process before).
    /// `auditEnabled: false` exists only for the benchmark that measures what auditing costs.
    public static func open(_ config: KofuConfiguration, clock: any KofuClock = SystemClock(), auditEnabled: Bool = true,
                            logger: Logger = Logger(label: "kofu")) async throws -> KofuServices {
        let location: DatabaseLocation = config.databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: config.sqlitePath)
        // A PostgreSQL statement may take at most the request timeout: a connection the server dropped mid-statement
        // was seen to leave it waiting forever, and a kiosk answer must not wait past that (docs/deployment.md).
        // Waiting for a pooled connection: half the request timeout (PostgresNIO keeps a lease queued while the
        // server is down), so that a kiosk call gets its 503 in time; a busy pool rarely waits that long.
        let timeout = try config.issuanceSettings().requestTimeoutSeconds
        let database = try await KofuDatabase.open(location, logger: logger, statementWatchdog: .seconds(timeout),
                                                   leaseTimeout: .milliseconds(max(1000, timeout * 500)))
        try await Migrator.all.run(on: database)
        let renderer = try CertificateRenderer(templatesDirectory: config.templatesDir, fontPath: (config.fontsDir as NSString).appendingPathComponent(CertificateRenderer.defaultFontFileName),
                                               sealImagePath: config.sealImage)
        let seal = try config.sealSettings()
        let sealKeys = try SealKeys(settings: seal, municipalityCode: config.municipality.code)
        let auth = try config.authSettings()
        let signer = try HMACCheckpointSigner.loadOrCreate(path: auth.checkpointKeyPath)
        let audit = AuditLog(database: database, signer: signer, checkpointInterval: auth.checkpointInterval,
                             anchors: try AuditAnchorer.open(auth), clock: { clock.now() })
        let staffAuth = StaffAuth(store: StaffStore(database: database), audit: audit, idleTimeout: auth.idleTimeout,
                                  lockout: LockoutPolicy(threshold: auth.lockoutThreshold, duration: auth.lockoutDuration),
                                  clock: { clock.now() })
        let settings = try config.issuanceSettings()
        let spool = DocumentSpool(maxBytes: settings.spoolMaxBytes, logger: logger)
        // Versions before the in-memory spool kept documents in <data.dir>/spool: overwritten and removed
        // once, then nothing is written there again.
        let oldFiles = DocumentSpool.removeFileSpool(at: (config.dataDir as NSString).appendingPathComponent("spool"))
        if oldFiles > 0 { logger.notice("old file spool removed", metadata: ["wiped_files": "\(oldFiles)"]) }
        let issuance = IssuanceService(
            taxData: SQLTaxDataStore(database: database), ledger: LedgerStore(database: database), spool: spool,
            renderer: renderer, sealer: sealKeys, settings: settings, municipality: config.municipality,
            audit: AuditTrail(auditEnabled ? audit : nil), clock: clock, logger: logger)
        let recovered = try await issuance.recoverAfterRestart(oldSpoolFiles: oldFiles)
        if recovered.voided > 0 {
            logger.notice("restart recovery", metadata: ["voided_issuances": "\(recovered.voided)"])
        }
        return KofuServices(configuration: config, database: database, issuance: issuance, audit: audit, staffAuth: staffAuth,
                            checkpointSigner: signer, sealKeys: sealKeys,
                            counter: CounterService(issuance: issuance, database: database, audit: audit,
                                                    approvalTimeLimit: TimeInterval(issuance.settings.counterApprovalMinutes * 60)),
                            auditRetentionYears: auth.auditRetentionYears, wording: renderer.wording)
    }
}
