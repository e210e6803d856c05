import Foundation
import KofuCrypto
import KofuDomain

/// The result of checking one seal text.
public struct SealVerification: Sendable, Equatable {
    /// What the check concluded. Raw values are the stable strings used by `kofu verify` and `/verify`.
    public enum Outcome: String, Sendable, Equatable, CaseIterable {
        /// Signature valid, key published, in date and not revoked, content plausible, issued by this municipality.
        case valid
        /// Not a seal: wrong prefix, not Base45, bad structure or field values, unknown format version, or a
        /// KF1 seal dated after KF1 was retired.
        case malformed
        /// The key id is not in the keyring.
        case unknownKey = "unknown_key"
        /// The key's published end date has passed, or the seal claims an issue date after the key stopped signing.
        case keyExpired = "key_expired"
        /// The key is not valid yet on the verification date or on the seal's issue date.
        case keyNotYetValid = "key_not_yet_valid"
        /// The signature does not match the content (the content or the signature was changed), the
        /// signature is high-S (a malleated copy), or the key belongs to another municipality than the seal names.
        case badSignature = "bad_signature"
        /// A genuine seal, but issued by another municipality than this verifier's.
        case otherMunicipality = "other_municipality"
        /// The key was revoked from a day on or before the seal's signing day.
        case keyRevoked = "key_revoked"
        /// Signed, but the content cannot be a real certificate (`implausibility` says why).
        case implausible
    }

    /// Why signed content cannot be a real certificate.
    public enum Implausibility: String, Sendable, Equatable {
        case issueDateInFuture = "issue_date_in_future"
        case signedInFuture = "signed_at_in_future"
        case birthAfterIssue = "birth_after_issue"
        case negativeAmount = "negative_amount"
        case emptyName = "empty_name"
        case emptyNumber = "empty_certificate_number"
    }

    public var outcome: Outcome
    /// The decoded content when the bytes could be parsed (also for failures after parsing; it is
    /// only trustworthy when `outcome == .valid`).
    public var payload: SealPayload?
    /// For `malformed`: the precise structural reason.
    public var formatError: SealFormatError?
    /// The keyring entry that matched the key id, if any.
    public var key: SealKeyring.Entry?
    /// For `implausible`: the first content check that failed.
    public var implausibility: Implausibility?
    /// For `bad_signature`: true when the signature was rejected for being high-S.
    public var highS: Bool = false

    public init(outcome: Outcome, payload: SealPayload?, formatError: SealFormatError?, key: SealKeyring.Entry?,
                implausibility: Implausibility? = nil, highS: Bool = false) {
        self.outcome = outcome; self.payload = payload; self.formatError = formatError; self.key = key
        self.implausibility = implausibility; self.highS = highS
    }

    public var isValid: Bool { outcome == .valid }
}

/// Checks seal texts offline against a keyring, for one municipality.
///
/// The checks run in the order of `docs/seal.md` §6 and the first that fails gives the outcome:
/// structure (malformed), key id in the keyring (unknownKey), signature, low-S and the key's municipality
/// (badSignature), municipality (otherMunicipality), key dates (keyNotYetValid, keyExpired), revocation
/// (keyRevoked), content sanity (implausible).
public struct SealVerifier: Sendable {
    public let keyring: SealKeyring
    public let municipalityCode: String
    /// KF1 seals with an issue date on or after this day are refused (KF2 replaced KF1 before it).
    public let kf1RetiredFrom: LocalDate
    /// How far in the future an issue date or signing time may be (clock skew between signer and verifier).
    public static let clockSkewSeconds: Double = 86_400

    /// The default KF1 retirement day: every Kofu node signs KF2 from the release that introduced it, well before.
    public static let defaultKF1RetiredFrom = LocalDate(year: 2027, month: 4, day: 1)!

    public init(keyring: SealKeyring, municipalityCode: String, kf1RetiredFrom: LocalDate = SealVerifier.defaultKF1RetiredFrom) {
        self.keyring = keyring; self.municipalityCode = municipalityCode; self.kf1RetiredFrom = kf1RetiredFrom
    }

    /// Verifies `sealText` as of `date` (the day it is being checked in Japan); the content checks take the end
    /// of that day as the present moment.
    public func verify(_ sealText: String, at date: LocalDate) -> SealVerification {
        verify(sealText, at: date, now: JapanDay.end(of: date))
    }

    /// Verifies `sealText` on `date` (Japan) at the moment `now`.
    public func verify(_ sealText: String, at date: LocalDate, now: Date) -> SealVerification {
        let parts: (version: UInt8, payload: [UInt8], signature: [UInt8])
        let payload: SealPayload
        do {
            parts = try SealText.splitVersioned(SealText.trimmingLineEnd(sealText))
            payload = try SealPayload(decoding: parts.payload)
            guard payload.version == parts.version else { throw SealFormatError.prefixMismatch }
            if payload.version == 1, payload.issueDate >= kf1RetiredFrom { throw SealFormatError.retiredFormat }
        } catch let error as SealFormatError {
            return SealVerification(outcome: .malformed, payload: nil, formatError: error, key: nil)
        } catch {
            return SealVerification(outcome: .malformed, payload: nil, formatError: .truncated, key: nil)
        }
        func result(_ o: SealVerification.Outcome, _ key: SealKeyring.Entry?) -> SealVerification {
            SealVerification(outcome: o, payload: payload, formatError: nil, key: key)
        }
        guard let key = keyring.entry(keyID: payload.keyID) else { return result(.unknownKey, nil) }
        // Low-S is required of KF2 only: KF1 signers did not normalise, and KF1 seals must keep verifying.
        if payload.version >= 2, LowS.isHigh(parts.signature) {
            var r = result(.badSignature, key)
            r.highS = true
            return r
        }
        guard key.publicKey.isValidSignature(parts.signature, for: parts.payload),
              key.municipalityCode == payload.municipalityCode else { return result(.badSignature, key) }
        guard payload.municipalityCode == municipalityCode else { return result(.otherMunicipality, key) }
        guard key.notBefore <= date, key.notBefore <= payload.issueDate else { return result(.keyNotYetValid, key) }
        guard date <= key.notAfter, payload.issueDate <= key.lastSigningDay else { return result(.keyExpired, key) }
        if let revocation = key.revocation, Self.signingDay(payload) >= revocation.from { return result(.keyRevoked, key) }
        if let why = Self.implausibility(payload, date: date, now: now) {
            var r = result(.implausible, key)
            r.implausibility = why
            return r
        }
        return result(.valid, key)
    }

    /// The day a seal counts as signed for revocation: the later of its issue date and (KF2) the Japan date of
    /// its signing time.
    public static func signingDay(_ p: SealPayload) -> LocalDate {
        guard let s = p.signedAt else { return p.issueDate }
        return max(p.issueDate, JapanDay.date(of: Date(timeIntervalSince1970: Double(s))))
    }

    /// The first content check that fails, in the order of `docs/seal.md` §6 step 9.
    public static func implausibility(_ p: SealPayload, date: LocalDate, now: Date) -> SealVerification.Implausibility? {
        if p.certificateNumber.isEmpty { return .emptyNumber }
        if p.name.trimmingCharacters(in: .whitespaces).isEmpty { return .emptyName }
        if p.issueDate > date.adding(days: 1) { return .issueDateInFuture }
        if let s = p.signedAt, Double(s) > now.timeIntervalSince1970 + clockSkewSeconds { return .signedInFuture }
        if p.birthDate > p.issueDate { return .birthAfterIssue }
        if p.amounts.contains(where: { $0 < 0 }) { return .negativeAmount }
        return nil
    }
}

extension SealPayload {
    /// Every amount the seal carries in clear.
    public var amounts: [Int] {
        var all: [Int]
        switch figures {
        case .taxPayment(let lines): all = lines.flatMap { [$0.assessed, $0.paid, $0.unpaid] }
        case .incomeTaxation(let income, let tax): all = [income, tax]
        case .nonTaxation(_, let income): all = [income]
        case .vehicleInspection(_, let paid, _): all = [paid]
        }
        if let l = incomeLevies { all += [l.cityIncomeLevy, l.cityPerCapita, l.prefIncomeLevy, l.prefPerCapita] }
        return all
    }
}

/// Days in Japan (UTC+9, no daylight saving time), without depending on the machine's time zone.
public enum JapanDay {
    static let offset: Double = 9 * 3600

    /// The Japan calendar date of `instant`.
    public static func date(of instant: Date) -> LocalDate {
        LocalDate(dayNumber: Int(((instant.timeIntervalSince1970 + offset) / 86_400).rounded(.down)))
    }

    /// The last second of `date` in Japan.
    public static func end(of date: LocalDate) -> Date {
        Date(timeIntervalSince1970: Double(date.dayNumber + 1) * 86_400 - offset - 1)
    }
}
