import Foundation
import KofuCrypto
import KofuDomain

/// Errors reading or changing a keyring.
public enum SealKeyringError: Error, Equatable, Sendable {
    /// The file cannot be read.
    case unreadable(String)
    /// The JSON does not have the keyring's shape (the field at fault is named).
    case invalid(String)
    /// Two entries have the same key id (the whole keyring is refused: which one is meant cannot be known).
    case duplicateKey(String)
    /// The key to revoke is not in the keyring.
    case noSuchKey(String)
    /// The file could not be written.
    case cannotWrite(String)
}

/// The published verification keys (公開鍵一覧): every key that has ever signed seals, with the
/// dates that bound it. Served as JSON at `/.well-known/kofu/seal-keys.json`; see `docs/seal.md`.
public struct SealKeyring: Sendable, Equatable {
    /// One public key and its validity.
    public struct Entry: Sendable, Equatable {
        /// First 8 bytes of SHA-256 of `publicKey.spkiDER`.
        public var keyID: [UInt8]
        /// The municipality whose seals this key signs.
        public var municipalityCode: String
        public var publicKey: ECDSAP256.PublicKey
        /// First day the key may sign, and first day its seals verify.
        public var notBefore: LocalDate
        /// Last day the key signed (set when it is rotated out); nil while it is the active key.
        public var signingUntil: LocalDate?
        /// Last day seals made with this key verify (the published end date).
        public var notAfter: LocalDate
        /// Set when the key is revoked (e.g. it leaked): seals it signed on or after this day fail.
        public var revocation: Revocation?

        public init(municipalityCode: String, publicKey: ECDSAP256.PublicKey, notBefore: LocalDate,
                    signingUntil: LocalDate?, notAfter: LocalDate, revocation: Revocation? = nil) {
            self.keyID = SealKeyring.keyID(of: publicKey)
            self.municipalityCode = municipalityCode; self.publicKey = publicKey
            self.notBefore = notBefore; self.signingUntil = signingUntil; self.notAfter = notAfter
            self.revocation = revocation
        }

        /// The last day a seal may carry as its issue date under this key.
        public var lastSigningDay: LocalDate { signingUntil.map { min($0, notAfter) } ?? notAfter }

        /// Hex key id, as used in the JSON and in `kofu keys list`.
        public var keyIDHex: String { Hex.encode(keyID) }
    }

    /// A key's revocation (失効): from which day its seals are no longer trusted, and why.
    public struct Revocation: Sendable, Equatable {
        /// Seals signed on or after this day (Japan) fail with `key_revoked`.
        public var from: LocalDate
        /// `key_compromise`, `superseded`, `cessation_of_operation` or `unspecified` (RFC 5280 reason names).
        public var reason: String
        public static let reasons = ["key_compromise", "superseded", "cessation_of_operation", "unspecified"]
        public init(from: LocalDate, reason: String) { self.from = from; self.reason = reason }
    }

    /// An entry that was skipped while reading (forward compatibility): its index, key id as written, and why.
    public struct Ignored: Sendable, Equatable, CustomStringConvertible {
        public var index: Int
        public var keyID: String
        public var reason: String
        public var description: String { "keys[\(index)] (\(keyID)): \(reason)" }
    }

    public var entries: [Entry]
    /// Entries skipped when the keyring was read (unknown algorithm, malformed); never used to verify.
    public var ignored: [Ignored] = []

    public init(entries: [Entry] = []) { self.entries = entries }

    /// Revokes `keyID` from `date` with `reason`.
    public mutating func revoke(keyIDHex: String, from date: LocalDate, reason: String) throws {
        guard let i = entries.firstIndex(where: { $0.keyIDHex == keyIDHex.lowercased() }) else {
            throw SealKeyringError.noSuchKey(keyIDHex)
        }
        entries[i].revocation = Revocation(from: date, reason: reason)
    }

    /// The key id of `publicKey`: SHA-256 of its SubjectPublicKeyInfo DER, first 8 bytes.
    public static func keyID(of publicKey: ECDSAP256.PublicKey) -> [UInt8] {
        Array(SHA256.hash(publicKey.spkiDER).prefix(8))
    }

    /// The entry with `keyID`, if published.
    public func entry(keyID: [UInt8]) -> Entry? { entries.first { $0.keyID == keyID } }

    /// The key that signs on `date` for `municipalityCode`: valid then and not retired (the newest if several).
    public func activeEntry(municipalityCode: String, on date: LocalDate) -> Entry? {
        entries.filter { $0.municipalityCode == municipalityCode && $0.notBefore <= date && date <= $0.lastSigningDay }
            .max { $0.notBefore < $1.notBefore }
    }

    /// Adds a new entry; throws on a duplicate key id.
    public mutating func add(_ entry: Entry) throws {
        guard self.entry(keyID: entry.keyID) == nil else { throw SealKeyringError.duplicateKey(entry.keyIDHex) }
        entries.append(entry)
    }

    /// Ends signing for every other active key of the municipality on `date` (rotation); their
    /// published end date `notAfter` is kept, so the seals they made keep verifying until then.
    public mutating func retireAll(except keyID: [UInt8], municipalityCode: String, on date: LocalDate) {
        for i in entries.indices where entries[i].keyID != keyID && entries[i].municipalityCode == municipalityCode
            && entries[i].signingUntil == nil {
            entries[i].signingUntil = date
        }
    }

    // MARK: - JSON

    private struct FileForm: Encodable {
        var format: String
        var keys: [KeyForm]
    }

    private struct RevocationForm: Codable {
        var from: String
        var reason: String
    }

    private struct KeyForm: Encodable {
        var key_id: String
        var algorithm: String
        var municipality_code: String
        var public_key: String
        var not_before: String
        var signing_until: String?
        var not_after: String
        var revoked: RevocationForm?

        enum CodingKeys: String, CodingKey {
            case key_id, algorithm, municipality_code, public_key, not_before, signing_until, not_after, revoked
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(key_id, forKey: .key_id)
            try c.encode(algorithm, forKey: .algorithm)
            try c.encode(municipality_code, forKey: .municipality_code)
            try c.encode(public_key, forKey: .public_key)
            try c.encode(not_before, forKey: .not_before)
            try c.encode(signing_until, forKey: .signing_until)
            try c.encode(not_after, forKey: .not_after)
            try c.encode(revoked, forKey: .revoked)
        }
    }

    /// The `format` value this code writes.
    public static let formatName = "kofu-seal-keyring/2"
    /// The formats this code reads (`/1` has no revocations).
    public static let readableFormats = ["kofu-seal-keyring/1", "kofu-seal-keyring/2"]

    /// The publishable JSON (public keys and dates only; it never contains private material).
    public func json() -> [UInt8] {
        let form = FileForm(format: Self.formatName, keys: entries.map {
            KeyForm(key_id: $0.keyIDHex, algorithm: "ES256", municipality_code: $0.municipalityCode,
                    public_key: Data($0.publicKey.spkiDER).base64EncodedString(), not_before: $0.notBefore.iso,
                    signing_until: $0.signingUntil?.iso, not_after: $0.notAfter.iso,
                    revoked: $0.revocation.map { RevocationForm(from: $0.from.iso, reason: $0.reason) })
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings into JSON cannot fail.
        return Array(try! encoder.encode(form)) + [0x0A]
    }

    /// Parses keyring JSON by the rules of `docs/seal.md` §5.2: the document must be a JSON object with a
    /// known `format` and a `keys` array (else the whole keyring is refused); an entry whose `algorithm` is
    /// not `ES256`, or that is malformed (a field missing or of the wrong type, a bad key, date or municipality
    /// code, a `key_id` that does not match its key), is ignored and listed in `ignored`; two entries with the
    /// same `key_id` refuse the whole keyring. An ignored entry can only make seals fail (`unknown_key`),
    /// never pass.
    public init(json: [UInt8]) throws {
        guard let top = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw SealKeyringError.invalid("not a keyring JSON document (expected an object)")
        }
        guard let format = top["format"] as? String, Self.readableFormats.contains(format) else {
            throw SealKeyringError.invalid("format (expected one of \(Self.readableFormats.joined(separator: ", ")))")
        }
        guard let keys = top["keys"] as? [Any] else { throw SealKeyringError.invalid("keys (expected an array)") }
        var ring = SealKeyring()
        var seen = Set<String>()
        for (index, raw) in keys.enumerated() {
            let object = raw as? [String: Any]
            let idText = (object?["key_id"] as? String) ?? "?"
            if let id = object?["key_id"] as? String {
                guard seen.insert(id.lowercased()).inserted else { throw SealKeyringError.duplicateKey(id) }
            }
            switch Self.entry(object, format: format) {
            case .success(let entry): ring.entries.append(entry)
            case .failure(let reason): ring.ignored.append(Ignored(index: index, keyID: idText, reason: reason.field))
            }
        }
        self = ring
    }

    private struct EntryProblem: Error { var field: String }

    private static func entry(_ k: [String: Any]?, format: String) -> Result<Entry, EntryProblem> {
        func fail(_ f: String) -> Result<Entry, EntryProblem> { .failure(EntryProblem(field: f)) }
        guard let k else { return fail("not an object") }
        guard let id = k["key_id"] as? String else { return fail("key_id missing") }
        guard let algorithm = k["algorithm"] as? String else { return fail("algorithm missing") }
        guard algorithm == "ES256" else { return fail("algorithm \(algorithm) not supported") }
        guard let code = k["municipality_code"] as? String, MunicipalityCode.isValid(code) else {
            return fail("municipality_code")
        }
        guard let pk = k["public_key"] as? String, let der = Data(base64Encoded: pk),
              let key = try? ECDSAP256.PublicKey(spkiDER: Array(der)) else { return fail("public_key") }
        guard let nbText = k["not_before"] as? String, let naText = k["not_after"] as? String,
              let nb = LocalDate(iso: nbText), let na = LocalDate(iso: naText), nb <= na else {
            return fail("not_before/not_after")
        }
        var su: LocalDate?
        switch k["signing_until"] {
        case nil, is NSNull: break
        case let s as String:
            guard let d = LocalDate(iso: s) else { return fail("signing_until") }
            su = d
        default: return fail("signing_until")
        }
        var revocation: Revocation?
        switch k["revoked"] {
        case nil, is NSNull: break
        case let r as [String: Any]:
            guard let f = r["from"] as? String, let from = LocalDate(iso: f), let reason = r["reason"] as? String,
                  Revocation.reasons.contains(reason) else { return fail("revoked") }
            revocation = Revocation(from: from, reason: reason)
        default: return fail("revoked")
        }
        let entry = Entry(municipalityCode: code, publicKey: key, notBefore: nb, signingUntil: su, notAfter: na,
                          revocation: revocation)
        guard entry.keyIDHex == id.lowercased() else { return fail("key_id does not match public_key") }
        return .success(entry)
    }

    /// Loads the keyring file.
    public static func load(file: String) throws -> SealKeyring {
        guard let data = FileManager.default.contents(atPath: file) else { throw SealKeyringError.unreadable(file) }
        return try SealKeyring(json: Array(data))
    }

    /// Writes the keyring file (atomically; it is public, mode 0644).
    public func save(file: String) throws {
        let dir = (file as NSString).deletingLastPathComponent
        do {
            if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
            try Data(json()).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw SealKeyringError.cannotWrite(file)
        }
    }
}

/// The detached signature of the published keyring (`/verify/keys.json.sig`, `docs/seal.md` §5.3): ES256
/// (low-S, raw `r‖s`, standard base64) over the exact bytes of `/verify/keys.json`, by the key that signs
/// seals on the day of publication. A verifier that already trusts one key of the keyring (pinned from an
/// earlier download or from a paper certificate's seal) checks that a new keyring is signed by a key it
/// trusts before taking it, so a substituted keyring cannot slip in a key.
public struct KeyringSignature: Sendable, Equatable {
    public static let formatName = "kofu-seal-keyring-signature/1"
    public var keyID: [UInt8]
    public var signature: [UInt8]

    public init(keyID: [UInt8], signature: [UInt8]) { self.keyID = keyID; self.signature = signature }

    /// Signs `keyringJSON` with `signer`.
    public static func sign(_ keyringJSON: [UInt8], with signer: SealSigner) throws -> KeyringSignature {
        KeyringSignature(keyID: signer.keyID, signature: try signer.signature(for: keyringJSON))
    }

    /// The signature document's bytes.
    public func json() -> [UInt8] {
        let text = """
            {"algorithm":"ES256","format":"\(Self.formatName)","key_id":"\(Hex.encode(keyID))",\
            "signature":"\(Data(signature).base64EncodedString())"}\n
            """
        return Array(text.utf8)
    }

    /// Parses the signature document.
    public init(json: [UInt8]) throws {
        guard let o = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any],
              o["format"] as? String == Self.formatName, o["algorithm"] as? String == "ES256",
              let id = (o["key_id"] as? String).flatMap(Hex.decode), id.count == 8,
              let sig = (o["signature"] as? String).flatMap({ Data(base64Encoded: $0) }), sig.count == 64 else {
            throw SealKeyringError.invalid("keyring signature document")
        }
        self.init(keyID: id, signature: Array(sig))
    }

    /// Whether this signature over `keyringJSON` verifies with `key` (and is low-S).
    public func isValid(for keyringJSON: [UInt8], key: ECDSAP256.PublicKey) -> Bool {
        SealKeyring.keyID(of: key) == keyID && !LowS.isHigh(signature) && key.isValidSignature(signature, for: keyringJSON)
    }
}
