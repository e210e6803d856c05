import Foundation
import KofuCrypto
import KofuDomain

/// The seal's text form: `KF<version>:` followed by Base45 of `payload ‖ signature`.
public enum SealText {
    /// The four literal characters a version-1 seal starts with. They are all in the QR
    /// alphanumeric set, and since `:` is also a Base45 character the prefix is matched as a fixed
    /// string and never found by searching for a separator.
    public static let prefix = "KF1:"
    /// The prefix of a version-2 seal, the format Kofu signs now.
    public static let prefixV2 = "KF2:"
    /// Length of the raw ECDSA P-256 signature (`r‖s`) at the end of the decoded bytes.
    public static let signatureLength = 64

    /// The prefix for a payload format version.
    public static func prefix(version: UInt8) -> String { "KF\(version):" }

    /// Removes one trailing line end a QR reader may add (`\n` or `\r\n`); nothing else, since a space is Base45.
    public static func trimmingLineEnd(_ text: String) -> String {
        var t = Substring(text)
        if t.utf8.last == 0x0A {
            t = t.dropLast()
            if t.utf8.last == 0x0D { t = t.dropLast() }
        }
        return String(t)
    }

    /// Splits a seal text into its prefix version, the signed payload bytes and the signature, or says why it cannot.
    public static func split(_ text: String) throws(SealFormatError) -> (payload: [UInt8], signature: [UInt8]) {
        let parts = try splitVersioned(text)
        return (parts.payload, parts.signature)
    }

    /// Like `split`, also returning the version the prefix names (1 or 2).
    public static func splitVersioned(_ text: String) throws(SealFormatError)
        -> (version: UInt8, payload: [UInt8], signature: [UInt8]) {
        let version: UInt8
        if text.utf8.starts(with: prefix.utf8) { version = 1 }
        else if text.utf8.starts(with: prefixV2.utf8) { version = 2 }
        else { throw .missingPrefix }
        let body = text.utf8.dropFirst(4)
        let bytes: [UInt8]
        do { bytes = try Base45.decode(String(decoding: body, as: UTF8.self)) } catch { throw .notBase45 }
        guard bytes.count > signatureLength else { throw .truncated }
        return (version, Array(bytes.dropLast(signatureLength)), Array(bytes.suffix(signatureLength)))
    }
}

/// Low-S ECDSA signatures (as in Bitcoin's BIP 62 and Ethereum): for a valid `(r, s)` the pair
/// `(r, n − s)` is valid too, so a verifier that takes both lets anyone make a second seal text for the
/// same certificate. KF2 signers write `s ≤ n/2` and verifiers reject `s > n/2`.
public enum LowS {
    /// The order n of the P-256 group, big-endian.
    static let order: [UInt8] = Hex.decode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551")!
    /// ⌊n / 2⌋, big-endian.
    static let halfOrder: [UInt8] = Hex.decode("7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8")!

    /// Whether the `s` half of a raw `r‖s` signature is above n/2.
    public static func isHigh(_ signature: [UInt8]) -> Bool {
        guard signature.count == 64 else { return false }
        return Array(signature[32...]).lexicographicallyPrecedes(halfOrder) == false && Array(signature[32...]) != halfOrder
    }

    /// The signature with `s` replaced by `n − s` when it is high (same validity, one canonical form).
    public static func normalized(_ signature: [UInt8]) -> [UInt8] {
        guard isHigh(signature) else { return signature }
        return Array(signature[..<32]) + subtract(order, Array(signature[32...]))
    }

    /// `a − b` for 32-byte big-endian numbers with `a ≥ b`.
    static func subtract(_ a: [UInt8], _ b: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var borrow = 0
        for i in stride(from: 31, through: 0, by: -1) {
            var d = Int(a[i]) - Int(b[i]) - borrow
            borrow = d < 0 ? 1 : 0
            if d < 0 { d += 256 }
            out[i] = UInt8(d)
        }
        return out
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

    /// The KF2 seal for `certificate` printed on `pages` pages, signed at `signedAt`:
    /// `KF2:` + Base45(payload ‖ low-S ECDSA-P256-SHA256 r‖s), and the content digest it carries (which the
    /// ledger's seal registry records).
    /// `payloadDigest` is SHA-256 of the signed payload bytes: the ledger's seal registry keeps it so that the
    /// online check accepts exactly this seal (its figures in clear and its content digest together).
    public func seal(_ certificate: Certificate, pages: Int, signedAt: Date) throws
        -> (text: String, contentDigest: [UInt8], payloadDigest: [UInt8]) {
        let seconds = signedAt.timeIntervalSince1970
        guard seconds >= 0, seconds < Double(UInt32.max) else { throw SealKeyError.unencodable(.invalidField("signed_at")) }
        let payload: SealPayload
        let bytes: [UInt8]
        do {
            payload = try SealPayload(certificate: certificate, pages: pages, signedAt: UInt32(seconds), keyID: keyID)
            bytes = try payload.encoded()
        } catch { throw SealKeyError.unencodable(error) }
        return (try seal(payload: payload), payload.contentDigest ?? [], SHA256.hash(bytes))
    }

    /// Signs an already built payload (its `keyID` must be this signer's for it to verify). The prefix
    /// follows the payload's version; the signature is always low-S.
    public func seal(payload: SealPayload) throws -> String {
        let bytes: [UInt8]
        do { bytes = try payload.encoded() } catch { throw SealKeyError.unencodable(error) }
        let signature = LowS.normalized(try privateKey.signature(for: bytes))
        return SealText.prefix(version: payload.version) + Base45.encode(bytes + signature)
    }

    /// Signs arbitrary bytes (the published keyring document), low-S raw `r‖s`.
    public func signature(for bytes: [UInt8]) throws -> [UInt8] {
        LowS.normalized(try privateKey.signature(for: bytes))
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
