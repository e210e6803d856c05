import Foundation
import KofuCrypto
import Synchronization

/// Errors with the anchor key or the anchors file.
public enum AuditAnchorError: Error, Equatable, CustomStringConvertible {
    case keyUnreadable(path: String)
    case keyInsecurePermissions(path: String, mode: String)
    case keyInvalid(path: String)
    case publicKeyInvalid(path: String)
    case fileUnwritable(path: String, reason: String)
    case fileUnreadable(path: String)
    case signingFailed

    public var description: String {
        switch self {
        case .keyUnreadable(let path): "cannot read or create the audit anchor key \(path)"
        case .keyInsecurePermissions(let path, let mode):
            "the audit anchor key \(path) has mode \(mode): its group or others may read it; expected 0600"
        case .keyInvalid(let path): "the audit anchor key \(path) is not a P-256 private key in PEM form"
        case .publicKeyInvalid(let path): "\(path) is not a P-256 public key in PEM form (`kofu audit anchor-key` prints one)"
        case .fileUnwritable(let path, let reason): "cannot append to the audit anchors file \(path): \(reason)"
        case .fileUnreadable(let path): "cannot read the audit anchors file \(path)"
        case .signingFailed: "signing an audit anchor failed"
        }
    }
}

/// A signed statement, kept outside the database, that entry `seq` of the audit log had hash `hash`.
///
/// Someone who can write the database can rewrite an entry and re-hash everything after it, head included;
/// the chain alone then verifies. An anchor written earlier to a file the database cannot reach, signed with
/// a key of its own, still names the old hash, so the rewrite shows (`AuditVerifier` with an `AuditAnchorSet`).
/// One anchor is one JSON line with sorted keys: `at`, `hash`, `key_id`, `node`, `seq`, `signature`.
public struct AuditAnchor: Sendable, Equatable, Codable {
    /// The anchored entry.
    public var seq: Int64
    /// That entry's `hash` (hex).
    public var hash: String
    /// When the anchor was signed (UTC, the log's timestamp form).
    public var at: String
    /// The anchor key: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo, hex.
    public var keyID: String
    /// The node that wrote it (`node.id`): nodes sharing a database each keep their own anchors file.
    public var node: String
    /// ECDSA P-256 over `signedBytes`, raw `r‖s`, hex.
    public var signature: String

    enum CodingKeys: String, CodingKey {
        case seq, hash, at, node, signature
        case keyID = "key_id"
    }

    public init(seq: Int64, hash: String, at: String, keyID: String, node: String, signature: String) {
        self.seq = seq; self.hash = hash; self.at = at; self.keyID = keyID; self.node = node; self.signature = signature
    }

    /// What is signed: `kofu-audit-anchor-v1 ‖ 0 ‖ seq ‖ 0 ‖ hash ‖ 0 ‖ at ‖ 0 ‖ key_id ‖ 0 ‖ node`. Every field but
    /// the last has a fixed form without NUL, so no two anchors sign the same bytes.
    public var signedBytes: [UInt8] {
        Array("kofu-audit-anchor-v1\u{0}\(seq)\u{0}\(hash)\u{0}\(at)\u{0}\(keyID)\u{0}\(node)".utf8)
    }

    /// The anchor as one line of the anchors file (without the newline).
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding a struct of strings and an integer cannot fail.
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Parses one line of an anchors file; nil if it is not an anchor.
    public init?(jsonLine: some Collection<UInt8>) {
        guard let anchor = try? JSONDecoder().decode(AuditAnchor.self, from: Data(jsonLine)) else { return nil }
        self = anchor
    }
}

/// The anchor signing key: ECDSA P-256, its own key (neither the seal key nor the checkpoint key), in a PEM
/// file with mode 0600, created on first use. Its public key (`kofu audit anchor-key`) is all an auditor needs.
public struct AuditAnchorKey: Sendable {
    private let privateKey: ECDSAP256.PrivateKey
    public let publicKey: ECDSAP256.PublicKey
    /// First 8 bytes of SHA-256 of the public key's SubjectPublicKeyInfo, hex.
    public let keyID: String

    public init(privateKey: ECDSAP256.PrivateKey) {
        self.privateKey = privateKey
        publicKey = privateKey.publicKey
        keyID = Self.keyID(of: publicKey)
    }

    /// The id anchors name their key by.
    public static func keyID(of publicKey: ECDSAP256.PublicKey) -> String {
        Hex.encode(SHA256.hash(publicKey.spkiDER).prefix(8))
    }

    /// Signs `anchor.signedBytes` and returns the anchor with its signature.
    public func sign(_ anchor: AuditAnchor) throws -> AuditAnchor {
        var anchor = anchor
        anchor.keyID = keyID
        do { anchor.signature = Hex.encode(try privateKey.signature(for: anchor.signedBytes)) } catch {
            throw AuditAnchorError.signingFailed
        }
        return anchor
    }

    /// Loads the key at `path`, refusing a file its group or others may read.
    public static func load(path: String) throws -> AuditAnchorKey {
        var st = stat()
        guard stat(path, &st) == 0 else { throw AuditAnchorError.keyUnreadable(path: path) }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw AuditAnchorError.keyInsecurePermissions(path: path, mode: String(mode, radix: 8))
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditAnchorError.keyUnreadable(path: path) }
        do {
            return AuditAnchorKey(privateKey: try ECDSAP256.PrivateKey(pem: String(decoding: data, as: UTF8.self)))
        } catch {
            throw AuditAnchorError.keyInvalid(path: path)
        }
    }

    /// Loads the key at `path`, first creating a new one (mode 0600, directory 0700) if there is none.
    /// The file is written beside and linked into place, so a process starting at the same moment never
    /// reads half a key, and the first of two creators wins.
    public static func loadOrCreate(path: String) throws -> AuditAnchorKey {
        if !FileManager.default.fileExists(atPath: path) {
            let dir = (path as NSString).deletingLastPathComponent
            if !dir.isEmpty {
                try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                                         attributes: [.posixPermissions: 0o700])
            }
            let key: ECDSAP256.PrivateKey
            let pem: [UInt8]
            do {
                key = try ECDSAP256.PrivateKey.generate()
                pem = Array(try key.pemRepresentation().utf8)
            } catch {
                throw AuditAnchorError.keyUnreadable(path: path)
            }
            let temp = path + ".new-\(getpid())"
            let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard fd >= 0 else { throw AuditAnchorError.keyUnreadable(path: path) }
            let written = pem.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            let synced = fsync(fd) == 0
            close(fd)
            defer { unlink(temp) }
            guard written == pem.count, synced else { throw AuditAnchorError.keyUnreadable(path: path) }
            // link(2) fails with EEXIST if another process created the key first: then that key is used.
            if link(temp, path) != 0 && errno != EEXIST { throw AuditAnchorError.keyUnreadable(path: path) }
        }
        return try load(path: path)
    }
}

/// An anchor public key given to a verifier, e.g. a file printed by `kofu audit anchor-key`.
public enum AuditAnchorPublicKey {
    /// Reads a PEM `PUBLIC KEY` file.
    public static func load(path: String) throws -> ECDSAP256.PublicKey {
        guard let data = FileManager.default.contents(atPath: path) else { throw AuditAnchorError.publicKeyInvalid(path: path) }
        do { return try ECDSAP256.PublicKey(pem: String(decoding: data, as: UTF8.self)) } catch {
            throw AuditAnchorError.publicKeyInvalid(path: path)
        }
    }
}

/// The anchors file: one JSON line per anchor, only ever appended to.
public enum AuditAnchorFile {
    /// Appends `anchors`, one line each, with O_APPEND in one write (so lines from the server and a command-line
    /// run on the same node never interleave) and fsyncs them. Creates the file (mode 0644: it holds hashes
    /// only, and auditors copy it) and its directory; a new file's directory is fsynced too.
    public static func append(_ anchors: [AuditAnchor], to path: String) throws {
        guard !anchors.isEmpty else { return }
        let fm = FileManager.default
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !fm.fileExists(atPath: dir) {
            do { try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755]) } catch {
                throw AuditAnchorError.fileUnwritable(path: path, reason: "cannot create the directory \(dir)")
            }
        }
        let fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AuditAnchorError.fileUnwritable(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw AuditAnchorError.fileUnwritable(path: path, reason: String(cString: strerror(errno))) }
        var line = Array(anchors.map { $0.jsonLine + "\n" }.joined().utf8)
        // A line torn by a crash mid-write is ended first (hence O_RDWR), so the new anchor stays a line of its own.
        if st.st_size > 0 {
            var last: UInt8 = 0
            if pread(fd, &last, 1, off_t(st.st_size - 1)) == 1, last != UInt8(ascii: "\n") { line.insert(UInt8(ascii: "\n"), at: 0) }
        }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else {
            throw AuditAnchorError.fileUnwritable(path: path, reason: written < 0 ? String(cString: strerror(errno)) : "short write")
        }
        guard fsync(fd) == 0 else { throw AuditAnchorError.fileUnwritable(path: path, reason: String(cString: strerror(errno))) }
        if st.st_size == 0 {
            let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
            if dfd >= 0 { _ = fsync(dfd); close(dfd) }
        }
    }

    /// The last anchor in the file signed with `keyID` by `node`, looking only at its last 64 KiB (the file
    /// grows for years; the anchor wanted is near its end). Nil if the file is missing or holds none.
    public static func lastAnchor(in path: String, keyID: String, node: String) -> AuditAnchor? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_size > 0 else { return nil }
        let length = min(Int(st.st_size), 65_536)
        var tail = [UInt8](repeating: 0, count: length)
        guard pread(fd, &tail, length, off_t(Int(st.st_size) - length)) == length else { return nil }
        for line in tail.split(separator: UInt8(ascii: "\n")).reversed() {
            if let a = AuditAnchor(jsonLine: line), a.keyID == keyID, a.node == node { return a }
        }
        return nil
    }
}

/// Writes anchors for one node: an `AuditLog` calls it after each commit, the server's anchor service on a
/// timer, the command line before it exits. Thread-safe; the file writes of one process are serialized.
public final class AuditAnchorer: Sendable {
    public let key: AuditAnchorKey
    /// The anchors file (`audit.anchor_file`).
    public let file: String
    /// `node.id`.
    public let node: String
    /// An anchor at least every `interval` entries (`audit.anchor_interval`).
    public let interval: Int64

    private struct State {
        var last: AuditAnchor?
        var lastError: AuditAnchorError?
    }

    private let state: Mutex<State>

    /// - Parameter file: created on the first anchor; its last anchor by this node and key is where counting starts.
    public init(key: AuditAnchorKey, file: String, node: String, interval: Int) {
        self.key = key
        self.file = file
        self.node = node
        self.interval = Int64(max(1, interval))
        state = Mutex(State(last: AuditAnchorFile.lastAnchor(in: file, keyID: key.keyID, node: node)))
    }

    /// The last anchor this node wrote (or found in its file at start).
    public var lastAnchor: AuditAnchor? { state.withLock { $0.last } }

    /// This node's anchors, checked with this node's key, for a verification on the node itself (nil before
    /// the first anchor). An auditor verifies with copies taken off the host instead.
    public func readOwnAnchors() throws -> AuditAnchorSet? {
        guard FileManager.default.fileExists(atPath: file) else { return nil }
        return try AuditAnchorSet.read(files: [file], trustedKeys: [key.publicKey])
    }

    /// The last failure to write an anchor, cleared by the next success (the anchor service logs it).
    public var lastError: AuditAnchorError? { state.withLock { $0.lastError } }

    /// Signs and appends an anchor for entry `seq` with `hash`, unless the last anchor already names exactly
    /// that entry and hash. Returns the anchor written, or nil.
    @discardableResult
    public func anchor(seq: Int64, hash: String, at: Date) throws -> AuditAnchor? {
        try state.withLock { state in
            if let last = state.last, last.seq == seq, last.hash == hash { return nil }
            return try write([(seq, hash)], at: at, &state).first
        }
    }

    /// After a commit: anchors each of the committed `entries` (in sequence order) that is `interval` or more
    /// entries after the anchor before it, so a large batch gets several anchors and no two are further apart
    /// than `interval` — unless the entry in between was written in another transaction, whose hash is not at
    /// hand: then the first entry known after it. Returns the anchors written.
    @discardableResult
    public func anchorDue(_ entries: [(seq: Int64, hash: String)], at: Date) throws -> [AuditAnchor] {
        try state.withLock { state in
            var last = state.last?.seq ?? 0
            var due: [(Int64, String)] = []
            for e in entries where e.seq - last >= interval {
                due.append((e.seq, e.hash))
                last = e.seq
            }
            return try write(due, at: at, &state)
        }
    }

    private func write(_ entries: [(Int64, String)], at: Date, _ state: inout State) throws -> [AuditAnchor] {
        guard !entries.isEmpty else { return [] }
        do {
            let time = AuditChain.timestamp(at)
            let anchors = try entries.map { seq, hash in
                try key.sign(AuditAnchor(seq: seq, hash: hash, at: time, keyID: key.keyID, node: node, signature: ""))
            }
            try AuditAnchorFile.append(anchors, to: file)
            state.last = anchors.last
            state.lastError = nil
            return anchors
        } catch let error as AuditAnchorError {
            state.lastError = error
            throw error
        }
    }
}
