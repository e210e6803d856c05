import Foundation

/// One of the surfaces `kofu serve` listens on, each on its own address (KIOSK_API.md, "Other surfaces").
public enum KofuSurface: String, Sendable, Hashable, CaseIterable {
    /// The certificate center: the kiosk API, `/healthz`, `/readyz` (mutual TLS in production).
    case kiosk
    /// The city hall intranet: staff pages and their JSON API, `/metrics` (server TLS, no client certificate,
    /// an optional address allowlist).
    case staff
    /// Anyone: seal verification and the published keys, read-only.
    case publicVerification = "public"
}

/// Where one surface listens and how (`http.*` + `tls.*` for the kiosk, `staff.*`, `public.*`).
public struct ListenerSettings: Sendable, Equatable {
    public var surface: KofuSurface
    public var host: String
    public var port: Int
    /// Server certificate and key (PEM). Without them: plain HTTP, which is only allowed on loopback.
    public var tlsCertificate: String?
    public var tlsKey: String?
    /// Kiosk only: clients must present a certificate chaining to this CA (the certificate center's).
    public var clientCA: String?
    /// Staff only: when not empty, only peers in these networks are served (others get 403).
    public var allow: [IPNetwork]

    public var usesTLS: Bool { tlsCertificate != nil }
    public var address: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    /// `http://127.0.0.1:8081` — for the start-up log and `scripts/run.sh`.
    public var url: String { "\(usesTLS ? "https" : "http")://\(address)" }

    public init(surface: KofuSurface, host: String, port: Int, tlsCertificate: String? = nil, tlsKey: String? = nil,
                clientCA: String? = nil, allow: [IPNetwork] = []) {
        self.surface = surface; self.host = host; self.port = port
        self.tlsCertificate = tlsCertificate; self.tlsKey = tlsKey; self.clientCA = clientCA; self.allow = allow
    }

    static func isLoopback(_ host: String) -> Bool { host == "localhost" || host == "::1" || host.hasPrefix("127.") }
}

/// An IPv4 or IPv6 network in CIDR form (`10.20.0.0/16`, `192.168.1.7`, `fd00::/8`).
public struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let address: [UInt8]
    let prefix: Int

    public init?(_ text: String) {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let bytes = Self.parse(String(parts[0])) else { return nil }
        let bits = bytes.count * 8
        let prefix = parts.count == 2 ? Int(parts[1]) : bits
        guard let prefix, (0...bits).contains(prefix) else { return nil }
        self.address = bytes
        self.prefix = prefix
    }

    /// Whether `ip` (textual, as a socket address prints it) lies in this network.
    public func contains(_ ip: String) -> Bool {
        guard var bytes = Self.parse(ip) else { return false }
        // An IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) is matched as IPv4.
        if bytes.count == 16, address.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF, bytes[11] == 0xFF {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == address.count else { return false }
        var remaining = prefix
        for i in bytes.indices where remaining > 0 {
            let take = min(8, remaining)
            let mask: UInt8 = take == 8 ? 0xFF : ~(0xFF >> UInt8(take))
            if bytes[i] & mask != address[i] & mask { return false }
            remaining -= take
        }
        return true
    }

    public var description: String { "\(Self.format(address))/\(prefix)" }

    static func parse(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    static func format(_ bytes: [UInt8]) -> String {
        bytes.count == 4 ? bytes.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
    }
}

extension KofuConfiguration {
    /// The three listeners: the kiosk (`http.*`, `tls.*`), staff (`staff.*`, default 127.0.0.1:8081) and
    /// public verification (`public.*`, default 127.0.0.1:8082). Plain HTTP only on loopback; distinct ports.
    public func listeners() throws -> [ListenerSettings] {
        let kiosk = ListenerSettings(surface: .kiosk, host: httpHost, port: httpPort, tlsCertificate: tlsCertificate,
                                     tlsKey: tlsKey, clientCA: tlsClientCA)
        func listener(_ surface: KofuSurface, _ section: String, defaultPort: Int) throws -> ListenerSettings {
            let host = values.string("\(section).host", default: "127.0.0.1")
            let port = try values.int("\(section).port", default: defaultPort, range: 0...65535)
            let cert = values.optionalString("\(section).tls_cert")
            let key = values.optionalString("\(section).tls_key")
            if (cert == nil) != (key == nil) {
                throw values.error(cert == nil ? "\(section).tls_cert" : "\(section).tls_key", "TLS needs \(section).tls_cert and \(section).tls_key together")
            }
            for (k, path) in [("\(section).tls_cert", cert), ("\(section).tls_key", key)] {
                if let path, !FileManager.default.isReadableFile(atPath: path) { throw values.error(k, "cannot read \(path)") }
            }
            if cert == nil && !ListenerSettings.isLoopback(host) {
                throw values.error("\(section).host", "\(host) is not a loopback address: plain HTTP is only allowed on loopback; set \(section).tls_cert and \(section).tls_key")
            }
            var allow: [IPNetwork] = []
            if surface == .staff {
                for item in values.list("\(section).allow", default: []) where !item.isEmpty {
                    guard let network = IPNetwork(item) else {
                        throw values.error("\(section).allow", "'\(item)' is not an IP address or network (10.0.0.0/8, fd00::/8)")
                    }
                    allow.append(network)
                }
            }
            return ListenerSettings(surface: surface, host: host, port: port, tlsCertificate: cert, tlsKey: key, allow: allow)
        }
        let all = [kiosk, try listener(.staff, "staff", defaultPort: 8081), try listener(.publicVerification, "public", defaultPort: 8082)]
        for (i, a) in all.enumerated() {
            for b in all[(i + 1)...] where a.port != 0 && a.port == b.port && a.host == b.host {
                throw values.error(b.surface == .staff ? "staff.port" : "public.port",
                                   "\(b.address) is already the \(a.surface.rawValue) listener's address; each surface needs its own port")
            }
        }
        return all
    }
}
