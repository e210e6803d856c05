/// Every store's migrations, in order. Each concern keeps its own list in its own file.
public enum KofuSchema {
    public static var migrations: [Migration] {
        TaxDataSchema.migrations + LedgerSchema.migrations + AuditSchema.migrations + CounterSchema.migrations + ReprintSchema.migrations
            + SealRegistrySchema.migrations
            + NodeSchema.migrations
    }
}
