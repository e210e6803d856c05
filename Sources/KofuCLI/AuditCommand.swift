import ArgumentParser
import Foundation
import KofuConfig
import KofuServer
import KofuStorage

/// `kofu audit`: verify, export and purge the audit log (操作ログ).
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, export or purge the tamper-evident audit log.",
        subcommands: [Verify.self, Export.self, Purge.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and link, the head, the anchor and the signed checkpoints.",
            discussion: "Prints each problem with its sequence number and exits with status 1 if any is found.")

        func run() async throws {
            let result = try await StaffCLIEnvironment.with { env in
                try await AuditVerifier(database: env.database, signer: env.signer).verify()
            }
            let range = result.firstSeq.map { "entries \($0)…\(result.lastSeq ?? $0)" } ?? "no entries"
            if result.isIntact {
                print("intact: \(result.entriesChecked) entries (\(range)), \(result.checkpointsChecked) checkpoints")
                return
            }
            print("NOT INTACT: \(result.problems.count) problem(s) in \(result.entriesChecked) entries (\(range))")
            for p in result.problems { print("  \(p)") }
            throw ExitCode(1)
        }
    }

    struct Export: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write entries as JSON Lines (auditors and administrators only; the export is itself audited).")
        @Option(help: "First day (YYYY-MM-DD, UTC) or instant (YYYY-MM-DDTHH:MM:SSZ).") var from: String?
        @Option(help: "Last day, included (YYYY-MM-DD, UTC), or an instant, excluded.") var to: String?
        @Option(help: "Your personal user ID; it must be an enabled auditor or administrator.") var user: String
        @Option(help: "Write to this file (mode 0600) instead of standard output.") var output: String?

        func run() async throws {
            let fromDate = try from.map { try AuditExport.parseBound($0, isEnd: false) }
            let toDate = try to.map { try AuditExport.parseBound($0, isEnd: true) }
            let lines = try await StaffCLIEnvironment.with { env in
                let staff = try await StaffStore(database: env.database).user(user)
                guard let staff, !staff.disabled, staff.role.allows(.auditExport) else {
                    // An unknown ID is not recorded: it could be a mistyped secret.
                    let actor: AuditActor = staff == nil ? .unknown : .staff(user)
                    try await env.audit.record(AuditEvent(actor: actor, action: .accessDenied, object: .other("audit_log", "cli"),
                                                          outcome: .denied, reason: "export requires an enabled auditor or administrator"))
                    throw ValidationError("only an enabled auditor or administrator may export the audit log")
                }
                let lines = try await AuditExport.jsonLines(from: env.audit, from: fromDate, to: toDate)
                try await env.audit.record(AuditEvent(actor: .staff(user), action: .export, object: .other("audit_log", "cli"),
                                                      reason: AuditExport.rangeDescription(from: fromDate, to: toDate, count: lines.count)))
                return lines
            }
            let text = lines.map { $0 + "\n" }.joined()
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationError("cannot write \(output)")
                }
                FileHandle.standardError.write(Data("wrote \(lines.count) entries to \(output)\n".utf8))
            } else {
                FileHandle.standardOutput.write(Data(text.utf8))
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete entries older than the retention period (audit.retention_years, default 7), keeping the chain verifiable.",
            discussion: "The purge records its own audit_purge entry. Run it daily from a scheduler, or let the server's retention service do it.")
        @Option(help: "Override audit.retention_years.") var years: Int?

        func run() async throws {
            let (retention, result) = try await StaffCLIEnvironment.with { env in
                let retention = years ?? env.settings.auditRetentionYears
                guard retention >= 1 else { throw ValidationError("--years must be at least 1") }
                return (retention, try await env.audit.purgeExpired(retentionYears: retention))
            }
            print("purged \(result.deleted) entries older than \(retention) years; the chain now starts at entry \(result.anchorSeq)")
        }
    }
}
