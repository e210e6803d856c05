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
    /// `audit.anchor_interval` (default 100): an anchor outside the database at least every this many entries.
    public var anchorInterval: Int
    /// `audit.anchor_period_seconds` (default 300): the server also anchors the head this often when it moved.
    public var anchorPeriod: TimeInterval
    /// `audit.anchor_key` (default `<data.dir>/keys/audit-anchor.pem`): the anchors' ECDSA P-256 key (mode 0600).
    public var anchorKeyPath: String
    /// `audit.anchor_file` (default `<data.dir>-audit-anchors/<node.id>.jsonl`): where this node
    /// appends its anchors. Never inside `data.dir`: the anchors must survive whoever rewrites the database.
    public var anchorFile: String
    /// `node.id` (default: the host name): names this node in its anchors.
    public var anchorNode: String

    public init(idleTimeout: TimeInterval = 15 * 60, lockoutThreshold: Int = 5, lockoutDuration: TimeInterval = 30 * 60,
                auditRetentionYears: Int = 7, checkpointInterval: Int = 1000, checkpointKeyPath: String = "data/audit-checkpoint.key",
                anchorInterval: Int = 100, anchorPeriod: TimeInterval = 300, anchorKeyPath: String = "data/keys/audit-anchor.pem",
                anchorFile: String = "data-audit-anchors/kofu.jsonl", anchorNode: String = "kofu") {
        self.idleTimeout = idleTimeout
        self.lockoutThreshold = lockoutThreshold
        self.lockoutDuration = lockoutDuration
        self.auditRetentionYears = auditRetentionYears
        self.checkpointInterval = checkpointInterval
        self.checkpointKeyPath = checkpointKeyPath
        self.anchorInterval = anchorInterval
        self.anchorPeriod = anchorPeriod
        self.anchorKeyPath = anchorKeyPath
        self.anchorFile = anchorFile
        self.anchorNode = anchorNode
    }
}

extension KofuConfiguration {
    /// Reads `auth.*` and `audit.*`, reporting a bad value with its source.
    public func authSettings() throws -> AuthSettings {
        let node = values.string("node.id", default: System.hostName)
        let data = AnchorPaths.absolute(dataDir)
        let anchorFile = values.string("audit.anchor_file", default: AnchorPaths.defaultFile(dataDir: data, node: node))
        if AnchorPaths.absolute(anchorFile).hasPrefix(data == "/" ? "/" : data + "/") {
            throw values.error("audit.anchor_file", "\(anchorFile) is inside data.dir (\(dataDir)); the anchors must be kept "
                                   + "outside the database's directory, ideally on another disk or host")
        }
        return AuthSettings(
            idleTimeout: TimeInterval(try values.int("auth.idle_timeout_minutes", default: 15, range: 1...480) * 60),
            lockoutThreshold: try values.int("auth.lockout_threshold", default: 5, range: 1...100),
            lockoutDuration: TimeInterval(try values.int("auth.lockout_minutes", default: 30, range: 1...10080) * 60),
            auditRetentionYears: try values.int("audit.retention_years", default: 7, range: 1...100),
            checkpointInterval: try values.int("audit.checkpoint_interval", default: 1000, range: 1...1_000_000),
            checkpointKeyPath: values.string("audit.checkpoint_key",
                                             default: (dataDir as NSString).appendingPathComponent("audit-checkpoint.key")),
            anchorInterval: try values.int("audit.anchor_interval", default: 100, range: 1...100_000),
            anchorPeriod: TimeInterval(try values.int("audit.anchor_period_seconds", default: 300, range: 1...86_400)),
            anchorKeyPath: values.string("audit.anchor_key",
                                         default: ((dataDir as NSString).appendingPathComponent("keys") as NSString)
                                             .appendingPathComponent("audit-anchor.pem")),
            anchorFile: anchorFile,
            anchorNode: node)
    }
}

/// The anchors file's default place and the check that it is outside the data directory.
enum AnchorPaths {
    /// `path` made absolute against the working directory, with `.` and `..` resolved (symbolic links are not).
    static func absolute(_ path: String) -> String {
        let full = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        var parts: [Substring] = []
        for part in full.split(separator: "/") {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// `<data.dir>-audit-anchors/<node>.jsonl` (a sibling of the data directory, so two installations side by
    /// side never share one), the node id reduced to file-name characters.
    static func defaultFile(dataDir absoluteDataDir: String, node: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")
        let name = String(node.map { allowed.contains($0) ? $0 : "_" })
        return ((absoluteDataDir + "-audit-anchors") as NSString)
            .appendingPathComponent((name.isEmpty || name.hasPrefix(".") ? "node" + name : name) + ".jsonl")
    }
}
