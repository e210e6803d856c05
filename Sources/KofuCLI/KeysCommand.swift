import ArgumentParser
import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuServer
import KofuStorage

/// `kofu keys`: the seal signing key and the published keyring. `generate` and `rotate` are audited
/// (`key_operation`, object `seal_key:<key id>`, with the OS user and host), the refusals too.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage the QR seal keys (private key file and published keyring).",
        subcommands: [Generate.self, Rotate.self, Revoke.self, List.self, ExportPublic.self])

    struct Options: ParsableArguments {
        @Option(name: .long, help: "Configuration file (default: KOFU_CONFIG or config/kofu.yaml).")
        var config: String?

        func load() throws -> (KofuConfiguration, SealSettings) {
            let c = try KofuConfiguration.load(file: config)
            return (c, try c.sealSettings())
        }
    }

    /// Why a key operation was refused, named in its audit entry by the case.
    enum Refusal: Error, AuditReasonCoded, CustomStringConvertible {
        case privateKeyExists(String)
        case noKeyring(String)
        case revokingSigningKey(String)
        case noSuchKey(String)

        var auditCode: String {
            switch self {
            case .privateKeyExists: "private_key_exists"
            case .noKeyring: "no_keyring"
            case .revokingSigningKey: "revoking_signing_key"
            case .noSuchKey: "no_such_key"
            }
        }

        var description: String {
            switch self {
            case .privateKeyExists(let path): "\(path) already exists; use `kofu keys rotate` to replace it"
            case .noKeyring(let path): "no keyring at \(path); use `kofu keys generate` first"
            case .revokingSigningKey(let id):
                "\(id) is the key in the private key file; run `kofu keys rotate` first so that the server signs with a new key"
            case .noSuchKey(let id): "no key \(id) in the keyring"
            }
        }
    }

    /// The key id of the private key file now, if there is a readable one.
    static func currentKeyID(_ settings: SealSettings) -> String? {
        (try? SealSigner(privateKeyPEMFile: settings.privateKeyFile)).map { Hex.encode($0.keyID) }
    }

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the first signing key (refuses to overwrite an existing private key; use rotate).")
        @OptionGroup var options: Options

        func run() async throws {
            let (config, settings) = try options.load()
            let attempt = CLIAuditRecord(object: .other("seal_key", KeysCommand.currentKeyID(settings) ?? "new"), reason: "generate")
            let entry = try await CLIAuditLog.audited(.keyOperation, configuration: config, attempt: attempt) { _ in
                guard !FileManager.default.fileExists(atPath: settings.privateKeyFile) else {
                    throw Refusal.privateKeyExists(settings.privateKeyFile)
                }
                let entry = try SealKeyInstall.install(settings: settings, municipality: config.municipality.code,
                                                      validFrom: .todayInJapan(), replace: false)
                return (entry, CLIAuditRecord(object: .other("seal_key", entry.keyIDHex),
                                              reason: "generate not_before=\(entry.notBefore.iso) not_after=\(entry.notAfter.iso)"))
            }
            print("generated key \(entry.keyIDHex) (valid \(entry.notBefore.iso) to \(entry.notAfter.iso))")
            print("private key: \(settings.privateKeyFile) (mode 0600)")
            print("keyring:     \(settings.keyringFile)")
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make a new active key; the old key stops signing today and verifies until its published end date.")
        @OptionGroup var options: Options

        func run() async throws {
            let (config, settings) = try options.load()
            let previous = KeysCommand.currentKeyID(settings) ?? "none"
            let attempt = CLIAuditRecord(object: .other("seal_key", previous), reason: "rotate")
            let entry = try await CLIAuditLog.audited(.keyOperation, configuration: config, attempt: attempt) { _ in
                guard FileManager.default.fileExists(atPath: settings.keyringFile) else {
                    throw Refusal.noKeyring(settings.keyringFile)
                }
                let entry = try SealKeyInstall.install(settings: settings, municipality: config.municipality.code,
                                                      validFrom: .todayInJapan(), replace: true)
                return (entry, CLIAuditRecord(object: .other("seal_key", entry.keyIDHex),
                                              reason: "rotate previous=\(previous) not_after=\(entry.notAfter.iso)"))
            }
            print("new active key \(entry.keyIDHex) (valid \(entry.notBefore.iso) to \(entry.notAfter.iso))")
            print("previous keys stop signing today and keep verifying until their not_after date")
            print("restart the server so that it signs with the new key")
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a key: seals it signed on or after --at fail verification (key_revoked).",
            discussion: "Reasons: key_compromise, superseded, cessation_of_operation, unspecified. The key in the private key file cannot be revoked; rotate first.")
        @OptionGroup var options: Options
        @Argument(help: "The key id (16 hex digits, as `kofu keys list` shows it).")
        var keyID: String
        @Option(name: .long, help: "First day (YYYY-MM-DD, Japan) whose seals are no longer trusted.")
        var at: String
        @Option(name: .long, help: "Why: key_compromise, superseded, cessation_of_operation or unspecified.")
        var reason: String

        func validate() throws {
            guard LocalDate(iso: at) != nil else { throw ValidationError("--at must be YYYY-MM-DD") }
            guard SealKeyring.Revocation.reasons.contains(reason) else {
                throw ValidationError("--reason must be one of \(SealKeyring.Revocation.reasons.joined(separator: ", "))")
            }
        }

        func run() async throws {
            let (config, settings) = try options.load()
            let id = keyID.lowercased()
            let from = LocalDate(iso: at)!
            let attempt = CLIAuditRecord(object: .other("seal_key", id), reason: "revoke from=\(from.iso) reason=\(reason)")
            try await CLIAuditLog.audited(.keyOperation, configuration: config, attempt: attempt) { _ in
                guard FileManager.default.fileExists(atPath: settings.keyringFile) else { throw Refusal.noKeyring(settings.keyringFile) }
                var ring = try SealKeyring.load(file: settings.keyringFile)
                guard KeysCommand.currentKeyID(settings) != id else { throw Refusal.revokingSigningKey(id) }
                do { try ring.revoke(keyIDHex: id, from: from, reason: reason) } catch { throw Refusal.noSuchKey(id) }
                try ring.save(file: settings.keyringFile)
                return ((), attempt)
            }
            print("revoked key \(id): seals it signed on or after \(from.iso) fail (\(reason))")
            print("the running server takes the new keyring within seconds (or at once on SIGHUP)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the published keys and their dates.")
        @OptionGroup var options: Options

        func run() async throws {
            let (_, settings) = try options.load()
            let ring = try SealKeyring.load(file: settings.keyringFile)
            let signing = try? SealSigner(privateKeyPEMFile: settings.privateKeyFile)
            print("key_id            municipality  not_before  signing_until  not_after   revoked_from")
            for e in ring.entries {
                let until = e.signingUntil?.iso ?? "(active)  "
                let revoked = e.revocation.map { "\($0.from.iso) (\($0.reason))" } ?? "-         "
                let mark = signing?.keyID == e.keyID ? "  <- private key file" : ""
                print("\(e.keyIDHex)  \(e.municipalityCode)        \(e.notBefore.iso)  \(until)     \(e.notAfter.iso)  \(revoked)\(mark)")
            }
            for i in ring.ignored { print("ignored: \(i)") }
        }
    }

    struct ExportPublic: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "export-public",
            abstract: "Print the publishable keyring JSON (served at /.well-known/kofu/seal-keys.json).")
        @OptionGroup var options: Options

        func run() async throws {
            let (_, settings) = try options.load()
            let ring = try SealKeyring.load(file: settings.keyringFile)
            FileHandle.standardOutput.write(Data(ring.json()))
        }
    }
}
