import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KofuDomain
import KofuStorage

/// A plain HTTP client for many concurrent requests (one TCP connection each when needed), used where a
/// test needs real concurrency or talks to a `kofu serve` process.
struct LoadClient: Sendable {
    let base: String
    let session: URLSession

    init(port: Int, maxConnections: Int = 64, timeout: TimeInterval = 120) {
        base = "http://127.0.0.1:\(port)"
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = maxConnections
        config.timeoutIntervalForRequest = timeout
        config.urlCache = nil
        session = URLSession(configuration: config)
    }

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        func header(_ name: String) -> String? { headers.first { $0.key.lowercased() == name.lowercased() }?.value }
    }

    /// Closes every connection and gives the server a moment to see them go, so that an in-process
    /// server never shuts down with accepted connections it has not yet served.
    func close() async {
        session.invalidateAndCancel()
        try? await Task.sleep(for: .milliseconds(300))
    }

    func send(_ method: String, _ path: String, json: [String: Any]? = nil, accept: String? = nil) async throws -> Reply {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let json {
            request.httpBody = try JSONSerialization.data(withJSONObject: json)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if let accept { request.setValue(accept, forHTTPHeaderField: "Accept") }
        let (data, response) = try await session.data(for: request)
        let http = response as! HTTPURLResponse
        var headers: [String: String] = [:]
        for (k, v) in http.allHeaderFields { headers["\(k)"] = "\(v)" }
        return Reply(status: http.statusCode, headers: headers, body: Array(data))
    }
}

/// Residents with a usable card, for load tests: (card serial, addressee id, name, address).
/// Only residents with an assessment for `year` (so 所得・課税証明書 issues), an unexpired card, no restriction,
/// not moved in today, and a name the font can print.
func issuableResidents(_ database: KofuDatabase, limit: Int, year: Int) async throws -> [(card: String, id: String, name: String, address: String)] {
    let today = LocalDate.todayInJapan().iso
    return try await database.read { db in
        try await db.raw("""
            SELECT c.card_serial AS card, r.addressee_id AS id, r.name AS name, r.address AS address
            FROM tax_cards c JOIN tax_residents r ON r.addressee_id = c.addressee_id
            WHERE r.status = 'resident' AND c.revoked = 0 AND c.valid_until >= \(bind: today) AND r.status_date < \(bind: today)
              AND r.name NOT LIKE '%𠮷%'
              AND NOT EXISTS (SELECT 1 FROM tax_restrictions t WHERE t.addressee_id = r.addressee_id)
              AND EXISTS (SELECT 1 FROM tax_assessments a WHERE a.addressee_id = r.addressee_id AND a.fiscal_year = \(bind: year))
            ORDER BY r.addressee_id LIMIT \(bind: limit)
            """).all().map {
            (try $0.decode(column: "card", as: String.self), try $0.decode(column: "id", as: String.self),
             try $0.decode(column: "name", as: String.self), try $0.decode(column: "address", as: String.self))
        }
    }
}
