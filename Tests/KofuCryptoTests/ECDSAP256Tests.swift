import Foundation
import Testing
@testable import KofuCrypto

@Suite struct ECDSAP256Tests {
    @Test func signAndVerifyRawSignatures() throws {
        let key = try ECDSAP256.PrivateKey.generate()
        let message = Array("KF1 payload".utf8)
        let sig = try key.signature(for: message)
        #expect(sig.count == 64)
        #expect(key.publicKey.isValidSignature(sig, for: message))
        #expect(!key.publicKey.isValidSignature(sig, for: message + [0]))
        var bad = sig
        bad[63] ^= 1
        #expect(!key.publicKey.isValidSignature(bad, for: message))
        #expect(!key.publicKey.isValidSignature(Array(sig.dropLast()), for: message))
        #expect(!key.publicKey.isValidSignature([UInt8](repeating: 0, count: 64), for: message))
        #expect(!key.publicKey.isValidSignature([UInt8](repeating: 0xFF, count: 64), for: message))
        #expect(try !ECDSAP256.PrivateKey.generate().publicKey.isValidSignature(sig, for: message))
        // ECDSA is randomised: two signatures differ, both verify.
        let sig2 = try key.signature(for: message)
        #expect(sig2 != sig)
        #expect(key.publicKey.isValidSignature(sig2, for: message))
    }

    @Test func pemAndSPKIRoundTrip() throws {
        let key = try ECDSAP256.PrivateKey.generate()
        let pem = try key.pemRepresentation()
        #expect(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
        let loaded = try ECDSAP256.PrivateKey(pem: pem)
        #expect(loaded.publicKey == key.publicKey)
        let spki = key.publicKey.spkiDER
        #expect(spki.count == 91)
        // SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 04‖X‖Y }
        #expect(Array(spki.prefix(27)) == [
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01,
            0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00, 0x04,
        ])
        let pub = try ECDSAP256.PublicKey(spkiDER: spki)
        #expect(pub.isValidSignature(try loaded.signature(for: [1, 2, 3]), for: [1, 2, 3]))
        #expect(throws: ECDSAP256.Error.invalidPublicKeyDER) { try ECDSAP256.PublicKey(spkiDER: Array(spki.dropLast())) }
        #expect(throws: ECDSAP256.Error.invalidPublicKeyDER) { try ECDSAP256.PublicKey(spkiDER: spki + [0]) }
        #expect(throws: ECDSAP256.Error.invalidPrivateKeyPEM) { try ECDSAP256.PrivateKey(pem: "not a key") }
    }

    /// Interoperability with the openssl command line: a key it made loads, and a signature we make
    /// (converted to DER) verifies with `openssl pkeyutl`/`dgst`.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")))
    func interoperatesWithOpenSSLCommandLine() throws {
        let dir = NSTemporaryDirectory() + "kofu-ecdsa-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        func openssl(_ args: [String]) throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        #expect(try openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", dir + "/k.pem"]) == 0)
        let key = try ECDSAP256.PrivateKey(pem: String(contentsOfFile: dir + "/k.pem", encoding: .utf8))
        #expect(try openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", dir + "/k384.pem"]) == 0)
        #expect(throws: ECDSAP256.Error.notP256) {
            try ECDSAP256.PrivateKey(pem: String(contentsOfFile: dir + "/k384.pem", encoding: .utf8))
        }

        let message = Array("証明書".utf8)
        let raw = try key.signature(for: message)
        try Data(message).write(to: URL(fileURLWithPath: dir + "/m"))
        try Data(derSignature(raw)).write(to: URL(fileURLWithPath: dir + "/sig"))
        try Data(key.publicKey.spkiDER).write(to: URL(fileURLWithPath: dir + "/pub.der"))
        #expect(try openssl(["dgst", "-sha256", "-verify", dir + "/pub.der", "-keyform", "DER",
                             "-signature", dir + "/sig", dir + "/m"]) == 0)
        try Data(message + [0]).write(to: URL(fileURLWithPath: dir + "/m"))
        #expect(try openssl(["dgst", "-sha256", "-verify", dir + "/pub.der", "-keyform", "DER",
                             "-signature", dir + "/sig", dir + "/m"]) != 0)
    }

    /// raw r‖s → DER `SEQUENCE { INTEGER r, INTEGER s }`, as an independent verifier would convert it.
    func derSignature(_ raw: [UInt8]) -> [UInt8] {
        func integer(_ b: ArraySlice<UInt8>) -> [UInt8] {
            var v = Array(b.drop { $0 == 0 })
            if v.isEmpty || v[0] & 0x80 != 0 { v.insert(0, at: 0) }
            return [0x02, UInt8(v.count)] + v
        }
        let body = integer(raw[0..<32]) + integer(raw[32..<64])
        return [0x30, UInt8(body.count)] + body
    }
}
