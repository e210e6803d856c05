import Foundation
import HummingbirdTesting
import KofuServer
import KofuTestSupport
import Testing

/// Production transport: HTTPS that accepts only the certificate center's client certificate.
@Suite struct MutualTLSTests {
    /// A CA, a server certificate for 127.0.0.1, a client certificate from that CA, and one from another CA.
    static func makeCertificates(in dir: String) throws {
        func openssl(_ args: String) throws {
            let r = try PDFTools.run("sh", ["-c", "cd \(dir) && openssl \(args) 2>/dev/null"])
            guard r.status == 0 else { throw CancellationError() }
        }
        for ca in ["ca", "rogue"] {
            try openssl("req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(ca).key -out \(ca).pem -days 2 -subj /CN=\(ca)")
        }
        try openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr -subj /CN=127.0.0.1")
        _ = try PDFTools.run("sh", ["-c", "cd \(dir) && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"])
        try openssl("x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext")
        for (name, ca) in [("center", "ca"), ("stranger", "rogue")] {
            try openssl("req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(name).key -out \(name).csr -subj /CN=\(name)")
            try openssl("x509 -req -in \(name).csr -CA \(ca).pem -CAkey \(ca).key -CAcreateserial -out \(name).pem -days 2")
        }
    }

    @Test func onlyTheCentersClientCertificateIsAccepted() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        let dir = "\(h.dataDir)/tls"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Self.makeCertificates(in: dir)
        let tls = ["KOFU_TLS_CERT": "\(dir)/server.pem", "KOFU_TLS_KEY": "\(dir)/server.key", "KOFU_TLS_CLIENT_CA": "\(dir)/ca.pem"]
        let services = try await h.openServices(tls)
        let app = try buildApplication(services, host: "127.0.0.1", port: 0)
        try await app.testLive(warmUp: false) { client in
            let url = "https://127.0.0.1:\(client.port!)/healthz"
            // curl runs off the cooperative pool: the server answering it needs that pool (see runOffPool).
            func curl(_ extra: [String]) async throws -> ToolResult {
                try await PDFTools.runOffPool("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "30",
                                                       "--cacert", "\(dir)/ca.pem"] + extra + [url])
            }
            let center = try await curl(["--cert", "\(dir)/center.pem", "--key", "\(dir)/center.key"])
            #expect(center.status == 0)
            #expect(center.stdout == "200")
            let none = try await curl([])
            #expect(none.status != 0 || none.stdout != "200", "no client certificate: refused")
            let stranger = try await curl(["--cert", "\(dir)/stranger.pem", "--key", "\(dir)/stranger.key"])
            #expect(stranger.status != 0 || stranger.stdout != "200", "another CA's certificate: refused")
            let plain = try await PDFTools.runOffPool("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                                                  "http://127.0.0.1:\(client.port!)/healthz"])
            #expect(plain.stdout != "200", "no plain HTTP beside TLS")
        }
        await services.close()
    }

    @Test func plainHTTPOffLoopbackIsRefusedAtStart() throws {
        let h = KioskHarness.packageRoot
        #expect(throws: (any Error).self) {
            _ = try KofuConfigurationProbe.load(["KOFU_HTTP_HOST": "0.0.0.0"], root: h)
        }
        #expect(throws: (any Error).self) {
            _ = try KofuConfigurationProbe.load(["KOFU_TLS_CERT": "/nonexistent.pem"], root: h)
        }
    }
}

import KofuConfig

enum KofuConfigurationProbe {
    static func load(_ env: [String: String], root: String) throws -> KofuConfiguration {
        try KofuConfiguration(values: ConfigValues(file: "\(root)/config/kofu.yaml", environment: env), file: nil)
    }
}
