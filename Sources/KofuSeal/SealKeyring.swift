import Foundation
import KofuCrypto
import KofuDomain

/// Errors reading or changing a keyring.
public enum SealKeyringError: Error, Equatable, Sendable {
    /// The file cannot be read.
    case unreadable(String)
    /// The JSON does not have the keyring's shape (the field at fault is named).
    case invalid(String)
    /// An entry's `key_id` is not the first 8 bytes of SHA-256 of its `public_key`.
    case keyIDMismatch(String)
    /// Two entries have the same key id.
    case duplicateKey(String)
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

        public init(municipalityCode: String, publicKey: ECDSAP256.PublicKey, notBefore: LocalDate,
                    signingUntil: LocalDate?, notAfter: LocalDate) {
            self.keyID = SealKeyring.keyID(of: publicKey)
            self.municipalityCode = municipalityCode; self.publicKey = publicKey
            self.notBefore = notBefore; self.signingUntil = signingUntil; self.notAfter = notAfter
        }

        /// The last day a seal may carry as its issue date under this key.
        public var lastSigningDay: LocalDate { signingUntil.map { min($0, notAfter) } ?? notAfter }

        /// Hex key id, as used in the JSON and in `kofu keys list`.
        public var keyIDHex: String { Hex.encode(keyID) }
    }

    public var entries: [Entry]

    public init(entries: [Entry] = []) { self.entries = entries }

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

    private struct FileForm: Codable {
        var format: String
        var keys: [KeyForm]
    }

    private struct KeyForm: Codable {
        var key_id: String
        var algorithm: String
        var municipality_code: String
        var public_key: String
        var not_before: String
        var signing_until: String?
        var not_after: String

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(key_id, forKey: .key_id)
            try c.encode(algorithm, forKey: .algorithm)
            try c.encode(municipality_code, forKey: .municipality_code)
            try c.encode(public_key, forKey: .public_key)
            try c.encode(not_before, forKey: .not_before)
            try c.encode(signing_until, forKey: .signing_until)
            try c.encode(not_after, forKey: .not_after)
        }
    }

    /// The `format` value of the JSON document.
    public static let formatName = "kofu-seal-keyring/1"

    /// The publishable JSON (public keys and dates only; it never contains private material).
    public func json() -> [UInt8] {
        let form = FileForm(format: Self.formatName, keys: entries.map {
            KeyForm(key_id: $0.keyIDHex, algorithm: "ES256", municipality_code: $0.municipalityCode,
                    public_key: Data($0.publicKey.spkiDER).base64EncodedString(), not_before: $0.notBefore.iso,
                    signing_until: $0.signingUntil?.iso, not_after: $0.notAfter.iso)
        })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings into JSON cannot fail.
        return Array(try! encoder.encode(form)) + [0x0A]
    }

    /// Parses keyring JSON, checking every key id against its public key.
    public init(json: [UInt8]) throws {
        let form: FileForm
        do { form = try JSONDecoder().decode(FileForm.self, from: Data(json)) } catch {
            throw SealKeyringError.invalid("not a keyring JSON document")
        }
        guard form.format == Self.formatName else { throw SealKeyringError.invalid("format") }
        var ring = SealKeyring()
        for k in form.keys {
            guard k.algorithm == "ES256" else { throw SealKeyringError.invalid("algorithm of \(k.key_id)") }
            guard MunicipalityCode.isValid(k.municipality_code) else {
                throw SealKeyringError.invalid("municipality_code of \(k.key_id)")
            }
            guard let der = Data(base64Encoded: k.public_key), let key = try? ECDSAP256.PublicKey(spkiDER: Array(der)) else {
                throw SealKeyringError.invalid("public_key of \(k.key_id)")
            }
            guard let nb = LocalDate(iso: k.not_before), let na = LocalDate(iso: k.not_after), nb <= na else {
                throw SealKeyringError.invalid("not_before/not_after of \(k.key_id)")
            }
            var su: LocalDate?
            if let s = k.signing_until {
                guard let d = LocalDate(iso: s) else { throw SealKeyringError.invalid("signing_until of \(k.key_id)") }
                su = d
            }
            let entry = Entry(municipalityCode: k.municipality_code, publicKey: key, notBefore: nb, signingUntil: su, notAfter: na)
            guard entry.keyIDHex == k.key_id.lowercased() else { throw SealKeyringError.keyIDMismatch(k.key_id) }
            try ring.add(entry)
        }
        self = ring
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
