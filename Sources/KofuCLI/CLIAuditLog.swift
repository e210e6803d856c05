import ArgumentParser
import Foundation
import KofuConfig
import KofuStorage

/// Who runs a command-line action: the operating-system user (and, under sudo, the user who called sudo) and
/// the host. A command without a staff session records it in its audit entry's reason, since the actor is
/// `system`; it is an account name, never personal data.
enum CLIInvocation {
    /// `os_user=<name> [sudo_user=<name>] host=<name>`.
    static var current: String {
        var parts = ["os_user=\(clean(osUser))"]
        if let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty { parts.append("sudo_user=\(clean(sudo))") }
        parts.append("host=\(clean(ProcessInfo.processInfo.hostName))")
        return parts.joined(separator: " ")
    }

    static var osUser: String {
        let uid = geteuid()
        guard let pw = getpwuid(uid), let name = pw.pointee.pw_name else { return "uid:\(uid)" }
        return String(cString: name)
    }

    /// One token: no spaces or control characters that would blur the reason's fields.
    private static func clean(_ s: String) -> String {
        String(s.unicodeScalars.map { $0.properties.isWhitespace || $0.value < 0x20 || $0.value == 0x7f ? "_" : Character($0) }.prefix(64))
    }
}

/// An error that an audit entry names by a short code rather than by its message, which may hold paths.
protocol AuditReasonCoded: Error {
    var auditCode: String { get }
}

/// What an audited command-line action records: on what, and a short reason.
struct CLIAuditRecord: Sendable {
    var object: AuditObject
    var reason: String
}

/// Audit entries for command-line actions (`kofu keys`, and for `kofu import` / `kofu rollover` the same way):
/// the database and the audit log are opened first, so an action that could not be audited is not done;
/// then the action runs and its result is recorded (`success`, or `failure` with the error's code), with
/// the OS user and host. The log anchors its entries before the command exits.
enum CLIAuditLog {
    /// Runs `body` and records `action`: on success with the record `body` returns, on failure with
    /// `attempt` and outcome `failure`; then rethrows.
    static func audited<R>(_ action: AuditAction, configuration: KofuConfiguration? = nil, attempt: CLIAuditRecord,
                           _ body: (StaffCLIEnvironment) async throws -> (R, CLIAuditRecord)) async throws -> R {
        try await StaffCLIEnvironment.with(configuration: configuration) { env in
            let outcome: (result: R, record: CLIAuditRecord)
            do {
                outcome = try await body(env)
            } catch {
                try await env.audit.record(AuditEvent(actor: .system, action: action, object: attempt.object, outcome: .failure,
                                                      reason: "\(attempt.reason) failed=\(code(error)) \(CLIInvocation.current)"))
                throw error
            }
            try await env.audit.record(AuditEvent(actor: .system, action: action, object: outcome.record.object,
                                                  reason: "\(outcome.record.reason) \(CLIInvocation.current)"))
            return outcome.result
        }
    }

    static func code(_ error: any Error) -> String {
        (error as? any AuditReasonCoded)?.auditCode ?? String(describing: type(of: error))
    }
}

extension StaffCLIEnvironment {
    /// Before the command exits: flushes the audit log and anchors what this run wrote. An anchor that cannot
    /// be written is reported but does not fail a command whose entries are committed.
    func finish() async {
        do {
            try await audit.close()
        } catch {
            FileHandle.standardError.write(Data("warning: \(error)\n".utf8))
        }
    }
}
