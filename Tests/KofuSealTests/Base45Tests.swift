import Testing
@testable import KofuSeal

@Suite struct Base45Tests {
    /// RFC 9285 §4.3 and §4.4 examples.
    @Test(arguments: [
        ("AB", "BB8"),
        ("Hello!!", "%69 VD92EX0"),
        ("base-45", "UJCLQE7W581"),
        ("ietf!", "QED8WEX0"),
        ("", ""),
    ])
    func rfc9285Examples(plain: String, encoded: String) throws {
        #expect(Base45.encode(Array(plain.utf8)) == encoded)
        #expect(try Base45.decode(encoded) == Array(plain.utf8))
    }

    @Test func roundTripsEveryByteValueAndLength() throws {
        for length in 0..<70 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 255 - length) }
            #expect(try Base45.decode(Base45.encode(bytes)) == bytes)
        }
        let all = (0...255).map(UInt8.init) + [0xFF, 0xFF]
        #expect(try Base45.decode(Base45.encode(all)) == all)
        #expect(Base45.encode([0xFF, 0xFF]) == "FGW")
    }

    @Test func rejectsWhatRFC9285Forbids() {
        // RFC 9285 §6: "GGW" is 65535 + 1 + 45 … > 0xFFFF, a lone trailing character, lower case.
        #expect(throws: Base45.DecodingError.valueOutOfRange) { try Base45.decode("GGW") }
        #expect(throws: Base45.DecodingError.valueOutOfRange) { try Base45.decode(":6") }
        #expect(throws: Base45.DecodingError.invalidLength) { try Base45.decode("BB8B") }
        #expect(throws: Base45.DecodingError.invalidCharacter) { try Base45.decode("bb8") }
        #expect(throws: Base45.DecodingError.invalidCharacter) { try Base45.decode("BB\n") }
    }

    @Test func alphabetIsTheQRAlphanumericSet() {
        #expect(Base45.alphabet.count == 45)
        #expect(String(decoding: Base45.alphabet, as: UTF8.self) == "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    }
}
