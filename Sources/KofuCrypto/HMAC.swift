import COpenSSL

/// HMAC-SHA256 through OpenSSL (used to sign audit-log checkpoints with a local key).
public enum HMACSHA256 {
    /// The 32-byte MAC of `message` under `key`.
    public static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        key.withUnsafeBufferPointer { k in
            message.withUnsafeBufferPointer { m in
                _ = COpenSSL.HMAC(EVP_sha256(), k.baseAddress ?? UnsafePointer(bitPattern: 1), Int32(k.count),
                                  m.baseAddress, m.count, &out, &len)
            }
        }
        return out
    }

    /// True when `tag` is the MAC of `message` under `key`, compared in constant time.
    public static func verify(key: [UInt8], message: [UInt8], tag: [UInt8]) -> Bool {
        ConstantTime.equals(mac(key: key, message: message), tag)
    }
}
