import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuCrypto
import KofuDomain
import KofuSeal
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport

/// A clock tests can move forward (delivery TTL).
final class TestClock: KofuClock, @unchecked Sendable {
    private let lock = NSLock()
    private var offset: TimeInterval = 0
    func now() -> Date { lock.lock(); defer { lock.unlock() }; return Date().addingTimeInterval(offset) }
    func advance(_ seconds: TimeInterval) { lock.lock(); offset += seconds; lock.unlock() }
}

/// A complete Kofu on a fresh data directory: a seal key, a sample linkage batch (every DOMAIN.md edge
/// case) imported, and the services opened exactly as `kofu serve` opens them.
struct KioskHarness: Sendable {
    let dataDir: String
    let environment: [String: String]
    let cards: [String: SampleDemoCard]
    let fiscalYears: [Int]
    let clock: TestClock
    let postgresDatabase: String?

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }

    var latestYear: Int { fiscalYears.max()! }

    func card(_ name: String) -> String { cards[name]!.cardSerial }

    /// Sets up data; `backend` picks SQLite (a file in the data dir) or a fresh PostgreSQL database.
    static func make(backend: TestBackend = .sqlite, people: Int = 60, extra: [String: String] = [:]) async throws -> KioskHarness {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-server")
        let root = packageRoot
        var env: [String: String] = [
            "KOFU_DATA_DIR": dir,
            "KOFU_PATHS_TEMPLATES": "\(root)/Templates",
            "KOFU_PATHS_FONTS": "\(root)/Fonts",
            "KOFU_MUNICIPALITY_SEAL_IMAGE": "\(root)/Templates/seal.png",
            "KOFU_ISSUANCE_SERVICE_HOURS": "00:00-24:00",
            "KOFU_ISSUANCE_CLOSED_DAYS": "",
            "KOFU_NODE_ID": "test-node",
        ]
        var pgName: String?
        if backend == .postgres {
            guard let admin = StorageTestSupport.postgresURL else { throw StorageTestSupportError.postgresRequired }
            let name = "kofu_s_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let db = try await KofuDatabase.open(.postgres(url: admin))
            try await db.exclusive { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            await db.close()
            var c = URLComponents(string: admin)!
            c.path = "/" + name
            env["KOFU_DATABASE_URL"] = c.string!
            pgName = String(name)
        }
        for (k, v) in extra { env[k] = v }
        let config = try KofuConfiguration(values: ConfigValues(file: "\(root)/config/kofu.yaml", environment: env), file: nil)

        // The seal key, as `kofu keys generate` makes it (valid from yesterday: the test clock may be moved).
        let today = LocalDate.todayInJapan()
        _ = try SealKeyInstall.install(settings: try config.sealSettings(), municipality: config.municipality.code,
                                       validFrom: today.adding(days: -1), replace: false)

        // A sample batch for today, imported as `kofu import` does.
        let batch = (dir as NSString).appendingPathComponent("batch")
        let summary = try await SampleInstallation.load(config, people: people, seed: 7, today: today, batchDirectory: batch)
        try FileManager.default.removeItem(atPath: batch)

        return KioskHarness(dataDir: dir, environment: env,
                            cards: Dictionary(uniqueKeysWithValues: summary.demoCards.map { ($0.caseName, $0) }),
                            fiscalYears: summary.fiscalYears, clock: TestClock(), postgresDatabase: pgName)
    }

    func configuration(_ extra: [String: String] = [:]) throws -> KofuConfiguration {
        try KofuConfiguration(values: ConfigValues(file: "\(Self.packageRoot)/config/kofu.yaml",
                                                   environment: environment.merging(extra) { $1 }), file: nil)
    }

    func openServices(_ extra: [String: String] = [:]) async throws -> KofuServices {
        try await KofuServices.open(try configuration(extra), clock: clock)
    }

    /// Runs `body` against the real application over a live loopback port.
    func withLiveServer(_ extra: [String: String] = [:], _ body: @escaping @Sendable (any TestClientProtocol, KofuServices) async throws -> Void) async throws {
        let services = try await openServices(extra)
        let app = try buildApplication(services, host: "127.0.0.1", port: 0)
        do {
            try await app.testLive { client in try await body(client, services) }
        } catch {
            await services.close()
            throw error
        }
        await services.close()
    }

    /// Removes the data directory, the audit anchors beside it, and the PostgreSQL database.
    func cleanUp() async {
        try? FileManager.default.removeItem(atPath: dataDir)
        try? FileManager.default.removeItem(atPath: dataDir + "-audit-anchors")
        if let pgName = postgresDatabase, let admin = StorageTestSupport.postgresURL, let db = try? await KofuDatabase.open(.postgres(url: admin)) {
            _ = try? await db.exclusive { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: pgName) WITH (FORCE)").run() }
            await db.close()
        }
    }
}

/// JSON helpers for kiosk calls.
enum Kiosk {
    static func issueBody(_ requestID: String, card: String, kind: String, year: Int, copies: Int = 1,
                          taxItems: [String]? = nil, plate: String? = nil) -> ByteBuffer {
        var o: [String: Any] = ["request_id": requestID, "card_serial": card, "kind": kind, "fiscal_year": year, "copies": copies,
                                "terminal": ["store_chain": "7", "store_id": "131041-0042", "terminal_id": "K03"]]
        if let taxItems { o["tax_items"] = taxItems }
        if let plate { o["vehicle_plate"] = plate }
        return ByteBuffer(bytes: try! JSONSerialization.data(withJSONObject: o))
    }

    static func json(_ buffer: ByteBuffer) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(buffer: buffer))) as? [String: Any] ?? [:]
    }

    static func errorCode(_ buffer: ByteBuffer) -> String? {
        (json(buffer)["error"] as? [String: Any])?["code"] as? String
    }

    static var jsonHeaders: HTTPFields { [.contentType: "application/json"] }

    /// A JSON request that asks for the PDF itself in the answer (`Accept: application/pdf`).
    static var pdfHeaders: HTTPFields { [.contentType: "application/json", .accept: "application/pdf"] }
}
