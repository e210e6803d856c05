import KofuCrypto
import KofuDomain

/// The result of checking one seal text.
public struct SealVerification: Sendable, Equatable {
    /// What the check concluded. Raw values are the stable strings used by `kofu verify` and `GET /verify`.
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        /// Signature valid, key published and in date, issued by this municipality.
        case valid
        /// Not a seal: wrong prefix, not Base45, bad structure or field values, unknown format version.
        case malformed
        /// The key id is not in the keyring.
        case unknownKey = "unknown_key"
        /// The key's published end date has passed, or the seal claims an issue date after the key stopped signing.
        case keyExpired = "key_expired"
        /// The key is not valid yet on the verification date or on the seal's issue date.
        case keyNotYetValid = "key_not_yet_valid"
        /// The signature does not match the content (the content or the signature was changed), or
        /// the key belongs to another municipality than the one the seal names.
        case badSignature = "bad_signature"
        /// A genuine seal, but issued by another municipality than this verifier's.
        case otherMunicipality = "other_municipality"
    }

    public var outcome: Outcome
    /// The decoded content when the bytes could be parsed (also for failures after parsing; it is
    /// only trustworthy when `outcome == .valid`).
    public var payload: SealPayload?
    /// For `malformed`: the precise structural reason.
    public var formatError: SealFormatError?
    /// The keyring entry that matched the key id, if any.
    public var key: SealKeyring.Entry?

    public init(outcome: Outcome, payload: SealPayload?, formatError: SealFormatError?, key: SealKeyring.Entry?) {
        self.outcome = outcome; self.payload = payload; self.formatError = formatError; self.key = key
    }

    public var isValid: Bool { outcome == .valid }
}

/// Checks seal texts offline against a keyring, for one municipality.
///
/// The checks run in this order and the first that fails gives the outcome: structure (malformed),
/// key id in the keyring (unknownKey), signature and the key's municipality (badSignature),
/// municipality (otherMunicipality), key dates (keyNotYetValid, keyExpired).
public struct SealVerifier: Sendable {
    public let keyring: SealKeyring
    public let municipalityCode: String

    public init(keyring: SealKeyring, municipalityCode: String) {
        self.keyring = keyring; self.municipalityCode = municipalityCode
    }

    /// Verifies `sealText` as of `date` (the day it is being checked).
    public func verify(_ sealText: String, at date: LocalDate) -> SealVerification {
        let parts: (payload: [UInt8], signature: [UInt8])
        let payload: SealPayload
        do {
            parts = try SealText.split(sealText)
            payload = try SealPayload(decoding: parts.payload)
        } catch {
            return SealVerification(outcome: .malformed, payload: nil, formatError: error, key: nil)
        }
        func result(_ o: SealVerification.Outcome, _ key: SealKeyring.Entry?) -> SealVerification {
            SealVerification(outcome: o, payload: payload, formatError: nil, key: key)
        }
        guard let key = keyring.entry(keyID: payload.keyID) else { return result(.unknownKey, nil) }
        guard key.publicKey.isValidSignature(parts.signature, for: parts.payload),
              key.municipalityCode == payload.municipalityCode else { return result(.badSignature, key) }
        guard payload.municipalityCode == municipalityCode else { return result(.otherMunicipality, key) }
        guard key.notBefore <= date, key.notBefore <= payload.issueDate else { return result(.keyNotYetValid, key) }
        guard date <= key.notAfter, payload.issueDate <= key.lastSigningDay else { return result(.keyExpired, key) }
        return result(.valid, key)
    }
}
