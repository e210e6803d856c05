import ArgumentParser

@main
struct Kofu: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kofu",
        abstract: "Kofu (交付): the certificate issuance server behind convenience-store kiosks.",
        subcommands: [ServeCommand.self, ImportCommand.self, RolloverCommand.self, SampleCommand.self, RenderCommand.self,
                      VerifyCommand.self, KeysCommand.self, UsersCommand.self, AuditCommand.self, BackupCommand.self, BenchCommand.self])
}

/// `kofu bench …`: the benchmarks behind docs/performance.md.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks (see docs/performance.md for the figures and commands).",
        subcommands: [BenchRenderCommand.self, BenchSealCommand.self, BenchImportCommand.self, BenchAuditCommand.self,
                      BenchIssuanceCommand.self])
}
