import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A plain HTTP client for many concurrent requests (a pool of up to `maxConnections` keep-alive
/// connections), used where a test needs real concurrency or talks to a `kofu serve` process.
/// Built on AsyncHTTPClient (NIO); Foundation's URLSession on Linux was seen to lose a completion under
/// load and leave a test waiting forever. Use it through `withLoadClient`, which always shuts it down.
struct LoadClient: Sendable {
    let base: String
    let http: HTTPClient
    let timeout: TimeAmount

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    func send(_ method: String, _ path: String, json: [String: Any]? = nil, accept: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: base + path)
        request.method = HTTPMethod(rawValue: method)
        if let json {
            request.body = .bytes(ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json)))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if let accept { request.headers.add(name: "Accept", value: accept) }
        let response = try await http.execute(request, timeout: timeout)
        let body = try await response.body.collect(upTo: 32 << 20)
        var headers: [String: String] = [:]
        for (name, value) in response.headers { headers[name] = value }
        return Reply(status: Int(response.status.code), headers: headers, body: Array(buffer: body))
    }
}

/// Runs `body` with a load client for the server on `port`, and shuts the client down afterwards
/// (also when `body` throws), closing every connection before the caller stops the server.
func withLoadClient<T: Sendable>(port: Int, maxConnections: Int = 64, timeout: Duration = .seconds(120),
                                 _ body: (LoadClient) async throws -> T) async throws -> T {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: maxConnections)
    // The connect timeout also bounds the wait for a free pooled connection: queued requests wait their turn.
    let limit = TimeAmount.seconds(timeout.components.seconds)
    configuration.timeout = .init(connect: limit, read: limit)
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    let client = LoadClient(base: "http://127.0.0.1:\(port)", http: http, timeout: limit)
    do {
        let value = try await body(client)
        try await http.shutdown()
        return value
    } catch {
        try? await http.shutdown()
        throw error
    }
}
