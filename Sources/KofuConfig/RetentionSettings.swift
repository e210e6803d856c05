import KofuDomain

/// Tax-data retention and linkage import settings (`retention.*`, `linkage.*`).
public struct RetentionSettings: Sendable, Hashable {
    /// `retention.fiscal_years` (`KOFU_RETENTION_FISCAL_YEARS`): fiscal years of tax data kept, 4 by default
    /// (直近4年度分, DOMAIN.md §4).
    public var fiscalYears: Int
    /// `linkage.max_problems` (`KOFU_LINKAGE_MAX_PROBLEMS`): problems listed before an import stops looking.
    public var maxImportProblems: Int
    /// `linkage.batch_dir` (`KOFU_LINKAGE_BATCH_DIR`): where `kofu import` looks when no directory is given.
    public var batchDirectory: String?

    public init(fiscalYears: Int = 4, maxImportProblems: Int = 1000, batchDirectory: String? = nil) {
        self.fiscalYears = fiscalYears
        self.maxImportProblems = maxImportProblems
        self.batchDirectory = batchDirectory
    }
}

extension KofuConfiguration {
    /// Reads `retention.fiscal_years` (1–20, default 4), `linkage.max_problems` (1–100000, default 1000) and
    /// `linkage.batch_dir`.
    public func retentionSettings() throws -> RetentionSettings {
        RetentionSettings(
            fiscalYears: try values.int("retention.fiscal_years", default: 4, range: 1...20),
            maxImportProblems: try values.int("linkage.max_problems", default: 1000, range: 1...100_000),
            batchDirectory: values.optionalString("linkage.batch_dir"))
    }
}
