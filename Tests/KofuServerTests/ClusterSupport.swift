import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import HTTPTypes
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Testing

/// The `kofu` executable of this build: beside the test bundle (whatever `--scratch-path`), else `.build/debug`.
enum KofuBinary {
    static var path: String {
        let runner = Bundle.main.executablePath ?? CommandLine.arguments[0]
        let beside = URL(fileURLWithPath: runner).deletingLastPathComponent().appendingPathComponent("kofu").path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        return "\(KioskHarness.packageRoot)/.build/debug/kofu"
    }
}

/// One `kofu serve` process of a test cluster: its own data directory (spool, keys copied from the
/// harness), its own kiosk port and node id, all nodes on the harness's database.
final class ClusterNode: @unchecked Sendable {
    // Safety: `process` is only touched by the test's own task.
    let nodeID: String
    let dataDir: String
    let port: Int
    let environment: [String: String]
    private(set) var process: Process?
    private var starts = 0

    var spool: String { "\(dataDir)/spool" }

    /// Spool files on disk now.
    var spoolFiles: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []).filter { $0.hasSuffix(".spool") } }

    var isRunning: Bool { process?.isRunning ?? false }

    /// A node whose data directory is a copy of the harness's (seal key, checkpoint key), without its spool.
    init(_ h: KioskHarness, index: Int, extra: [String: String] = [:]) throws {
        nodeID = "cluster-\(index)"
        dataDir = "\(h.dataDir)-node\(index)"
        try? FileManager.default.removeItem(atPath: dataDir)
        try FileManager.default.copyItem(atPath: h.dataDir, toPath: dataDir)
        try? FileManager.default.removeItem(atPath: "\(dataDir)/spool")
        port = CrashSafetyTests.freePort()
        var env = h.environment
        env["KOFU_DATA_DIR"] = dataDir
        env["KOFU_NODE_ID"] = nodeID
        for (k, v) in extra { env[k] = v }
        environment = env
    }

    /// The environment `kofu serve` runs with: the staff and public listeners on ports of their own choosing
    /// unless the node's environment names one.
    var processEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["KOFU_STAFF_PORT"] = "0"
        env["KOFU_PUBLIC_PORT"] = "0"
        for (k, v) in environment { env[k] = v }
        env["KOFU_HTTP_PORT"] = String(port)
        env["KOFU_CONFIG"] = "\(KioskHarness.packageRoot)/config/kofu.yaml"
        return env
    }

    /// Starts `kofu serve` and waits until it answers `/healthz` (`/readyz` may be 503 while paused).
    func start(waitSeconds: Int = 60) async throws {
        starts += 1
        let p = Process()
        p.executableURL = URL(fileURLWithPath: KofuBinary.path)
        p.arguments = ["serve"]
        p.environment = processEnvironment
        let log = "\(dataDir)-serve-\(starts).log"
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        p.standardOutput = FileHandle(forWritingAtPath: log)
        p.standardError = FileHandle(forWritingAtPath: log)
        try ProcessSpawn.locked { try p.run() }
        process = p
        let up = try await withLoadClient(port: port, maxConnections: 1, timeout: .seconds(2)) { client in
            for _ in 0..<(waitSeconds * 10) {
                if !p.isRunning { return false }
                if let r = try? await client.send("GET", "/healthz"), r.status == 200 { return true }
                try await Task.sleep(for: .milliseconds(100))
            }
            return false
        }
        if !up {
            kill9()
            Issue.record("node \(nodeID) did not start; log: \((try? String(contentsOfFile: log, encoding: .utf8))?.suffix(2000) ?? "")")
            throw CancellationError()
        }
    }

    /// kill -9.
    func kill9() {
        guard let p = process, p.isRunning else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    /// SIGTERM, then SIGKILL after 15 s.
    func stop() async {
        guard let p = process else { return }
        await CrashSafetyTests.stop(p, signal: SIGTERM)
    }

    func cleanUp() {
        kill9()
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: dataDir + "-audit-anchors")
        for i in 0...starts { try? FileManager.default.removeItem(atPath: "\(dataDir)-serve-\(i).log") }
        try? FileManager.default.removeItem(atPath: "\(dataDir)-refused.log")
    }

    /// The last lines of this node's newest log (for a failure message).
    var logTail: String {
        String(((try? String(contentsOfFile: "\(dataDir)-serve-\(starts).log", encoding: .utf8)) ?? "").suffix(3000))
    }
}

/// Runs `body` with one load client per port.
func withLoadClients<T: Sendable>(_ ports: [Int], maxConnections: Int = 32, timeout: Duration = .seconds(30),
                                  _ body: ([LoadClient]) async throws -> T) async throws -> T {
    try await withLoadClientsNested(ports[...], [], maxConnections, timeout, body)
}

private func withLoadClientsNested<T: Sendable>(_ rest: ArraySlice<Int>, _ got: [LoadClient], _ maxConnections: Int,
                                                _ timeout: Duration, _ body: ([LoadClient]) async throws -> T) async throws -> T {
    guard let first = rest.first else { return try await body(got) }
    return try await withLoadClient(port: first, maxConnections: maxConnections, timeout: timeout) { client in
        try await withLoadClientsNested(rest.dropFirst(), got + [client], maxConnections, timeout, body)
    }
}

/// Opens the harness's database from the test process.
func openDatabase(_ h: KioskHarness) async throws -> KofuDatabase {
    let config = try h.configuration()
    return try await KofuDatabase.open(config.databaseURL.map { .postgres(url: $0) } ?? .sqlite(path: config.sqlitePath))
}

extension KofuDatabase {
    /// `SELECT COUNT(*) AS n …`.
    func count(_ sql: String) async throws -> Int {
        try await read { db in try await db.raw("\(unsafeRaw: sql)").first()!.decode(column: "n", as: Int.self) }
    }
}

/// Thread-safe tallies for load tasks.
actor Tally {
    private(set) var counts: [String: Int] = [:]
    private(set) var items: [String: [String]] = [:]
    func add(_ key: String, _ n: Int = 1) { counts[key, default: 0] += n }
    func note(_ key: String, _ value: String) { items[key, default: []].append(value) }
    func count(_ key: String) -> Int { counts[key] ?? 0 }
}

extension LoadClient {
    /// A request with headers of the caller's choosing (the staff API: cookie and CSRF token).
    func send(_ method: String, _ path: String, headers: [String: String], body: [UInt8]? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await http.execute(request, timeout: timeout)
        let collected = try await response.body.collect(upTo: 8 << 20)
        var fields: [String: String] = [:]
        for (name, value) in response.headers { fields[name] = value }
        return Reply(status: Int(response.status.code), headers: fields, body: Array(buffer: collected))
    }

    /// Signs in to the staff API; returns the headers a state-changing call needs (cookie, CSRF token).
    func staffSession(_ user: String, _ password: String) async throws -> [String: String] {
        let body = try JSONSerialization.data(withJSONObject: ["userID": user, "password": password])
        let r = try await send("POST", "/staff/login", headers: ["Content-Type": "application/json"], body: Array(body))
        let cookie = try #require(r.header("Set-Cookie")?.split(separator: ";").first.map(String.init), "login answered \(r.status)")
        return ["Cookie": cookie, "Content-Type": "application/json",
                StaffAuth.csrfHeader.rawName: StaffAuth.csrfToken(forSession: String(cookie.dropFirst(StaffAuth.cookieName.count + 1)))]
    }
}
