import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal

/// Making a new signing key and publishing it: what `kofu keys generate | rotate` do, and what a test or
/// benchmark installation needs before `KofuServices.open`.
public enum SealKeyInstall {
    /// Makes a key, publishes it in the keyring valid from `validFrom` (retiring the municipality's other
    /// active keys that day), then writes the private key (mode 0600). The keyring is written first so that
    /// a crash in between never leaves a signing key whose public half is unpublished.
    public static func install(settings: SealSettings, municipality: String, validFrom: LocalDate,
                               replace: Bool) throws -> SealKeyring.Entry {
        var ring = FileManager.default.fileExists(atPath: settings.keyringFile)
            ? try SealKeyring.load(file: settings.keyringFile) : SealKeyring()
        let key = try ECDSAP256.PrivateKey.generate()
        let endYear = validFrom.year + settings.signingYears + settings.verifyGraceYears
        let entry = SealKeyring.Entry(
            municipalityCode: municipality, publicKey: key.publicKey, notBefore: validFrom, signingUntil: nil,
            notAfter: LocalDate(year: endYear, month: validFrom.month, day: validFrom.day)
                ?? LocalDate(year: endYear, month: validFrom.month, day: 28)!)
        try ring.add(entry)
        ring.retireAll(except: entry.keyID, municipalityCode: municipality, on: validFrom)
        try FileManager.default.createDirectory(atPath: (settings.keyringFile as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try ring.save(file: settings.keyringFile)
        try SealKeyFile.write(key, to: settings.privateKeyFile, replace: replace)
        return entry
    }
}
