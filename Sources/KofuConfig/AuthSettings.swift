import Foundation

/// Staff login and audit-log settings (`auth.*`, `audit.*`).
public struct AuthSettings: Sendable, Equatable {
    /// `auth.idle_timeout_minutes` (default 15): a staff session unused this long is logged out.
    public var idleTimeout: TimeInterval
    /// `auth.lockout_threshold` (default 5): consecutive failed logins that lock an account.
    public var lockoutThreshold: Int
    /// `auth.lockout_minutes` (default 30): how long a lockout lasts (an administrator can lift it earlier).
    public var lockoutDuration: TimeInterval
    /// `audit.retention_years` (default 7, seeds/003 L118): older audit entries are purged.
    public var auditRetentionYears: Int
    /// `audit.checkpoint_interval` (default 1000): a signed checkpoint at least every this many entries.
    public var checkpointInterval: Int
    /// `audit.checkpoint_key` (default `<data.dir>/audit-checkpoint.key`): the HMAC checkpoint key file.
    public var checkpointKeyPath: String

    public init(idleTimeout: TimeInterval = 15 * 60, lockoutThreshold: Int = 5, lockoutDuration: TimeInterval = 30 * 60,
                auditRetentionYears: Int = 7, checkpointInterval: Int = 1000, checkpointKeyPath: String = "data/audit-checkpoint.key") {
        self.idleTimeout = idleTimeout
        self.lockoutThreshold = lockoutThreshold
        self.lockoutDuration = lockoutDuration
        self.auditRetentionYears = auditRetentionYears
        self.checkpointInterval = checkpointInterval
        self.checkpointKeyPath = checkpointKeyPath
    }
}

extension KofuConfiguration {
    /// Reads `auth.*` and `audit.*`, reporting a bad value with its source.
    public func authSettings() throws -> AuthSettings {
        AuthSettings(
            idleTimeout: TimeInterval(try values.int("auth.idle_timeout_minutes", default: 15, range: 1...480) * 60),
            lockoutThreshold: try values.int("auth.lockout_threshold", default: 5, range: 1...100),
            lockoutDuration: TimeInterval(try values.int("auth.lockout_minutes", default: 30, range: 1...10080) * 60),
            auditRetentionYears: try values.int("audit.retention_years", default: 7, range: 1...100),
            checkpointInterval: try values.int("audit.checkpoint_interval", default: 1000, range: 1...1_000_000),
            checkpointKeyPath: values.string("audit.checkpoint_key",
                                             default: (dataDir as NSString).appendingPathComponent("audit-checkpoint.key")))
    }
}
