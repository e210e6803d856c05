import Foundation

/// Any JSON value, for validating request bodies field by field with precise messages.
public enum JSONValue: Sendable, Hashable, Decodable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let i = try? c.decode(Int.self) { self = .int(i) }
        else if let d = try? c.decode(Double.self) { self = .double(d) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// Parses a body; nil when it is not JSON.
    ///
    /// Every kiosk request is parsed here, so the usual body (ASCII keys, short strings, small integers) is
    /// read by `FastJSON` in one pass; anything it does not take on (fractions and exponents, surrogate
    /// escapes, byte-order marks, malformed text …) goes to Foundation's decoder, which decides as before.
    /// Foundation alone cost ≈ 30 µs per kiosk request: `init(from:)` tries each type in turn, and every
    /// miss throws a `DecodingError` with its message.
    public static func parse(_ bytes: [UInt8]) -> JSONValue? {
        if let value = FastJSON.parse(bytes) { return value }
        return foundationParse(bytes)
    }

    /// The reference reading (Foundation's `JSONDecoder`); `parse` gives the same answer for every input.
    static func foundationParse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    public var isNull: Bool { self == .null }
}

/// A strict reader for the common subset of JSON, giving exactly what `JSONDecoder` gives for it: it answers
/// nil ("not mine") for anything outside the subset, never "invalid", so the caller falls back to Foundation.
///
/// The subset: UTF-8 text without a byte-order mark; integers without fraction or exponent that fit `Int`;
/// strings with the escapes `\" \\ \/ \b \f \n \r \t` and `\uXXXX` outside the surrogate range; `true`,
/// `false`, `null`; arrays and objects nested at most `maxDepth` deep, without trailing commas (Foundation
/// accepts them; they stay its call). Where a key repeats, the first value is kept, as Foundation does.
enum FastJSON {
    static let maxDepth = 32

    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = Reader(bytes: buffer)
            guard let value = reader.value(depth: 0) else { return nil }
            reader.skipSpace()
            return reader.i == buffer.count ? value : nil
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count {
                switch bytes[i] {
                case 0x20, 0x0A, 0x0D, 0x09: i += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) -> JSONValue? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"): return depth < FastJSON.maxDepth ? object(depth: depth + 1) : nil
            case UInt8(ascii: "["): return depth < FastJSON.maxDepth ? array(depth: depth + 1) : nil
            case UInt8(ascii: "\""): return string().map(JSONValue.string)
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return integer()
            default: return nil
            }
        }

        mutating func literal(_ word: StaticString, _ value: JSONValue) -> JSONValue? {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return nil }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return nil }
            i += n
            return value
        }

        /// `-?(0|[1-9][0-9]*)` within `Int`; a fraction, an exponent or a larger number is left to Foundation.
        mutating func integer() -> JSONValue? {
            let negative = bytes[i] == UInt8(ascii: "-")
            if negative { i += 1 }
            let start = i
            var magnitude: UInt64 = 0
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") {
                // 19 digits always fit in UInt64; more are beyond Int anyway.
                guard i - start < 19 else { return nil }
                magnitude = magnitude * 10 + UInt64(bytes[i] - UInt8(ascii: "0"))
                i += 1
            }
            let digits = i - start
            guard digits > 0, !(digits > 1 && bytes[start] == UInt8(ascii: "0")) else { return nil }
            if i < bytes.count, bytes[i] == UInt8(ascii: ".") || bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
                return nil
            }
            if negative {
                guard magnitude <= UInt64(Int.max) + 1 else { return nil }
                return .int(magnitude == UInt64(Int.max) + 1 ? Int.min : -Int(magnitude))
            }
            guard magnitude <= UInt64(Int.max) else { return nil }
            return .int(Int(magnitude))
        }

        /// A string at `i` (the opening quote), unescaped; nil for raw control characters, invalid UTF-8,
        /// unknown escapes and surrogate escapes.
        mutating func string() -> String? {
            i += 1
            let start = i
            // The common case: no escape, the bytes are the string.
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
                    i += 1
                    return String(validating: raw, as: UTF8.self)
                }
                if b == UInt8(ascii: "\\") { break }
                if b < 0x20 { return nil }
                i += 1
            }
            guard i < bytes.count else { return nil }
            var out: [UInt8] = Array(UnsafeBufferPointer(rebasing: bytes[start..<i]))
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return String(validating: out, as: UTF8.self)
                }
                if b < 0x20 { return nil }
                guard b == UInt8(ascii: "\\") else { out.append(b); i += 1; continue }
                guard i + 1 < bytes.count else { return nil }
                let e = bytes[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard let code = hex4(), !(0xD800...0xDFFF).contains(code), let scalar = Unicode.Scalar(code) else { return nil }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                default: return nil
                }
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for k in 0..<4 {
                let c = bytes[i + k]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }

        mutating func array(depth: Int) -> JSONValue? {
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                guard let item = value(depth: depth) else { return nil }
                items.append(item)
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                return nil
            }
        }

        mutating func object(depth: Int) -> JSONValue? {
            i += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\""), let key = string() else { return nil }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                i += 1
                guard let member = value(depth: depth) else { return nil }
                if members[key] == nil { members[key] = member }
                skipSpace()
                guard i < bytes.count else { return nil }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                return nil
            }
        }
    }
}
