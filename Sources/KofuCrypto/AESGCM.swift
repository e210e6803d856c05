import COpenSSL

/// AES-256-GCM through OpenSSL, for encrypting transient personal data at rest (the spool).
public struct AES256GCM: Sendable {
    public enum Error: Swift.Error, Equatable {
        case invalidKey
        /// The tag did not match: the ciphertext, nonce or key is not the one sealed.
        case authenticationFailed
        case malformed
    }

    private let key: [UInt8]

    /// A fresh random key that lives only in memory.
    public static func randomKey() -> AES256GCM { AES256GCM(unchecked: SecureRandom.bytes(32)) }

    public init(key: [UInt8]) throws {
        guard key.count == 32 else { throw Error.invalidKey }
        self.key = key
    }

    private init(unchecked key: [UInt8]) { self.key = key }

    /// Encrypts `plaintext`; the result is `nonce (12) ‖ ciphertext ‖ tag (16)`. `aad` is authenticated, not stored.
    public func seal(_ plaintext: [UInt8], aad: [UInt8] = []) -> [UInt8] {
        let nonce = SecureRandom.bytes(12)
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: 12 + plaintext.count + 16)
        out.replaceSubrange(0..<12, with: nonce)
        var len: Int32 = 0
        EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, nonce)
        if !aad.isEmpty { EVP_EncryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) }
        out.withUnsafeMutableBufferPointer { buf in
            let body = buf.baseAddress! + 12
            if !plaintext.isEmpty { EVP_EncryptUpdate(ctx, body, &len, plaintext, Int32(plaintext.count)) }
            EVP_EncryptFinal_ex(ctx, body + Int(len), &len)
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, body + plaintext.count)
        }
        return out
    }

    /// Decrypts what `seal` produced, checking the tag.
    public func open(_ sealed: [UInt8], aad: [UInt8] = []) throws -> [UInt8] {
        guard sealed.count >= 28 else { throw Error.malformed }
        let ctx = EVP_CIPHER_CTX_new()!
        defer { EVP_CIPHER_CTX_free(ctx) }
        let bodyCount = sealed.count - 28
        var out = [UInt8](repeating: 0, count: bodyCount)
        var len: Int32 = 0
        var tag = Array(sealed[(sealed.count - 16)...])
        let ok: Bool = sealed.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, key, base) == 1 else { return false }
            if !aad.isEmpty { EVP_DecryptUpdate(ctx, nil, &len, aad, Int32(aad.count)) }
            if bodyCount > 0 {
                guard EVP_DecryptUpdate(ctx, &out, &len, base + 12, Int32(bodyCount)) == 1 else { return false }
            }
            EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, &tag)
            var finalLen: Int32 = 0
            return out.withUnsafeMutableBufferPointer { o in
                EVP_DecryptFinal_ex(ctx, o.baseAddress.map { $0 + Int(len) }, &finalLen) == 1
            }
        }
        guard ok else { throw Error.authenticationFailed }
        return out
    }
}
