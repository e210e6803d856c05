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
        subcommands: [Generate.self, Rotate.self, List.self, ExportPublic.self])

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

        var auditCode: String {
            switch self {
            case .privateKeyExists: "private_key_exists"
            case .noKeyring: "no_keyring"
            }
        }

        var description: String {
            switch self {
            case .privateKeyExists(let path): "\(path) already exists; use `kofu keys rotate` to replace it"
            case .noKeyring(let path): "no keyring at \(path); use `kofu keys generate` first"
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

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the published keys and their dates.")
        @OptionGroup var options: Options

        func run() async throws {
            let (_, settings) = try options.load()
            let ring = try SealKeyring.load(file: settings.keyringFile)
            let signing = try? SealSigner(privateKeyPEMFile: settings.privateKeyFile)
            print("key_id            municipality  not_before  signing_until  not_after")
            for e in ring.entries {
                let until = e.signingUntil?.iso ?? "(active)  "
                let mark = signing?.keyID == e.keyID ? "  <- private key file" : ""
                print("\(e.keyIDHex)  \(e.municipalityCode)        \(e.notBefore.iso)  \(until)     \(e.notAfter.iso)\(mark)")
            }
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
