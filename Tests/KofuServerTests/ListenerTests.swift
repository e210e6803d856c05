import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuServer
import Testing

/// Issue #12: the kiosk, staff and public surfaces on listeners of their own, in one process.
@Suite("Listeners", .serialized)
struct ListenerTests {
    /// What each surface answers for one path of every surface.
    static let probes: [(path: String, method: HTTPRequest.Method, owner: KofuSurface?)] = [
        ("/kiosk/v1/issuances", .post, .kiosk),
        ("/staff/me", .get, .staff),
        ("/metrics", .get, .staff),
        ("/verify", .get, .publicVerification),
        ("/.well-known/kofu/seal-keys.json", .get, .publicVerification),
        ("/healthz", .get, nil),
    ]

    @Test("each listener serves its own surface and nothing of the others", arguments: KofuSurface.allCases)
    func surfacesAreSeparate(_ surface: KofuSurface) async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let services = try await h.openServices()
        let listener = ListenerSettings(surface: surface, host: "127.0.0.1", port: 0)
        let app = try buildApplication(services, listener: listener, surfaces: [surface], runsBackgroundServices: false)
        try await app.testLive { client in
            for probe in Self.probes {
                let body = probe.method == .post
                    ? Kiosk.issueBody("L-\(surface.rawValue)", card: h.card("ordinary"), kind: "income_taxation", year: h.latestYear) : nil
                let r = try await client.execute(uri: probe.path, method: probe.method, headers: Kiosk.jsonHeaders, body: body)
                if probe.owner == nil || probe.owner == surface {
                    #expect(r.status != .notFound, "\(surface): \(probe.path) should be served")
                } else {
                    #expect(r.status == .notFound && Kiosk.errorCode(r.body) == "NOT_FOUND", "\(surface): \(probe.path) must not be served")
                }
            }
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect((ready.status == .notFound) == (surface == .publicVerification))
        }
        await services.close()
    }

    @Test("the staff allowlist refuses peers outside it")
    func staffAllowlist() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let services = try await h.openServices()
        for (networks, allowed) in [([IPNetwork("10.0.0.0/8")!], false), ([IPNetwork("10.0.0.0/8")!, IPNetwork("127.0.0.0/8")!], true)] {
            let listener = ListenerSettings(surface: .staff, host: "127.0.0.1", port: 0, allow: networks)
            let app = try buildApplication(services, listener: listener, surfaces: [.staff], runsBackgroundServices: false)
            try await app.testLive { client in
                let r = try await client.execute(uri: "/staff/me", method: .get)
                #expect(allowed ? r.status == .unauthorized : r.status == .forbidden, "\(networks)")
            }
        }
        await services.close()
    }

    @Test("configuration: plain HTTP off loopback, half a TLS pair, a shared port and a bad network are refused")
    func listenerConfiguration() throws {
        func listeners(_ env: [String: String]) throws -> [ListenerSettings] {
            try KofuConfiguration(values: ConfigValues(file: nil, environment: env), file: nil).listeners()
        }
        let defaults = try listeners([:])
        #expect(defaults.map(\.surface) == [.kiosk, .staff, .publicVerification])
        #expect(defaults.map(\.port) == [8080, 8081, 8082])
        #expect(throws: ConfigError.self) { try listeners(["KOFU_STAFF_HOST": "0.0.0.0"]) }
        #expect(throws: ConfigError.self) { try listeners(["KOFU_PUBLIC_TLS_CERT": "/etc/hostname"]) }
        #expect(throws: ConfigError.self) { try listeners(["KOFU_STAFF_PORT": "8080"]) }
        #expect(throws: ConfigError.self) { try listeners(["KOFU_STAFF_ALLOW": "10.0.0.0/33"]) }
        let allow = try listeners(["KOFU_STAFF_ALLOW": "10.20.0.0/16, 192.168.1.7, fd00::/8"])[1].allow
        #expect(allow.count == 3)
        #expect(allow[0].contains("10.20.3.4") && !allow[0].contains("10.21.0.1"))
        #expect(allow[1].contains("192.168.1.7") && !allow[1].contains("192.168.1.8"))
        #expect(allow[2].contains("fd12::1") && !allow[2].contains("fe80::1"))
        #expect(allow[0].contains("::ffff:10.20.9.9"))
    }

    @Test("kofu serve runs all three listeners in one process")
    func servesThreeListeners() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: CrashSafetyTests.binary), "build the kofu executable first")
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let kiosk = CrashSafetyTests.freePort(), staff = CrashSafetyTests.freePort(), verify = CrashSafetyTests.freePort()
        let server = try await CrashSafetyTests.start(h, port: kiosk, log: "\(h.dataDir)/serve-listeners.log",
                                                      extra: ["KOFU_STAFF_PORT": "\(staff)", "KOFU_PUBLIC_PORT": "\(verify)"])
        defer { if server.isRunning { kill(server.processIdentifier, SIGKILL) } }
        let onStaff = try await withLoadClient(port: staff, maxConnections: 1, timeout: .seconds(5)) { client -> [Int] in
            [try await client.send("GET", "/staff/me").status,
             try await client.send("GET", "/kiosk/v1/issuances/\(UUID().uuidString.lowercased())").status]
        }
        #expect(onStaff == [401, 404])
        let onPublic = try await withLoadClient(port: verify, maxConnections: 1, timeout: .seconds(5)) { client -> [Int] in
            [try await client.send("GET", "/.well-known/kofu/seal-keys.json").status, try await client.send("GET", "/staff/me").status]
        }
        #expect(onPublic == [200, 404])
        await CrashSafetyTests.stop(server, signal: SIGTERM)
        #expect(!server.isRunning)
    }
}
