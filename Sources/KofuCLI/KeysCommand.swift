import ArgumentParser
import Foundation
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuServer

/// `kofu keys`: the seal signing key and the published keyring.
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

    struct Generate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the first signing key (refuses to overwrite an existing private key; use rotate).")
        @OptionGroup var options: Options

        func run() async throws {
            let (config, settings) = try options.load()
            guard !FileManager.default.fileExists(atPath: settings.privateKeyFile) else {
                throw ValidationError("\(settings.privateKeyFile) already exists; use `kofu keys rotate` to replace it")
            }
            let entry = try SealKeyInstall.install(settings: settings, municipality: config.municipality.code,
                                                  validFrom: .todayInJapan(), replace: false)
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
            guard FileManager.default.fileExists(atPath: settings.keyringFile) else {
                throw ValidationError("no keyring at \(settings.keyringFile); use `kofu keys generate` first")
            }
            let entry = try SealKeyInstall.install(settings: settings, municipality: config.municipality.code,
                                                  validFrom: .todayInJapan(), replace: true)
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
