/// Tables for staff accounts, sessions and the audit log (issue #6).
///
/// - `staff_users`: one row per personal staff user ID (no shared IDs), its single role, the scrypt
///   password hash, the disabled flag and the failed-login counter / lockout time.
/// - `staff_sessions`: at most one live session per user (`user_id` is unique); the token is kept only
///   as its SHA-256 hash.
/// - `audit_log`: the append-only, hash-chained operation and access log (操作ログ・アクセスログ).
/// - `audit_state`: one row with the chain head (for detecting removal at the end) and the anchor the
///   chain starts from after a retention purge.
/// - `audit_checkpoints`: periodic signed (sequence, hash) pairs.
/// - `staff_users.last_login_at` (0302): the last successful sign-in, for the administrator's account review.
public enum AuditSchema {
    public static var migrations: [Migration] {
        [
            Migration(name: "0300_staff") { _ in
                [
                    """
                    CREATE TABLE staff_users (
                        user_id TEXT PRIMARY KEY,
                        role TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        disabled INTEGER NOT NULL DEFAULT 0,
                        failed_logins INTEGER NOT NULL DEFAULT 0,
                        locked_until BIGINT,
                        created_at BIGINT NOT NULL,
                        password_changed_at BIGINT NOT NULL
                    )
                    """,
                    """
                    CREATE TABLE staff_sessions (
                        token_hash TEXT PRIMARY KEY,
                        user_id TEXT NOT NULL UNIQUE REFERENCES staff_users(user_id),
                        created_at BIGINT NOT NULL,
                        last_seen BIGINT NOT NULL
                    )
                    """,
                ]
            },
            Migration(name: "0301_audit") { _ in
                [
                    """
                    CREATE TABLE audit_log (
                        seq BIGINT PRIMARY KEY,
                        at TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        object TEXT NOT NULL,
                        outcome TEXT NOT NULL,
                        reason TEXT NOT NULL,
                        prev_hash TEXT NOT NULL,
                        hash TEXT NOT NULL
                    )
                    """,
                    "CREATE INDEX audit_log_at ON audit_log (at)",
                    """
                    CREATE TABLE audit_state (
                        id INTEGER PRIMARY KEY,
                        head_seq BIGINT NOT NULL,
                        head_hash TEXT NOT NULL,
                        anchor_seq BIGINT NOT NULL,
                        anchor_prev_hash TEXT NOT NULL,
                        checkpoint_seq BIGINT NOT NULL
                    )
                    """,
                    "INSERT INTO audit_state (id, head_seq, head_hash, anchor_seq, anchor_prev_hash, checkpoint_seq) VALUES (1, 0, '\(AuditChain.genesisHash)', 1, '\(AuditChain.genesisHash)', 0)",
                    """
                    CREATE TABLE audit_checkpoints (
                        seq BIGINT PRIMARY KEY,
                        at TEXT NOT NULL,
                        hash TEXT NOT NULL,
                        signer TEXT NOT NULL,
                        signature TEXT NOT NULL
                    )
                    """,
                ]
            },
            Migration(name: "0302_staff_last_login") { _ in
                ["ALTER TABLE staff_users ADD COLUMN last_login_at BIGINT"]
            },
        ]
    }
}
