import Testing
@testable import KofuCrypto

@Suite struct CryptoBasicsTests {
    @Test func sha256KnownAnswer() {
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let h = SHA256.Hasher()
        h.update(Array("a".utf8)); h.update(Array("bc".utf8))
        #expect(Hex.encode(h.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func aesGCMRoundTripAndTamper() throws {
        let k = AES256GCM.randomKey()
        let msg = Array("証明書のPDF".utf8)
        var sealed = k.seal(msg, aad: [1, 2])
        #expect(try k.open(sealed, aad: [1, 2]) == msg)
        #expect(throws: AES256GCM.Error.authenticationFailed) { try k.open(sealed, aad: [1, 3]) }
        sealed[14] ^= 1
        #expect(throws: AES256GCM.Error.authenticationFailed) { try k.open(sealed, aad: [1, 2]) }
        #expect(throws: AES256GCM.Error.authenticationFailed) { try AES256GCM.randomKey().open(k.seal(msg)) }
    }

    @Test func hexRoundTrip() {
        #expect(Hex.decode("00ffA0") == [0, 255, 160])
        #expect(Hex.decode("0") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
