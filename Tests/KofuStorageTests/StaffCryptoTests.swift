import KofuCrypto
import Testing

@Suite("Staff crypto: scrypt and HMAC known answers")
struct StaffCryptoTests {
    @Test("scrypt matches RFC 7914 test vector 2")
    func scryptVector() throws {
        let out = try Scrypt.derive(password: Array("password".utf8), salt: Array("NaCl".utf8),
                                    parameters: .init(logN: 10, r: 8, p: 16), length: 64)
        #expect(Hex.encode(out) == "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640")
    }

    @Test("password hashes are salted and self-describing; malformed ones are rejected")
    func passwordHash() throws {
        let a = try Scrypt.hashPassword("same password", parameters: .testing)
        let b = try Scrypt.hashPassword("same password", parameters: .testing)
        #expect(a != b)
        #expect(try Scrypt.verifyPassword("same password", against: b))
        #expect(try !Scrypt.verifyPassword("same passwore", against: b))
        #expect(throws: Scrypt.Error.malformedHash) { try Scrypt.verifyPassword("x", against: "bcrypt$…") }
        #expect(try Scrypt.verifyPassword("", against: try Scrypt.hashPassword("", parameters: .testing)))
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmacVector() {
        let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(Hex.encode(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(HMACSHA256.verify(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8), tag: mac))
        #expect(!HMACSHA256.verify(key: Array("Jeff".utf8), message: Array("what do ya want for nothing?".utf8), tag: mac))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
    }
}
