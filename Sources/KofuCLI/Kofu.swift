import ArgumentParser

@main
struct Kofu: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kofu",
        abstract: "Kofu (交付): the certificate issuance server behind convenience-store kiosks.",
        subcommands: [])
}
