import Foundation

/// Where the seal keys live and how long they are valid (section `seal`).
public struct SealSettings: Sendable, Equatable {
    /// `seal.private_key` (`KOFU_SEAL_PRIVATE_KEY`): the PEM private key, mode 0600.
    /// Default `<data.dir>/keys/seal-private.pem`.
    public var privateKeyFile: String
    /// `seal.keyring` (`KOFU_SEAL_KEYRING`): the published public keys (JSON).
    /// Default `<data.dir>/keys/keyring.json`.
    public var keyringFile: String
    /// `seal.signing_years` (default 2): how long a new key is planned to sign before rotation.
    public var signingYears: Int
    /// `seal.verify_grace_years` (default 10): how long after its planned signing end a key's
    /// seals keep verifying. Certificates are shown for years (a loan, a lease), so this is long.
    public var verifyGraceYears: Int
    /// `seal.verify_url` (`KOFU_SEAL_VERIFY_URL`): the public verification page, printed beside the QR as the
    /// trust anchor (`Municipality.verifyURL`); the signed keyring is at `<verify_url>/keys.json`. Empty: not printed.
    public var verifyURL: String

    public init(privateKeyFile: String, keyringFile: String, signingYears: Int, verifyGraceYears: Int, verifyURL: String = "") {
        self.privateKeyFile = privateKeyFile; self.keyringFile = keyringFile
        self.signingYears = signingYears; self.verifyGraceYears = verifyGraceYears; self.verifyURL = verifyURL
    }
}

extension KofuConfiguration {
    /// The `seal` section, with defaults under the data directory.
    public func sealSettings() throws -> SealSettings {
        let keys = (dataDir as NSString).appendingPathComponent("keys")
        return SealSettings(
            privateKeyFile: values.string("seal.private_key", default: (keys as NSString).appendingPathComponent("seal-private.pem")),
            keyringFile: values.string("seal.keyring", default: (keys as NSString).appendingPathComponent("keyring.json")),
            signingYears: try values.int("seal.signing_years", default: 2, range: 1...10),
            verifyGraceYears: try values.int("seal.verify_grace_years", default: 10, range: 0...50),
            verifyURL: values.string("seal.verify_url", default: ""))
    }
}
