/// Tables for the issuance ledger, certificate numbering and spool metadata (issue #5).
public enum LedgerSchema {
    public static var migrations: [Migration] { [] }
}
