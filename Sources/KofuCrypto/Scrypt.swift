import COpenSSL

/// scrypt (RFC 7914), the memory-hard password KDF, through OpenSSL 3's `EVP_PBE_scrypt`.
///
/// Staff passwords are stored as a self-describing string
/// `scrypt$<log2 N>$<r>$<p>$<salt hex>$<hash hex>` so that the cost can be raised later without
/// invalidating existing passwords.
public enum Scrypt {
    /// Errors deriving or parsing a password hash.
    public enum Error: Swift.Error, Equatable {
        /// OpenSSL refused the parameters (too much memory, N not a power of two, …).
        case derivationFailed
        /// The stored string is not a `scrypt$…` password hash.
        case malformedHash
    }

    /// Cost parameters: N = 2^`logN`, block size `r`, parallelism `p`.
    public struct Parameters: Sendable, Equatable {
        public var logN: Int
        public var r: Int
        public var p: Int

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN; self.r = r; self.p = p
        }

        /// N = 2^15, r = 8, p = 1: 32 MiB of memory and roughly 0.1 s per hash on one core.
        public static let interactive = Parameters(logN: 15, r: 8, p: 1)
        /// Cheap parameters for tests only (N = 2^10).
        public static let testing = Parameters(logN: 10, r: 8, p: 1)

        /// The memory the derivation needs, with headroom, as passed to OpenSSL's `maxmem`.
        var maxMemory: UInt64 { UInt64(128 * r) * (UInt64(1) << UInt64(logN)) * 2 + UInt64(128 * r * p) + 1 << 20 }
    }

    /// Derives `length` bytes from `password` and `salt`.
    public static func derive(password: [UInt8], salt: [UInt8], parameters: Parameters, length: Int = 32) throws -> [UInt8] {
        guard parameters.logN > 0, parameters.logN < 63, parameters.r > 0, parameters.p > 0 else { throw Error.derivationFailed }
        var out = [UInt8](repeating: 0, count: length)
        // A trailing NUL keeps the buffer non-empty for an empty password; only `password.count` bytes are used.
        let chars = password.map { CChar(bitPattern: $0) } + [0]
        let rc = chars.withUnsafeBufferPointer { pw in
            salt.withUnsafeBufferPointer { s in
                EVP_PBE_scrypt(pw.baseAddress, password.count, s.baseAddress, s.count,
                               UInt64(1) << UInt64(parameters.logN), UInt64(parameters.r), UInt64(parameters.p),
                               parameters.maxMemory, &out, length)
            }
        }
        guard rc == 1 else { throw Error.derivationFailed }
        return out
    }

    /// Hashes a password with a fresh 16-byte random salt, returning the self-describing string.
    public static func hashPassword(_ password: String, parameters: Parameters = .interactive) throws -> String {
        let salt = SecureRandom.bytes(16)
        let hash = try derive(password: Array(password.utf8), salt: salt, parameters: parameters)
        return "scrypt$\(parameters.logN)$\(parameters.r)$\(parameters.p)$\(Hex.encode(salt))$\(Hex.encode(hash))"
    }

    /// Checks `password` against a string from `hashPassword`, comparing in constant time.
    public static func verifyPassword(_ password: String, against stored: String) throws -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt",
              let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              let salt = Hex.decode(String(parts[4])), let expected = Hex.decode(String(parts[5])),
              !expected.isEmpty, logN > 0, logN < 31, r > 0, r < 64, p > 0, p < 64
        else { throw Error.malformedHash }
        let actual = try derive(password: Array(password.utf8), salt: salt,
                                parameters: Parameters(logN: logN, r: r, p: p), length: expected.count)
        return ConstantTime.equals(actual, expected)
    }
}

/// Comparison whose running time does not depend on where two byte strings differ (`CRYPTO_memcmp`).
public enum ConstantTime {
    /// True when `a` and `b` have the same length and bytes.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { x in b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 } }
    }
}
