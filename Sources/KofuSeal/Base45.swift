/// Base45 (RFC 9285): bytes as characters of the QR alphanumeric set, so a QR code can use its
/// alphanumeric mode (5.5 bits a character) instead of byte mode (8 bits).
///
/// Every two bytes `[a, b]` become the value `n = a·256 + b`, written as three characters
/// `c, d, e` with `n = c + d·45 + e·45²`; a final single byte `a` becomes two characters
/// `c, d` with `a = c + d·45`.
public enum Base45 {
    /// `0-9A-Z $%*+-./:` in value order 0…44.
    public static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:".utf8)

    private static let values: [Int8] = {
        var t = [Int8](repeating: -1, count: 256)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = Int8(i) }
        return t
    }()

    /// Why a text is not Base45.
    public enum DecodingError: Error, Equatable {
        /// A character outside the 45-character alphabet.
        case invalidCharacter
        /// The length leaves one character over (lengths must be 0 or 2 mod 3).
        case invalidLength
        /// A group's value exceeds 65535 (three characters) or 255 (two).
        case valueOutOfRange
    }

    /// Encodes `bytes`.
    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count / 2) * 3 + 2)
        var i = 0
        while i + 1 < bytes.count {
            var n = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            out.append(alphabet[n % 45]); n /= 45
            out.append(alphabet[n % 45]); n /= 45
            out.append(alphabet[n])
            i += 2
        }
        if i < bytes.count {
            let n = Int(bytes[i])
            out.append(alphabet[n % 45])
            out.append(alphabet[n / 45])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes Base45 text, rejecting anything RFC 9285 §4 does not allow.
    public static func decode(_ text: some StringProtocol) throws(DecodingError) -> [UInt8] {
        let u = Array(text.utf8)
        guard u.count % 3 != 1 else { throw .invalidLength }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 3 * 2 + 1)
        var i = 0
        func v(_ c: UInt8) throws(DecodingError) -> Int {
            let x = values[Int(c)]
            guard x >= 0 else { throw .invalidCharacter }
            return Int(x)
        }
        while i + 2 < u.count {
            let n = try v(u[i]) + 45 * (try v(u[i + 1])) + 2025 * (try v(u[i + 2]))
            guard n <= 0xFFFF else { throw .valueOutOfRange }
            out.append(UInt8(n >> 8)); out.append(UInt8(n & 0xFF))
            i += 3
        }
        if i < u.count {
            let n = try v(u[i]) + 45 * (try v(u[i + 1]))
            guard n <= 0xFF else { throw .valueOutOfRange }
            out.append(UInt8(n))
        }
        return out
    }
}
