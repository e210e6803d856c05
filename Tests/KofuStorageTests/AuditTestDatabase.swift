import Foundation
import KofuStorage
import Logging
import SQLKit
import Synchronization

/// The backends the audit and staff storage tests run on: SQLite always, PostgreSQL when
/// KOFU_TEST_POSTGRES_URL is set (each test gets its own `kofu_audit_<random>` database).
enum AuditTestBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case sqlite
    case postgres

    static var available: [AuditTestBackend] {
        ProcessInfo.processInfo.environment["KOFU_TEST_POSTGRES_URL"].map { !$0.isEmpty } == true ? [.sqlite, .postgres] : [.sqlite]
    }

    var description: String { rawValue }

    /// Opens a fresh, migrated database, runs `body`, then closes (and for PostgreSQL drops) it.
    func withDatabase<R>(_ body: (KofuDatabase) async throws -> R) async throws -> R {
        let name = "kofu_audit_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(16)
        let db: KofuDatabase
        var cleanup: () async -> Void
        switch self {
        case .sqlite:
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent(String(name)).path
            db = try await KofuDatabase.open(.sqlite(path: dir + "/kofu.sqlite"))
            cleanup = { try? FileManager.default.removeItem(atPath: dir) }
        case .postgres:
            let base = ProcessInfo.processInfo.environment["KOFU_TEST_POSTGRES_URL"]!
            let admin = try await KofuDatabase.open(.postgres(url: base))
            try await admin.exclusive { db in try await db.raw("CREATE DATABASE \(unsafeRaw: String(name))").run() }
            var url = URLComponents(string: base)!
            url.path = "/" + name
            db = try await KofuDatabase.open(.postgres(url: url.string!))
            cleanup = {
                _ = try? await admin.exclusive { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: String(name))").run() }
                await admin.close()
            }
        }
        do {
            try await Migrator(KofuSchema.migrations).run(on: db)
            let r = try await body(db)
            await db.close()
            await cleanup()
            return r
        } catch {
            await db.close()
            await cleanup()
            throw error
        }
    }
}

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let now: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { now = Mutex(start) }
    func read() -> Date { now.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    func set(_ date: Date) { now.withLock { $0 = date } }
    var function: @Sendable () -> Date { { [self] in self.read() } }
}
