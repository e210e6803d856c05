import ArgumentParser
import Foundation
import KofuConfig
import KofuCrypto
import KofuServer
import KofuStorage

/// `kofu audit`: verify, export and purge the audit log (操作ログ), and its anchors outside the database.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Verify, export or purge the tamper-evident audit log; anchor it outside the database.",
        subcommands: [Verify.self, Export.self, Purge.self, Anchor.self, AnchorKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every entry's hash and link, the head, the anchor, the signed checkpoints and the external anchors.",
            discussion: """
                Prints each problem with its sequence number and exits with status 1 if any is found.

                Without --anchors, this node's anchors file (audit.anchor_file) is used if it exists; without \
                --anchor-key, this node's anchor key. Nodes sharing one PostgreSQL database each keep their own \
                anchors file and key: pass every file with --anchors and every public key with --anchor-key.
                """)
        @Option(name: .customLong("anchors"), help: "An anchors file (JSON Lines); repeat for several nodes.")
        var anchorFiles: [String] = []
        @Option(name: .customLong("anchor-key"), help: "A trusted anchor public key (PEM, from `kofu audit anchor-key`); repeatable.")
        var anchorKeys: [String] = []

        func run() async throws {
            let (result, files) = try await StaffCLIEnvironment.with { env in
                var files = anchorFiles
                if files.isEmpty, let own = env.audit.anchors, FileManager.default.fileExists(atPath: own.file) { files = [own.file] }
                var keys = try anchorKeys.map(AuditAnchorPublicKey.load)
                if keys.isEmpty, let own = env.audit.anchors { keys = [own.key.publicKey] }
                // The anchors are read before the database, so none of them can be newer than what is read there.
                let anchors = files.isEmpty ? nil : try AuditAnchorSet.read(files: files, trustedKeys: keys)
                return (try await AuditVerifier(database: env.database, signer: env.signer, anchors: anchors).verify(), files)
            }
            let range = result.firstSeq.map { "entries \($0)…\(result.lastSeq ?? $0)" } ?? "no entries"
            if result.isIntact {
                print("intact: \(result.entriesChecked) entries (\(range)), \(result.checkpointsChecked) checkpoints")
            } else {
                print("NOT INTACT: \(result.problems.count) problem(s) in \(result.entriesChecked) entries (\(range))")
                for p in result.problems { print("  \(p)") }
            }
            if files.isEmpty {
                print("no anchors: an entry rewritten together with every later hash cannot be detected without them (see docs/audit.md)")
            } else {
                var line = "anchors: \(result.anchorsChecked) compared from \(files.joined(separator: ", "))"
                if result.anchorsBeforeRetention > 0 { line += " (\(result.anchorsBeforeRetention) older ones name purged entries)" }
                print(line)
                if let last = result.lastAnchor {
                    print("last matching anchor: seq \(last.anchor.seq) at \(last.anchor.at) (node \(last.anchor.node), \(last)); "
                          + "\(result.entriesAfterLastAnchor ?? 0) entries after it")
                } else {
                    print("no anchor matches the log; \(result.entriesAfterLastAnchor ?? 0) entries are not covered by one")
                }
            }
            if !result.isIntact { throw ExitCode(1) }
        }
    }

    struct Anchor: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Anchor the log's head now: sign it and append it to this node's anchors file (audit.anchor_file).",
            discussion: "The server does this every audit.anchor_period_seconds when entries were added; run it before copying the anchors file off the host.")

        func run() async throws {
            let (anchor, file) = try await StaffCLIEnvironment.with { env in
                (try await env.audit.anchorHead(), env.audit.anchors?.file ?? "")
            }
            if let anchor {
                print("anchored entry \(anchor.seq) in \(file)")
            } else {
                print("nothing new to anchor; \(file) already names the head")
            }
        }
    }

    struct AnchorKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "anchor-key",
            abstract: "Print this node's anchor public key (PEM), for auditors verifying with --anchor-key.",
            discussion: "The key (audit.anchor_key, mode 0600) is created on first use. Its id is printed on standard error.")
        @Option(help: "Write the public key to this file instead of standard output.") var output: String?

        func run() async throws {
            let settings = try KofuConfiguration.load().authSettings()
            let key = try AuditAnchorKey.loadOrCreate(path: settings.anchorKeyPath)
            let pem = key.publicKey.pemRepresentation
            if let output {
                guard FileManager.default.createFile(atPath: output, contents: Data(pem.utf8), attributes: [.posixPermissions: 0o644]) else {
                    throw ValidationError("cannot write \(output)")
                }
            } else {
                FileHandle.standardOutput.write(Data(pem.utf8))
            }
            FileHandle.standardError.write(Data("anchor key id \(key.keyID) (node \(settings.anchorNode), anchors file \(settings.anchorFile))\n".utf8))
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
