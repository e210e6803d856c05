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

/// One `kofu serve` process of a test cluster: its own data directory (keys copied from the harness), its own
/// kiosk and staff ports and node id, all nodes on the harness's database.
final class ClusterNode: @unchecked Sendable {
    // Safety: `process` is only touched by the test's own task.
    let nodeID: String
    let dataDir: String
    let port: Int
    let environment: [String: String]
    private(set) var process: Process?
    private var starts = 0

    /// The staff listener, where `/metrics` answers (no token in tests).
    let staffPort: Int

    /// Documents in the node's in-memory spool now, from its `/metrics` (nil when it does not answer).
    func spoolDocuments() async -> Int? {
        try? await withLoadClient(port: staffPort, maxConnections: 1, timeout: .seconds(5)) { client -> Int? in
            let r = try await client.send("GET", "/metrics")
            guard r.status == 200 else { return nil }
            return String(decoding: r.body, as: UTF8.self).split(separator: "\n")
                .first { $0.hasPrefix("kofu_spool_documents ") }
                .flatMap { Double($0.split(separator: " ")[1]) }.map { Int($0) }
        }
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// A node whose data directory is a copy of the harness's (seal key, checkpoint key).
    init(_ h: KioskHarness, index: Int, extra: [String: String] = [:]) throws {
        nodeID = "cluster-\(index)"
        dataDir = "\(h.dataDir)-node\(index)"
        try? FileManager.default.removeItem(atPath: dataDir)
        try FileManager.default.copyItem(atPath: h.dataDir, toPath: dataDir)
        port = CrashSafetyTests.freePort()
        staffPort = extra["KOFU_STAFF_PORT"].flatMap(Int.init) ?? CrashSafetyTests.freePort()
        var env = h.environment
        env["KOFU_DATA_DIR"] = dataDir
        env["KOFU_NODE_ID"] = nodeID
        env["KOFU_STAFF_PORT"] = String(staffPort)
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
        for _ in 0..<100 where p.isRunning { usleep(50_000) }
    }

    /// SIGTERM, then SIGKILL after 15 s.
    func stop() async {
        guard let p = process else { return }
        await CrashSafetyTests.stop(p, signal: SIGTERM)
    }

    func cleanUp() {
        kill9()
        if ProcessInfo.processInfo.environment["KOFU_TEST_KEEP_LOGS"] == "1" {
            print("kept \(dataDir) and its logs")
            return
        }
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

/// Runs a short-lived command to its end with posix_spawn and waitpid on a thread of its own, output
/// appended to `log`. Not Foundation's `Process.waitUntilExit`: it was seen to wait forever for a `bash`
/// that had already exited (a zombie nobody reaped) after the script started a PostgreSQL daemon.
enum ChildProcess {
    static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil,
                    log: String = "/dev/null") async -> Int32 {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: runBlocking(executable, arguments, environment: environment, log: log)) }
            thread.start()
        }
    }

    private static func runBlocking(_ executable: String, _ arguments: [String], environment: [String: String]?, log: String) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + env { free(p) } }
        var pid: pid_t = 0
        let spawned = ProcessSpawn.locked { posix_spawn(&pid, executable, &actions, nil, argv, env) }
        guard spawned == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS by hand (the C macros are not imported).
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
