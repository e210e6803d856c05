/// Tables for the issuance ledger, certificate numbering and the shared service state (issue #5).
/// The ledger keeps metadata only: never the document, names or amounts (DOMAIN.md §4).
public enum LedgerSchema {
    public static var migrations: [Migration] {
        [
            Migration(name: "0200_ledger") { _ in
                [
                    """
                    CREATE TABLE issuances (
                        id TEXT PRIMARY KEY,
                        request_id TEXT NOT NULL UNIQUE,
                        request_digest TEXT NOT NULL,
                        channel TEXT NOT NULL,
                        node_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        fiscal_year INTEGER NOT NULL,
                        addressee_id TEXT,
                        copies INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        refusal_code TEXT,
                        internal_reason TEXT,
                        fee_yen INTEGER NOT NULL,
                        pages INTEGER,
                        document_digest TEXT,
                        terminal TEXT,
                        created_at BIGINT NOT NULL,
                        updated_at BIGINT NOT NULL,
                        expires_at BIGINT
                    )
                    """,
                    "CREATE INDEX issuances_status ON issuances (status, expires_at)",
                    "CREATE INDEX issuances_created ON issuances (created_at)",
                    "CREATE INDEX issuances_addressee ON issuances (addressee_id)",
                    """
                    CREATE TABLE issuance_events (
                        issuance_id TEXT NOT NULL,
                        at BIGINT NOT NULL,
                        status TEXT NOT NULL,
                        detail TEXT
                    )
                    """,
                    "CREATE INDEX issuance_events_issuance ON issuance_events (issuance_id)",
                    """
                    CREATE TABLE certificate_numbers (
                        number TEXT PRIMARY KEY,
                        year INTEGER NOT NULL,
                        sequence INTEGER NOT NULL,
                        issuance_id TEXT NOT NULL,
                        kind TEXT NOT NULL,
                        status TEXT NOT NULL,
                        updated_at BIGINT NOT NULL,
                        UNIQUE (year, sequence)
                    )
                    """,
                    "CREATE INDEX certificate_numbers_issuance ON certificate_numbers (issuance_id)",
                    "CREATE TABLE number_sequences (year INTEGER PRIMARY KEY, last_sequence BIGINT NOT NULL)",
                    "CREATE TABLE service_state (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL)",
                ]
            },
        ]
    }
}
