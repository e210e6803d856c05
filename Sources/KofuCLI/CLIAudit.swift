import Foundation
import KofuConfig
import KofuStorage

/// The audit log as the tax-data commands (import, rollover) write to it: the configured database's log, signed
/// checkpoints with the configured key, and the operating-system user as the actor (the CLI has no staff login).
enum CLIAudit {
    /// The audit log on `database`, with the checkpoint key of `configuration` (created on first use, like
    /// `StaffCLIEnvironment`).
    static func log(_ configuration: KofuConfiguration, database: KofuDatabase) throws -> AuditLog {
        let settings = try configuration.authSettings()
        let signer = try HMACCheckpointSigner.loadOrCreate(path: settings.checkpointKeyPath)
        return AuditLog(database: database, signer: signer, checkpointInterval: settings.checkpointInterval)
    }

    /// `os:<user>@<host>`. The user is the real user id's login name; under sudo, the invoking user is named too
    /// (`root(sudo:alice)`), since that is the person who ran it.
    static var actor: AuditActor {
        var user = getpwuid(getuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } } ?? "uid\(getuid())"
        if getuid() == 0, let sudo = ProcessInfo.processInfo.environment["SUDO_USER"], !sudo.isEmpty {
            user += "(sudo:\(sudo))"
        }
        return .operatingSystemUser(user, host: ProcessInfo.processInfo.hostName)
    }
}
