import Foundation
import Yams

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

    /// The number of table rows a page of `templateFile` holds, or nil when the template has no table (one
    /// page). The same formula as the renderer's `TableElement.rowsPerPage`; the issuance checks the rendered
    /// page count against the one signed, so a divergence stops the issuance rather than printing a wrong seal.
    public static func tableRowsPerPage(templateFile: String) throws -> Int? {
        guard let data = FileManager.default.contents(atPath: templateFile) else {
            throw SealSettingsError.unreadableTemplate(templateFile)
        }
        let node = try? Yams.load(yaml: String(decoding: data, as: UTF8.self))
        guard let top = node as? [String: Any] else { throw SealSettingsError.unreadableTemplate(templateFile) }
        guard let table = top["table"] as? [String: Any] else { return nil }
        func number(_ key: String) throws -> Double {
            switch table[key] {
            case let v as Double: return v
            case let v as Int: return Double(v)
            default: throw SealSettingsError.unreadableTemplate(templateFile + ": table." + key)
            }
        }
        let y = try number("y"), bottom = try number("bottom")
        let headerHeight = try number("header_height"), rowHeight = try number("row_height")
        return max(1, Int(((bottom - y - headerHeight) / rowHeight).rounded(.down)))
    }
}

/// Why the seal's view of a template could not be read.
public enum SealSettingsError: Error, Equatable, CustomStringConvertible {
    case unreadableTemplate(String)
    public var description: String {
        switch self {
        case .unreadableTemplate(let what): "cannot read the table geometry of \(what)"
        }
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
