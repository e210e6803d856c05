@testable import KofuServer
import Testing

/// `JSONValue.parse` reads the common kiosk body in one pass of its own (`FastJSON`) and leaves everything
/// else to Foundation: for every input it must answer exactly what Foundation's `JSONDecoder` answers.
@Suite struct JSONValueTests {
    static let kioskBody = #"{"request_id":"B1700000000-0-123","card_serial":"0A1B2C3D4E5F6071","kind":"income_taxation","fiscal_year":2026,"copies":1,"terminal":{"store_chain":"7","store_id":"131041-0042","terminal_id":"K00"}}"#

    static let cases: [String] = [
        kioskBody, "{}", "[]", " {\"a\" : [ true , false , null ] } ", "\t\r\n[1]\n",
        "0", "-0", "7", "-7", "2026", "01", "-01", "00", "-", "+1", "1.", ".5", "1.5", "2026.0", "1e3", "1E3", "-1e-3",
        "9223372036854775807", "-9223372036854775808", "9223372036854775808", "-9223372036854775809",
        "12345678901234567890", "99999999999999999999", "1e400", "9007199254740993.0", "2.0000000000000001",
        "\"\"", "\"abc\"", "\"日本語\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\u00e9\\u65E5\"", "\"\\u0000\"", "\"\\ud800\"",
        "\"\\udc00\"", "\"\\ud83d\\ude00\"", "\"\\ud800\\u0041\"", "\"\\x\"", "\"\\u12\"", "\"\\u12g4\"", "\"a\u{01}b\"", "\"\t\"",
        "\"\u{7f}\"", "\"unterminated", "\"\\", "true", "false", "null", "tru", "nul", "truex", "[1,]", "[,]", "[1,,2]",
        "{\"a\":1,}", "{,}", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{a:1}", "{\"a\":1 \"b\":2}", "[1 2]", "1 2", "", " ",
        "{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"b\":[2]}}", "{\"e\u{301}\":1,\"\u{e9}\":2}", "{\"\\u0061\":1,\"a\":2}",
        "NaN", "Infinity", "-Infinity", "\u{FEFF}{}", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
        String(repeating: "[", count: 600) + String(repeating: "]", count: 600), "{\"request_id\":\"x\",\"copies\":1.0}",
    ]

    static let rawCases: [[UInt8]] = [
        [0x22, 0xFF, 0x22], [0x22, 0xC3, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0xEF, 0xBB, 0xBF, 0x7B, 0x7D], [0x00],
        [0xFF, 0xFE, 0x7B, 0x00, 0x7D, 0x00], [0x7B, 0x00, 0x7D, 0x00], [0x5B, 0x31, 0x5D, 0x00], [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22],
    ]

    @Test(arguments: cases)
    func sameAsFoundation(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(JSONValue.parse(bytes) == JSONValue.foundationParse(bytes), "\(text.debugDescription)")
    }

    @Test(arguments: rawCases)
    func sameAsFoundationForRawBytes(_ bytes: [UInt8]) {
        #expect(JSONValue.parse(bytes) == JSONValue.foundationParse(bytes), "\(bytes)")
    }

    /// The usual kiosk body is read by the fast path (not only by the fallback), with the right values.
    @Test func theKioskBodyTakesTheFastPath() {
        let value = FastJSON.parse(Array(Self.kioskBody.utf8))
        guard case .object(let o)? = value else { Issue.record("not read by FastJSON"); return }
        #expect(o["fiscal_year"] == .int(2026))
        #expect(o["card_serial"] == .string("0A1B2C3D4E5F6071"))
        #expect(o["terminal"] == .object(["store_chain": .string("7"), "store_id": .string("131041-0042"), "terminal_id": .string("K00")]))
        #expect(value == JSONValue.foundationParse(Array(Self.kioskBody.utf8)))
    }

    /// Thousands of bodies made from JSON fragments and from the kiosk body with bytes dropped, doubled or
    /// changed: each read the same as Foundation reads it. Seeded, so a failure repeats.
    @Test func sameAsFoundationOnGeneratedBodies() {
        var rng = SplitMix64(seed: 0x4B6F6675)
        let fragments = ["{", "}", "[", "]", ",", ":", " ", "\"k\"", "\"a\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\n\"", "0", "-1",
                         "12", "1.5", "2e2", "9223372036854775807", "true", "false", "null", "\"日本\"", "\"\\\"\"", "\t"]
        let kiosk = Array(Self.kioskBody.utf8)
        let specials: [UInt8] = [0x22, 0x5C, 0x7B, 0x7D, 0x5B, 0x5D, 0x2C, 0x3A, 0x2D, 0x2E, 0x65, 0x30, 0x00, 0x1F, 0x80, 0xC3, 0xFF, 0x75]
        var fastHits = 0
        for round in 0..<4000 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = []
                for _ in 0..<(1 + Int(rng.next() % 12)) { bytes += fragments[Int(rng.next() % UInt64(fragments.count))].utf8 }
            } else {
                bytes = kiosk
                for _ in 0..<(1 + Int(rng.next() % 3)) {
                    let at = Int(rng.next() % UInt64(bytes.count))
                    switch rng.next() % 3 {
                    case 0: bytes.remove(at: at)
                    case 1: bytes.insert(bytes[at], at: at)
                    default: bytes[at] = specials[Int(rng.next() % UInt64(specials.count))]
                    }
                }
            }
            if FastJSON.parse(bytes) != nil { fastHits += 1 }
            #expect(JSONValue.parse(bytes) == JSONValue.foundationParse(bytes), "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
        }
        #expect(fastHits > 100, "the fast path read \(fastHits) of the generated bodies")
    }
}

/// A small seeded generator (SplitMix64), so generated cases are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

/// The duplicate-key scan names the repeated key with its path, however deep (its paths are built lazily).
@Suite struct JSONDuplicateKeysTests {
    @Test(arguments: [
        (#"{"a":1,"b":2}"#, nil), (#"{"a":1,"a":2}"#, "a"), (#"{"a":{"b":1,"b":2}}"#, "a.b"),
        (#"{"a":[1,{"b":1,"c":[{},{"d":1,"d":2}]}]}"#, "a[1].c[1].d"), (#"[{"x":1},{"x":1,"x":2}]"#, "[1].x"),
        (#"{"t":{"store_id":"1","store\u005fid":"2"}}"#, "t.store_id"), (#"{"é":1,"e\u0301":2}"#, "e\u{301}"),
        (#"{"a":"x\"y","a\"":1,"b":2}"#, nil), (#"{"a" : { "b" : 1 } , "a" : 2}"#, "a"), ("not json", nil),
    ] as [(String, String?)])
    func namesTheKeyWithItsPath(_ body: String, _ expected: String?) {
        #expect(JSONDuplicateKeys.first(in: Array(body.utf8)) == expected, "\(body)")
    }
}
