/// Finds an object key that occurs twice in one JSON object. Foundation's decoder silently keeps one of
/// them (Kofu saw the first, most other parsers the last), so a request could mean one thing to a proxy or
/// log reader and another to Kofu; such a request is refused instead. Keys are compared after unescaping
/// (`"a\u0062"` is `"ab"`). Text that is not JSON is left for the real decoder to reject.
enum JSONDuplicateKeys {
    /// The first duplicated key and its path (`terminal.store_id`), or nil.
    static func first(in bytes: [UInt8]) -> String? {
        var scanner = Scanner(bytes: bytes)
        return try? scanner.value(path: "")
    }

    private struct NotJSON: Error {}

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0
        var depth = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
        }

        /// Scans one value; returns a duplicate key path found inside it.
        mutating func value(path: String) throws -> String? {
            skipSpace()
            guard i < bytes.count else { throw NotJSON() }
            switch bytes[i] {
            case UInt8(ascii: "{"): return try object(path: path)
            case UInt8(ascii: "["): return try array(path: path)
            case UInt8(ascii: "\""): _ = try string(); return nil
            default:
                // Numbers, true, false, null: skip to the next structural character.
                while i < bytes.count, !",]} \n\r\t".utf8.contains(bytes[i]) { i += 1 }
                return nil
            }
        }

        mutating func object(path: String) throws -> String? {
            depth += 1
            guard depth < 64 else { throw NotJSON() }
            defer { depth -= 1 }
            i += 1
            var keys = Set<String>()
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return nil }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw NotJSON() }
                let key = try string()
                // The path is only built when it is reported or handed down: every request passes here.
                if !keys.insert(key).inserted { return path.isEmpty ? key : "\(path).\(key)" }
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw NotJSON() }
                i += 1
                if let dup = try value(path: opensContainer() ? (path.isEmpty ? key : "\(path).\(key)") : "") { return dup }
                skipSpace()
                guard i < bytes.count else { throw NotJSON() }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return nil }
                throw NotJSON()
            }
        }

        mutating func array(path: String) throws -> String? {
            depth += 1
            guard depth < 64 else { throw NotJSON() }
            defer { depth -= 1 }
            i += 1
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return nil }
            var index = 0
            while true {
                if let dup = try value(path: opensContainer() ? "\(path)[\(index)]" : "") { return dup }
                index += 1
                skipSpace()
                guard i < bytes.count else { throw NotJSON() }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return nil }
                throw NotJSON()
            }
        }

        /// Whether the next value (after white space) is an object or an array, the only values whose path
        /// can be reported.
        mutating func opensContainer() -> Bool {
            skipSpace()
            return i < bytes.count && (bytes[i] == UInt8(ascii: "{") || bytes[i] == UInt8(ascii: "["))
        }

        /// A string starting at `i` (the opening quote), unescaped.
        mutating func string() throws -> String {
            i += 1
            // Most strings have no escape: their bytes are the string.
            var end = i
            while end < bytes.count, bytes[end] != UInt8(ascii: "\""), bytes[end] != UInt8(ascii: "\\") { end += 1 }
            if end < bytes.count, bytes[end] == UInt8(ascii: "\"") {
                let text = String(decoding: bytes[i..<end], as: UTF8.self)
                i = end + 1
                return text
            }
            var scalars = String.UnicodeScalarView()
            var raw: [UInt8] = []
            func flush() { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars); raw.removeAll() }
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") { i += 1; flush(); return String(scalars) }
                if b == UInt8(ascii: "\\") {
                    guard i + 1 < bytes.count else { throw NotJSON() }
                    flush()
                    let e = bytes[i + 1]
                    i += 2
                    switch e {
                    case UInt8(ascii: "u"):
                        var code = try hex4()
                        if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                            i += 2
                            let low = try hex4()
                            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        }
                        scalars.append(Unicode.Scalar(code) ?? "\u{FFFD}")
                    case UInt8(ascii: "n"): scalars.append("\n")
                    case UInt8(ascii: "t"): scalars.append("\t")
                    case UInt8(ascii: "r"): scalars.append("\r")
                    case UInt8(ascii: "b"): scalars.append("\u{08}")
                    case UInt8(ascii: "f"): scalars.append("\u{0C}")
                    default: scalars.append(Unicode.Scalar(e))
                    }
                    continue
                }
                raw.append(b)
                i += 1
            }
            throw NotJSON()
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16) else { throw NotJSON() }
            i += 4
            return v
        }
    }
}
