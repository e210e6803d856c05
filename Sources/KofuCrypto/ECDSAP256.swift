import COpenSSL

/// ECDSA over NIST P-256 with SHA-256 (JOSE `ES256`) through OpenSSL, with signatures in the raw
/// 64-byte `r‖s` form (32 bytes each, big-endian, left-padded with zeros) rather than DER, which keeps
/// a printed QR seal small.
public enum ECDSAP256 {
    /// What can go wrong with keys and signatures.
    public enum Error: Swift.Error, Equatable {
        /// The PEM text is not a private key OpenSSL can read.
        case invalidPrivateKeyPEM
        /// The DER is not a SubjectPublicKeyInfo OpenSSL can read.
        case invalidPublicKeyDER
        /// The key is not an EC key on P-256 (prime256v1).
        case notP256
        /// OpenSSL could not generate a key.
        case keyGenerationFailed
        /// OpenSSL could not make a signature.
        case signingFailed
        /// OpenSSL could not serialise the key.
        case encodingFailed
    }

    /// Owns one `EVP_PKEY *`. OpenSSL 3 keys are safe to use from several threads for signing and
    /// verifying as long as nobody mutates them, and nothing here does after construction.
    final class KeyBox: @unchecked Sendable {
        let pkey: OpaquePointer
        init(_ pkey: OpaquePointer) { self.pkey = pkey }
        deinit { EVP_PKEY_free(pkey) }
    }

    /// A P-256 private key. Its bytes never leave this type except through `pemRepresentation`,
    /// which a key file writer uses; it has no `description` that would print them.
    public struct PrivateKey: Sendable {
        let box: KeyBox

        /// A fresh key from OpenSSL's DRBG.
        public static func generate() throws -> PrivateKey {
            guard let ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nil) else { throw Error.keyGenerationFailed }
            defer { EVP_PKEY_CTX_free(ctx) }
            guard EVP_PKEY_keygen_init(ctx) == 1,
                  EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1 else {
                throw Error.keyGenerationFailed
            }
            var key: OpaquePointer?
            guard EVP_PKEY_keygen(ctx, &key) == 1, let key else { throw Error.keyGenerationFailed }
            return PrivateKey(box: KeyBox(key))
        }

        /// Reads a PEM private key (`PRIVATE KEY` PKCS#8 or `EC PRIVATE KEY` SEC1, unencrypted).
        public init(pem: String) throws {
            let bytes = Array(pem.utf8)
            guard let bio = bytes.withUnsafeBytes({ BIO_new_mem_buf($0.baseAddress, Int32($0.count)) }) else {
                throw Error.invalidPrivateKeyPEM
            }
            defer { BIO_free(bio) }
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                ERR_clear_error()
                throw Error.invalidPrivateKeyPEM
            }
            let box = KeyBox(key)
            guard ECDSAP256.isP256(key) else { throw Error.notP256 }
            self.box = box
        }

        init(box: KeyBox) { self.box = box }

        /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), for writing a key file.
        public func pemRepresentation() throws -> String {
            guard let bio = BIO_new(BIO_s_mem()) else { throw Error.encodingFailed }
            defer { BIO_free(bio) }
            guard PEM_write_bio_PKCS8PrivateKey(bio, box.pkey, nil, nil, 0, nil, nil) == 1 else {
                throw Error.encodingFailed
            }
            let pending = Int(BIO_ctrl_pending(bio))
            var out = [UInt8](repeating: 0, count: pending)
            guard BIO_read(bio, &out, Int32(pending)) == Int32(pending) else { throw Error.encodingFailed }
            return String(decoding: out, as: UTF8.self)
        }

        /// The matching public key.
        public var publicKey: PublicKey {
            // Round-tripping through SubjectPublicKeyInfo gives a key object without the private part.
            let der = ECDSAP256.spki(box.pkey)
            // The DER was produced by OpenSSL from a valid P-256 key one line above.
            return try! PublicKey(spkiDER: der)
        }

        /// Signs SHA-256(`message`) and returns the raw 64-byte `r‖s`.
        public func signature(for message: [UInt8]) throws -> [UInt8] {
            guard let md = EVP_MD_CTX_new() else { throw Error.signingFailed }
            defer { EVP_MD_CTX_free(md) }
            guard EVP_DigestSignInit(md, nil, EVP_sha256(), nil, box.pkey) == 1 else { throw Error.signingFailed }
            var derLen = 80
            var der = [UInt8](repeating: 0, count: derLen)
            guard EVP_DigestSign(md, &der, &derLen, message, message.count) == 1 else { throw Error.signingFailed }
            let raw: [UInt8]? = der.withUnsafeBufferPointer { buf in
                var p: UnsafePointer<UInt8>? = buf.baseAddress
                guard let sig = d2i_ECDSA_SIG(nil, &p, derLen) else { return nil }
                defer { ECDSA_SIG_free(sig) }
                var out = [UInt8](repeating: 0, count: 64)
                let ok = out.withUnsafeMutableBufferPointer { o in
                    BN_bn2binpad(ECDSA_SIG_get0_r(sig), o.baseAddress!, 32) == 32
                        && BN_bn2binpad(ECDSA_SIG_get0_s(sig), o.baseAddress! + 32, 32) == 32
                }
                return ok ? out : nil
            }
            guard let raw else { throw Error.signingFailed }
            return raw
        }
    }

    /// A P-256 public key, exchanged as SubjectPublicKeyInfo DER (RFC 5280 §4.1.2.7, RFC 5480).
    public struct PublicKey: Sendable, Equatable {
        let box: KeyBox
        /// The SubjectPublicKeyInfo DER (91 bytes for an uncompressed P-256 point).
        public let spkiDER: [UInt8]

        /// Reads a SubjectPublicKeyInfo DER; throws unless it is an EC key on P-256.
        public init(spkiDER: [UInt8]) throws {
            let key: OpaquePointer? = spkiDER.withUnsafeBufferPointer { buf in
                var p: UnsafePointer<UInt8>? = buf.baseAddress
                return d2i_PUBKEY(nil, &p, buf.count)
            }
            guard let key else {
                ERR_clear_error()
                throw Error.invalidPublicKeyDER
            }
            let box = KeyBox(key)
            guard ECDSAP256.isP256(key) else { throw Error.notP256 }
            // Canonical form: re-encode, so that two encodings of one key have one key id.
            let canonical = ECDSAP256.spki(key)
            guard canonical == spkiDER else { throw Error.invalidPublicKeyDER }
            self.box = box
            self.spkiDER = canonical
        }

        /// True when `signature` (raw 64-byte `r‖s`) is a valid signature of SHA-256(`message`).
        /// Any other length, or r or s outside 1…n−1, is simply not valid.
        public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
            guard signature.count == 64, let sig = ECDSA_SIG_new() else { return false }
            defer { ECDSA_SIG_free(sig) }
            guard let r = BN_bin2bn(signature, 32, nil) else { return false }
            let s: OpaquePointer? = signature.withUnsafeBufferPointer { BN_bin2bn($0.baseAddress! + 32, 32, nil) }
            guard let s else { BN_free(r); return false }
            guard ECDSA_SIG_set0(sig, r, s) == 1 else { BN_free(r); BN_free(s); return false }
            var derPtr: UnsafeMutablePointer<UInt8>?
            let derLen = i2d_ECDSA_SIG(sig, &derPtr)
            guard derLen > 0, let derPtr else { return false }
            defer { CRYPTO_free(derPtr, #fileID, #line) }
            guard let md = EVP_MD_CTX_new() else { return false }
            defer { EVP_MD_CTX_free(md) }
            guard EVP_DigestVerifyInit(md, nil, EVP_sha256(), nil, box.pkey) == 1 else { return false }
            let rc = EVP_DigestVerify(md, derPtr, Int(derLen), message, message.count)
            if rc != 1 { ERR_clear_error() }
            return rc == 1
        }

        public static func == (a: PublicKey, b: PublicKey) -> Bool { a.spkiDER == b.spkiDER }
    }

    static func isP256(_ key: OpaquePointer) -> Bool {
        guard EVP_PKEY_get_base_id(key) == EVP_PKEY_EC else { return false }
        var name = [CChar](repeating: 0, count: 64)
        var len = 0
        guard EVP_PKEY_get_group_name(key, &name, name.count, &len) == 1 else { return false }
        let group = String(decoding: name.prefix(len).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return group == "prime256v1" || group == "P-256"
    }

    static func spki(_ key: OpaquePointer) -> [UInt8] {
        let len = i2d_PUBKEY(key, nil)
        guard len > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: Int(len))
        out.withUnsafeMutableBufferPointer { buf in
            var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
            _ = i2d_PUBKEY(key, &p)
        }
        return out
    }
}
