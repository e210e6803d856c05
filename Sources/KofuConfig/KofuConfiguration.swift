import Foundation
import KofuDomain

/// Kofu's configuration: `config/kofu.yaml` (or the file named by `KOFU_CONFIG`) with every key
/// overridable by `KOFU_<SECTION>_<KEY>`. Sections used by one module live in that module's own file
/// as an extension that reads `values`.
public struct KofuConfiguration: Sendable {
    /// The raw values, for sections read elsewhere.
    public let values: ConfigValues
    /// The file read, if any.
    public let file: String?

    /// `data.dir` (`KOFU_DATA_DIR`): the SQLite database and the keys (ready documents stay in memory).
    public let dataDir: String
    /// `http.host` / `http.port` (`KOFU_HTTP_HOST` / `KOFU_HTTP_PORT`).
    public let httpHost: String
    public let httpPort: Int
    /// `tls.cert`, `tls.key`, `tls.client_ca`: PEM files for HTTPS with mutual TLS (all three, or none).
    public let tlsCertificate: String?
    public let tlsKey: String?
    public let tlsClientCA: String?
    /// `database.url`: empty for SQLite in the data directory, or `postgres://…`.
    public let databaseURL: String?
    /// `paths.templates` and `paths.fonts`.
    public let templatesDir: String
    public let fontsDir: String
    /// The municipality as printed (`municipality.code`, `.name`, `.mayor_title`, `.mayor_name`).
    public let municipality: Municipality
    /// `municipality.seal_image`: the 公印 PNG.
    public let sealImage: String

    /// Loads the configuration. `environment` defaults to the process environment; a missing default
    /// file is not an error (built-in defaults apply), a missing named file is.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            file explicitFile: String? = nil) throws -> KofuConfiguration {
        var file = explicitFile ?? environment["KOFU_CONFIG"]
        if file == nil, FileManager.default.fileExists(atPath: "config/kofu.yaml") { file = "config/kofu.yaml" }
        let values = try ConfigValues(file: file, environment: environment)
        return try KofuConfiguration(values: values, file: file)
    }

    public init(values: ConfigValues, file: String?) throws {
        self.values = values
        self.file = file
        dataDir = values.string("data.dir", default: "data")
        httpHost = values.string("http.host", default: "127.0.0.1")
        httpPort = try values.int("http.port", default: 8080, range: 0...65535)
        tlsCertificate = values.optionalString("tls.cert")
        tlsKey = values.optionalString("tls.key")
        tlsClientCA = values.optionalString("tls.client_ca")
        let tlsSet = [tlsCertificate, tlsKey, tlsClientCA].filter { $0 != nil }.count
        if tlsSet != 0 && tlsSet != 3 {
            throw values.error(tlsCertificate == nil ? "tls.cert" : (tlsKey == nil ? "tls.key" : "tls.client_ca"),
                               "mutual TLS needs tls.cert, tls.key and tls.client_ca together")
        }
        for (key, path) in [("tls.cert", tlsCertificate), ("tls.key", tlsKey), ("tls.client_ca", tlsClientCA)] {
            if let path, !FileManager.default.isReadableFile(atPath: path) {
                throw values.error(key, "cannot read \(path)")
            }
        }
        let loopback = httpHost == "localhost" || httpHost == "::1" || httpHost.hasPrefix("127.")
        if tlsSet == 0 && !loopback {
            throw values.error("http.host", "\(httpHost) is not a loopback address: plain HTTP is only allowed on loopback; set tls.cert, tls.key and tls.client_ca")
        }
        databaseURL = values.optionalString("database.url")
        if let url = databaseURL, !url.hasPrefix("postgres://"), !url.hasPrefix("postgresql://") {
            throw values.error("database.url", "expected empty (SQLite) or a postgres:// URL")
        }
        templatesDir = values.string("paths.templates", default: "Templates")
        fontsDir = values.string("paths.fonts", default: "Fonts")
        let code = values.string("municipality.code", default: "131041")
        guard MunicipalityCode.isValid(code) else {
            throw values.error("municipality.code", "'\(code)' is not a 6-digit municipality code with a valid check digit")
        }
        municipality = Municipality(
            code: code,
            name: values.string("municipality.name", default: "新宿区"),
            mayorTitle: values.string("municipality.mayor_title", default: "新宿区長"),
            mayorName: values.string("municipality.mayor_name", default: "吉住 健一"),
            verifyURL: values.string("seal.verify_url", default: ""))
        sealImage = values.string("municipality.seal_image", default: "Templates/seal.png")
    }

    /// Whether to serve HTTPS with mutual TLS.
    public var mutualTLS: Bool { tlsCertificate != nil }

    /// The SQLite file used when `database.url` is empty.
    public var sqlitePath: String { (dataDir as NSString).appendingPathComponent("kofu.sqlite") }
}
