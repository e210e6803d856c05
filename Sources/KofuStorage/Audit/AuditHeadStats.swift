import Foundation

extension AuditLog {
    /// The sequence number of the newest committed entry (all nodes'), 0 for an empty log: with the last
    /// anchor's, how many entries no anchor outside the database covers yet (monitoring).
    public nonisolated func committedHeadSeq() async throws -> Int64 {
        let backend = database.backend
        return try await database.read { db in try await Self.readState(db, backend: backend, forUpdate: false).headSeq }
    }
}
