import Foundation
import KofuCrypto
import KofuDomain
import Testing
@testable import KofuSeal

@Suite struct SealKeyFileTests {
    @Test func signerRefusesAGroupOrWorldReadableKeyFile() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let key = try ECDSAP256.PrivateKey.generate()
        let path = dir.file("keys/seal-private.pem")
        try SealKeyFile.write(key, to: path, replace: false)
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)

        let signer = try SealSigner(privateKeyPEMFile: path)
        #expect(signer.keyID == SealKeyring.keyID(of: key.publicKey))

        for mode in [0o644, 0o640, 0o604, 0o660] {
            chmod(path, mode_t(mode))
            #expect(throws: SealKeyError.insecureKeyFilePermissions(path: path, mode: String(mode, radix: 8))) {
                try SealSigner(privateKeyPEMFile: path)
            }
        }
        chmod(path, 0o400)
        #expect(try SealSigner(privateKeyPEMFile: path).keyID == signer.keyID)
        #expect(throws: SealKeyError.keyFileExists(path)) { try SealKeyFile.write(key, to: path, replace: false) }
        #expect(throws: SealKeyError.unreadableKeyFile(dir.file("missing.pem"))) {
            try SealSigner(privateKeyPEMFile: dir.file("missing.pem"))
        }
    }

    @Test func replacingAKeyFileKeepsItPrivate() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("seal.pem")
        try SealKeyFile.write(try ECDSAP256.PrivateKey.generate(), to: path, replace: false)
        let second = try ECDSAP256.PrivateKey.generate()
        try SealKeyFile.write(second, to: path, replace: true)
        #expect(try SealSigner(privateKeyPEMFile: path).keyID == SealKeyring.keyID(of: second.publicKey))
        #expect(!FileManager.default.fileExists(atPath: path + ".new"))
    }

    @Test func notAPrivateKey() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("junk.pem")
        #expect(FileManager.default.createFile(atPath: path, contents: Data("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".utf8),
                                       attributes: [.posixPermissions: 0o600]))
        #expect(throws: SealKeyError.invalidPrivateKey(path)) { try SealSigner(privateKeyPEMFile: path) }
    }

    @Test func keyringJSONRoundTripsAndHoldsNoPrivateMaterial() throws {
        let a = try SealTestKeys(signingUntil: LocalDate(year: 2026, month: 11, day: 22)!)
        let b = try SealTestKeys(notBefore: LocalDate(year: 2026, month: 11, day: 22)!)
        var ring = a.keyring
        try ring.add(b.entry)
        let json = ring.json()
        #expect(try SealKeyring(json: json) == ring)
        let text = String(decoding: json, as: UTF8.self)
        #expect(text.contains("\"format\" : \"kofu-seal-keyring/2\""))
        #expect(text.contains("\"key_id\" : \"\(a.entry.keyIDHex)\""))
        #expect(text.contains("\"signing_until\" : null"))
        #expect(!text.contains("PRIVATE"))
        let pem = try a.privateKey.pemRepresentation()
        let secretLine = pem.split(separator: "\n")[1]
        #expect(!text.contains(secretLine))

        let dir = try TempDir()
        defer { dir.cleanup() }
        try ring.save(file: dir.file("k/keyring.json"))
        #expect(try SealKeyring.load(file: dir.file("k/keyring.json")) == ring)
    }

    @Test func keyringIgnoresAKeyIDThatIsNotItsKeysDigest() throws {
        let a = try SealTestKeys()
        let b = try SealTestKeys()
        var text = String(decoding: a.keyring.json(), as: UTF8.self)
        text = text.replacingOccurrences(of: a.entry.keyIDHex, with: b.entry.keyIDHex)
        let ring = try SealKeyring(json: Array(text.utf8))
        #expect(ring.entries.isEmpty && ring.ignored.map(\.reason) == ["key_id does not match public_key"])
        #expect(throws: SealKeyringError.invalid("not a keyring JSON document (expected an object)")) { try SealKeyring(json: Array("[]".utf8)) }
    }
}
