import Foundation
import KofuCrypto

/// Signs and verifies the digest of an audit checkpoint. The HMAC implementation uses a local key
/// file; an implementation with the seal key (ECDSA) can replace it without changing the log.
public protocol CheckpointSigner: Sendable {
    /// Stored with each checkpoint, so a verifier knows which key to use (`hmac-sha256:<key id>`).
    var signerID: String { get }
    func sign(digest: [UInt8]) throws -> [UInt8]
    func verify(signature: [UInt8], digest: [UInt8]) -> Bool
}

/// Errors loading a checkpoint key.
public enum CheckpointKeyError: Error, CustomStringConvertible {
    case unreadable(path: String)
    case wrongLength(path: String)
    case insecurePermissions(path: String)

    public var description: String {
        switch self {
        case .unreadable(let path): "cannot read or create the audit checkpoint key \(path)"
        case .wrongLength(let path): "the audit checkpoint key \(path) is not 32 bytes"
        case .insecurePermissions(let path): "the audit checkpoint key \(path) is readable by others; expected mode 0600"
        }
    }
}

/// HMAC-SHA256 checkpoints over a 32-byte key file (mode 0600) in the data directory.
public struct HMACCheckpointSigner: CheckpointSigner {
    private let key: [UInt8]
    public let signerID: String

    /// The default key file name inside the data directory.
    public static let defaultFileName = "audit-checkpoint.key"

    public init(key: [UInt8]) {
        self.key = key
        signerID = "hmac-sha256:" + String(SHA256.hex(key).prefix(16))
    }

    /// Loads the key at `path`, creating a random one with mode 0600 if there is none.
    public static func loadOrCreate(path: String) throws -> HMACCheckpointSigner {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty {
                try? fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            }
            let key = SecureRandom.bytes(32)
            guard fm.createFile(atPath: path, contents: Data(key), attributes: [.posixPermissions: 0o600]) else {
                throw CheckpointKeyError.unreadable(path: path)
            }
            return HMACCheckpointSigner(key: key)
        }
        guard let attrs = try? fm.attributesOfItem(atPath: path), let data = fm.contents(atPath: path) else {
            throw CheckpointKeyError.unreadable(path: path)
        }
        if let mode = attrs[.posixPermissions] as? Int, mode & 0o077 != 0 {
            throw CheckpointKeyError.insecurePermissions(path: path)
        }
        guard data.count == 32 else { throw CheckpointKeyError.wrongLength(path: path) }
        return HMACCheckpointSigner(key: [UInt8](data))
    }

    public func sign(digest: [UInt8]) throws -> [UInt8] { HMACSHA256.mac(key: key, message: digest) }

    public func verify(signature: [UInt8], digest: [UInt8]) -> Bool {
        HMACSHA256.verify(key: key, message: digest, tag: signature)
    }
}

/// A signed statement that entry `seq` of the log had hash `hash`.
public struct AuditCheckpoint: Sendable, Equatable, Codable {
    public var seq: Int64
    public var at: String
    public var hash: String
    public var signer: String
    /// Hex.
    public var signature: String

    /// What is signed: SHA-256("kofu-audit-checkpoint" ‖ 0 ‖ seq ‖ 0 ‖ hash ‖ 0 ‖ at).
    public static func digest(seq: Int64, hash: String, at: String) -> [UInt8] {
        SHA256.hash(Array("kofu-audit-checkpoint\u{0}\(seq)\u{0}\(hash)\u{0}\(at)".utf8))
    }
}
