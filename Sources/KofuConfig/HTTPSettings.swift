import Foundation

/// How the HTTP listener protects itself from slow or greedy clients, and who may read `/metrics`
/// (`http.*`, `metrics.*`).
public struct HTTPSettings: Sendable, Equatable {
    /// `http.idle_timeout_seconds` (default 30): a connection with no request in progress is closed after
    /// this long without a byte of a new request.
    public var idleTimeout: Int
    /// `http.header_timeout_seconds` (default 10): from the first byte of a request to the end of its headers.
    public var headerTimeout: Int
    /// `http.body_timeout_seconds` (default 15): from the end of the headers to the end of the body.
    public var bodyTimeout: Int
    /// `http.max_connections` (default 512): connections beyond this wait in the kernel's backlog until one closes.
    public var maxConnections: Int
    /// `metrics.bearer_token_file`: a file holding the token `/metrics` requires (`Authorization: Bearer …`).
    public var metricsTokenFile: String?

    public init(idleTimeout: Int = 30, headerTimeout: Int = 10, bodyTimeout: Int = 15, maxConnections: Int = 512,
                metricsTokenFile: String? = nil) {
        self.idleTimeout = idleTimeout
        self.headerTimeout = headerTimeout
        self.bodyTimeout = bodyTimeout
        self.maxConnections = maxConnections
        self.metricsTokenFile = metricsTokenFile
    }

    /// The metrics token: the file's first line, which must not be empty. nil when no file is configured.
    public func metricsToken() throws -> String? {
        guard let metricsTokenFile else { return nil }
        guard let text = try? String(contentsOfFile: metricsTokenFile, encoding: .utf8) else {
            throw ConfigError(source: metricsTokenFile, key: "metrics.bearer_token_file", message: "cannot read \(metricsTokenFile)")
        }
        let token = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? ""
        guard token.utf8.count >= 16 else {
            throw ConfigError(source: metricsTokenFile, key: "metrics.bearer_token_file", message: "the token must be at least 16 characters")
        }
        return token
    }
}

extension KofuConfiguration {
    /// Reads `http.*` timeouts and limits and `metrics.*`, reporting a bad value with its source.
    public func httpSettings() throws -> HTTPSettings {
        HTTPSettings(
            idleTimeout: try values.int("http.idle_timeout_seconds", default: 30, range: 1...3600),
            headerTimeout: try values.int("http.header_timeout_seconds", default: 10, range: 1...600),
            bodyTimeout: try values.int("http.body_timeout_seconds", default: 15, range: 1...600),
            maxConnections: try values.int("http.max_connections", default: 512, range: 1...100_000),
            metricsTokenFile: values.optionalString("metrics.bearer_token_file"))
    }
}
