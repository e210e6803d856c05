import Foundation

extension AuditActor {
    /// Someone at the command line: the operating-system user and the host (`os:kofuadm@tax-srv1`). The CLI has
    /// no staff login, so this is what identifies who ran `kofu import` or `kofu rollover`.
    public static func operatingSystemUser(_ user: String, host: String) -> AuditActor {
        AuditActor(rawValue: "os:\(user)@\(host)")
    }
}

/// The audit entries of `kofu import` (action `import`): one per run, whatever the outcome, with the batch id as
/// object and a reason made only of counts, positions and the operator's restore reason — never a value from
/// the batch (LinkageProblem messages never hold one either, but the entry carries only the position).
public enum LinkageImportAudit {
    /// The batch an entry is about (`batch:<id>`, or `batch:unknown` when the manifest could not be read).
    public static func object(_ batchID: String?) -> AuditObject { .other("batch", batchID ?? "unknown") }

    /// A committed import, or a batch already in force (a no-op).
    public static func imported(_ report: ImportReport, actor: AuditActor, ordering: ImportOrdering) -> AuditEvent {
        var reason: String
        if report.alreadyImported {
            reason = "already in force; nothing changed"
        } else {
            let stored = report.files.reduce(0) { $0 + $1.rows }
            let skipped = report.files.reduce(0) { $0 + $1.skippedRows }
            reason = "imported files=\(report.files.map(\.file).joined(separator: ",")) rows=\(stored) skipped=\(skipped)"
            if let r = report.restrictions {
                reason += " restrictions_added=\(r.added) restrictions_removed=\(r.removed) restrictions_ended_earlier=\(r.endedEarlier)"
            }
            if let replaced = report.replaced { reason += " replaced=\(replaced.batchID)" }
        }
        reason += restoreNote(ordering, restored: report.restored)
        return AuditEvent(actor: actor, action: .import, object: object(report.batchID), reason: reason)
    }

    /// A refused batch: how many problems and where the first one is (file:line:column).
    public static func refused(_ rejection: LinkageRejection, actor: AuditActor, ordering: ImportOrdering) -> AuditEvent {
        var reason = "refused: \(rejection.problems.count) problem(s)"
            + (rejection.stoppedAtCap ? " or more" : "")
        if let first = rejection.problems.first { reason += ", first at \(first.file):\(first.line):\(first.column)" }
        reason += restoreNote(ordering, restored: false)
        return AuditEvent(actor: actor, action: .import, object: object(rejection.batchID), outcome: .failure, reason: reason)
    }

    /// An import that failed for another reason (database unreachable …). The error is not recorded: a driver's
    /// message may quote a value.
    public static func failed(batchID: String?, actor: AuditActor, ordering: ImportOrdering) -> AuditEvent {
        AuditEvent(actor: actor, action: .import, object: object(batchID), outcome: .failure,
                   reason: "failed: error (see the command's output)" + restoreNote(ordering, restored: false))
    }

    private static func restoreNote(_ ordering: ImportOrdering, restored: Bool) -> String {
        guard case .allowOlder(let text) = ordering else { return "" }
        return (restored ? " restore" : "") + " allow_older reason=\(text)"
    }
}

extension LinkageImporter {
    /// `importBatch`, with one audit entry recording the outcome (success with counts, a refusal with the first
    /// problem's position, or a failure) before the result is returned or the error rethrown.
    public func importBatch(at directory: String, ordering: ImportOrdering = .newerOnly, audit: AuditLog,
                            actor: AuditActor, now: @Sendable () -> Date = { Date() }) async throws -> ImportReport {
        let report: ImportReport
        do {
            report = try await importBatch(at: directory, ordering: ordering, now: now)
        } catch let rejection as LinkageRejection {
            try await audit.record(LinkageImportAudit.refused(rejection, actor: actor, ordering: ordering))
            throw rejection
        } catch {
            try await audit.record(LinkageImportAudit.failed(batchID: Self.batchID(in: directory), actor: actor, ordering: ordering))
            throw error
        }
        try await audit.record(LinkageImportAudit.imported(report, actor: actor, ordering: ordering))
        return report
    }

    /// The batch id of the manifest in `directory`, when it is a well-formed one (for the audit of a failure).
    static func batchID(in directory: String) -> String? {
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: path),
              let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
              let id = root["batch_id"] as? String, !id.isEmpty, id.utf8.count <= 64,
              id.utf8.allSatisfy({ (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 || $0 == 46 })
        else { return nil }
        return id
    }
}
