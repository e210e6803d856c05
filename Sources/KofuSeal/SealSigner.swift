import Foundation
import KofuCrypto
import KofuDomain

/// The seal's text form: `KF1:` followed by Base45 of `payload ‖ signature`.
public enum SealText {
    /// The four literal characters every version-1 seal starts with. They are all in the QR
    /// alphanumeric set, and since `:` is also a Base45 character the prefix is matched as a fixed
    /// string and never found by searching for a separator.
    public static let prefix = "KF1:"
    /// Length of the raw ECDSA P-256 signature (`r‖s`) at the end of the decoded bytes.
    public static let signatureLength = 64

    /// Splits a seal text into the signed payload bytes and the signature, or says why it cannot.
    public static func split(_ text: String) throws(SealFormatError) -> (payload: [UInt8], signature: [UInt8]) {
        guard text.utf8.starts(with: prefix.utf8) else { throw .missingPrefix }
        let body = text.utf8.dropFirst(prefix.utf8.count)
        let bytes: [UInt8]
        do { bytes = try Base45.decode(String(decoding: body, as: UTF8.self)) } catch { throw .notBase45 }
        guard bytes.count > signatureLength else { throw .truncated }
        return (Array(bytes.dropLast(signatureLength)), Array(bytes.suffix(signatureLength)))
    }
}

/// Errors from loading or using a signing key.
public enum SealKeyError: Error, Equatable, Sendable {
    /// The private key file does not exist or cannot be read.
    case unreadableKeyFile(String)
    /// The private key file can be read by its group or by others (mode shown in octal); it must be 0600 or 0400.
    case insecureKeyFilePermissions(path: String, mode: String)
    /// The file does not hold a P-256 private key in PEM.
    case invalidPrivateKey(String)
    /// The key file already exists (generate never overwrites).
    case keyFileExists(String)
    /// The key file could not be written.
    case cannotWriteKeyFile(String)
    /// The certificate holds a value the payload cannot carry.
    case unencodable(SealFormatError)
}

/// Signs certificates with the municipality's private seal key (公印に代わる電子署名鍵).
public struct SealSigner: Sendable {
    private let privateKey: ECDSAP256.PrivateKey
    /// The public key matching the private key.
    public let publicKey: ECDSAP256.PublicKey
    /// The first 8 bytes of SHA-256 of the public key's SubjectPublicKeyInfo DER.
    public var keyID: [UInt8]

    /// Loads the private key from a PEM file, refusing a file its group or others may read, so a
    /// misconfigured deployment fails at start rather than running with an exposed key.
    public init(privateKeyPEMFile path: String) throws {
        try SealKeyFile.checkPermissions(path)
        guard let data = FileManager.default.contents(atPath: path) else { throw SealKeyError.unreadableKeyFile(path) }
        let key: ECDSAP256.PrivateKey
        do { key = try ECDSAP256.PrivateKey(pem: String(decoding: data, as: UTF8.self)) } catch {
            throw SealKeyError.invalidPrivateKey(path)
        }
        self.init(privateKey: key)
    }

    /// A signer over a key held in memory (tests, benchmarks).
    public init(privateKey: ECDSAP256.PrivateKey) {
        self.privateKey = privateKey
        self.publicKey = privateKey.publicKey
        self.keyID = SealKeyring.keyID(of: publicKey)
    }

    /// The seal text for `certificate`: `KF1:` + Base45(payload ‖ ECDSA-P256-SHA256 r‖s).
    public func seal(_ certificate: Certificate) throws -> String {
        try seal(payload: SealPayload(certificate: certificate, keyID: keyID))
    }

    /// Signs an already built payload (its `keyID` must be this signer's for it to verify).
    public func seal(payload: SealPayload) throws -> String {
        let bytes: [UInt8]
        do { bytes = try payload.encoded() } catch { throw SealKeyError.unencodable(error) }
        let signature = try privateKey.signature(for: bytes)
        return SealText.prefix + Base45.encode(bytes + signature)
    }
}

/// Reading and writing private key files with owner-only permissions.
public enum SealKeyFile {
    /// Throws unless `path` exists and has no group or other permission bits.
    public static func checkPermissions(_ path: String) throws {
        var st = stat()
        guard stat(path, &st) == 0 else { throw SealKeyError.unreadableKeyFile(path) }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw SealKeyError.insecureKeyFilePermissions(path: path, mode: String(mode, radix: 8))
        }
    }

    /// Writes `key` as PKCS#8 PEM to `path` with mode 0600, creating the directory (mode 0700) if
    /// needed. With `replace` false an existing file is an error; with `replace` true the new file
    /// is written beside it and renamed over it, so a crash never leaves a half-written key.
    public static func write(_ key: ECDSAP256.PrivateKey, to path: String, replace: Bool) throws {
        let fm = FileManager.default
        if !replace, fm.fileExists(atPath: path) { throw SealKeyError.keyFileExists(path) }
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty, !fm.fileExists(atPath: dir) {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let pem = Array(try key.pemRepresentation().utf8)
        let temp = path + ".new"
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw SealKeyError.cannotWriteKeyFile(path) }
        let written = pem.withUnsafeBytes { Foundation.write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == pem.count, synced, rename(temp, path) == 0 else {
            unlink(temp)
            throw SealKeyError.cannotWriteKeyFile(path)
        }
    }
}
