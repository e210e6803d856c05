import KofuConfig
import KofuDomain
import KofuStorage

/// Tax data for a demo, test or benchmark installation, as `kofu sample` followed by `kofu import` makes it.
public enum SampleInstallation {
    /// Generates a sample batch for `today` (every DOMAIN.md edge case) into `batchDirectory` and imports it into
    /// the configured database, migrating it first. Returns what the batch holds (its years, its demo cards).
    public static func load(_ configuration: KofuConfiguration, people: Int, seed: UInt64, today: LocalDate,
                            batchDirectory: String) async throws -> SampleBatchSummary {
        let code = configuration.municipality.code
        let summary = try SampleBatchGenerator(people: people, seed: seed, today: today, municipalityCode: code)
            .write(to: batchDirectory)
        let location: DatabaseLocation = configuration.databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: configuration.sqlitePath)
        let database = try await KofuDatabase.open(location)
        do {
            try await Migrator.all.run(on: database)
            _ = try await LinkageImporter(database: database, municipalityCode: code,
                                          retention: RetentionWindow(years: try configuration.retentionSettings().fiscalYears, today: today))
                .importBatch(at: batchDirectory)
        } catch {
            await database.close()
            throw error
        }
        await database.close()
        return summary
    }
}
