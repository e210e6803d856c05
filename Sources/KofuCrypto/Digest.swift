import COpenSSL
import Foundation

/// SHA-256 through OpenSSL.
public enum SHA256 {
    /// The 32-byte digest of `data`.
    public static func hash(_ data: some ContiguousBytes) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        data.withUnsafeBytes { buf in
            _ = COpenSSL.SHA256(buf.baseAddress?.assumingMemoryBound(to: UInt8.self), buf.count, &out)
        }
        return out
    }

    /// Lower-case hex of the digest.
    public static func hex(_ data: some ContiguousBytes) -> String { Hex.encode(hash(data)) }

    /// An incremental hasher for streams (large linkage files).
    public final class Hasher {
        private let ctx: OpaquePointer

        public init() {
            ctx = EVP_MD_CTX_new()
            EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
        }

        deinit { EVP_MD_CTX_free(ctx) }

        public func update(_ data: some ContiguousBytes) {
            data.withUnsafeBytes { buf in _ = EVP_DigestUpdate(ctx, buf.baseAddress, buf.count) }
        }

        public func finalize() -> [UInt8] {
            var out = [UInt8](repeating: 0, count: 32)
            var len: UInt32 = 0
            EVP_DigestFinal_ex(ctx, &out, &len)
            return out
        }
    }
}

/// Lower-case hexadecimal.
public enum Hex {
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let u = Array(text.utf8)
        guard u.count % 2 == 0 else { return nil }
        func v(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let hi = v(u[i]), let lo = v(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}

/// Cryptographically secure random bytes from OpenSSL's DRBG.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        let rc = RAND_bytes(&out, Int32(count))
        precondition(rc == 1, "RAND_bytes failed")
        return out
    }
}
