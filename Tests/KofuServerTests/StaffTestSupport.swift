import Foundation
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import Logging
import Synchronization

/// Everything a staff route test needs: a fresh SQLite database, the stores, a hand-moved clock, a
/// capturing logger, and one user per role.
struct StaffHarness: Sendable {
    static let roleUsers: [(StaffRole, String)] = [
        (.counterClerk, "clerk.user"), (.counterSupervisor, "super.user"), (.operator, "oper.user"),
        (.auditor, "audit.user"), (.administrator, "admin.user"),
    ]
    static let idleTimeout: TimeInterval = 900
    static let lockout = LockoutPolicy(threshold: 3, duration: 600)

    static func password(_ id: String) -> String { "pw-\(id)-long-enough-1" }

    let db: KofuDatabase
    let store: StaffStore
    let audit: AuditLog
    let clock: StaffTestClock
    let logs: CapturedLogs
    let auth: StaffAuth

    /// Builds the harness and the application the way the server mounts staff routes, and runs `body`.
    static func run(_ body: @Sendable (StaffHarness, any TestClientProtocol) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kofu-staff-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let logs = CapturedLogs()
        let logger = logs.logger(label: "kofu.test")
        let db = try await KofuDatabase.open(.sqlite(path: dir + "/kofu.sqlite"), logger: logs.logger(label: "kofu.db"))
        try await Migrator(KofuSchema.migrations).run(on: db)
        let clock = StaffTestClock()
        let store = StaffStore(database: db, passwordParameters: .testing)
        let signer = HMACCheckpointSigner(key: Array(repeating: 3, count: 32))
        let audit = AuditLog(database: db, signer: signer, checkpointInterval: 10, clock: clock.function)
        for (role, id) in roleUsers + [(.counterClerk, "target.user")] {
            _ = try await store.addUser(id, role: role, password: password(id))
        }
        let auth = StaffAuth(store: store, audit: audit, idleTimeout: idleTimeout, lockout: lockout,
                             logger: logger, clock: clock.function)
        let router = Router(context: BasicStaffRequestContext.self)
        StaffController(auth: auth, checkpointSigner: signer).addRoutes(to: router.group("staff"))
        let app = Application(router: router, logger: logger)
        let harness = StaffHarness(db: db, store: store, audit: audit, clock: clock, logs: logs, auth: auth)
        do {
            try await app.test(.router) { client in try await body(harness, client) }
        } catch {
            await db.close()
            throw error
        }
        await db.close()
    }

    /// Every audit entry so far.
    func entries() async throws -> [AuditEntry] {
        try await audit.flush()
        return try await audit.entries(limit: 100_000)
    }
}

extension TestClientProtocol {
    /// Logs in; returns the response status and the `kofu_staff=<token>` cookie pair, if one was set.
    func login(_ id: String, _ password: String) async throws -> (HTTPResponse.Status, String?, [String]) {
        let body = try JSONSerialization.data(withJSONObject: ["userID": id, "password": password])
        return try await execute(uri: "/staff/login", method: .post, headers: [.contentType: "application/json"],
                                 body: ByteBuffer(bytes: body)) { response in
            let setCookies = response.headers[values: .setCookie]
            let pair = setCookies.first { $0.hasPrefix(StaffAuth.cookieName + "=") }
                .map { String($0.split(separator: ";")[0]) }
            return (response.status, pair, setCookies)
        }
    }

    func get(_ path: String, cookie: String?) async throws -> HTTPResponse.Status {
        var headers: HTTPFields = [:]
        if let cookie { headers[.cookie] = cookie }
        return try await execute(uri: path, method: .get, headers: headers) { $0.status }
    }
}

/// Headers for a state-changing call as a signed-in browser makes it: the session cookie and the
/// session's CSRF token.
func staffHeaders(cookie: String?, json: Bool = true) -> HTTPFields {
    var headers: HTTPFields = [:]
    if json { headers[.contentType] = "application/json" }
    if let cookie {
        headers[.cookie] = cookie
        headers[StaffAuth.csrfHeader] = StaffAuth.csrfToken(forSession: String(cookie.dropFirst(StaffAuth.cookieName.count + 1)))
    }
    return headers
}


/// A clock tests move by hand.
final class StaffTestClock: Sendable {
    private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    func advance(_ seconds: TimeInterval) { now.withLock { $0 = $0.addingTimeInterval(seconds) } }
    var function: @Sendable () -> Date { { [self] in now.withLock { $0 } } }
}

/// Collects every log line (message, metadata, source) at every level.
final class CapturedLogs: Sendable {
    private let lines = Mutex<[String]>([])

    var all: [String] { lines.withLock { $0 } }

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    func logger(label: String) -> Logger {
        var logger = Logger(label: label) { _ in CapturingLogHandler(sink: self) }
        logger.logLevel = .trace
        return logger
    }
}

struct CapturingLogHandler: LogHandler {
    let sink: CapturedLogs
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let merged = metadata.merging(event.metadata ?? [:]) { $1 }
        sink.append("\(event.level) \(event.message) \(merged) \(event.source) \(event.file):\(event.line)")
    }
}
