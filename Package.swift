// swift-tools-version: 6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "kofu",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kofu", targets: ["KofuCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.1.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.25.0"),
        .package(url: "https://github.com/vapor/sql-kit", from: "3.30.0"),
        .package(url: "https://github.com/vapor/sqlite-kit", from: "4.5.0"),
        .package(url: "https://github.com/vapor/postgres-kit", from: "2.13.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        // The staff pages' templates (Templates/staff), read at start so a municipality can restyle them.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        // Tests only (HummingbirdTesting builds it anyway): the concurrent HTTP client of the load tests.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.30.0"),
    ],
    targets: [
        // C libraries, one thin system-library target each (pkg-config names from TECH.md).
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo freetype2",
                       providers: [.apt(["libcairo2-dev", "libfreetype-dev"])]),
        .systemLibrary(name: "CQRencode", path: "Sources/CQRencode", pkgConfig: "libqrencode",
                       providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        /// People, fiscal years, tax items, certificates, Japanese formatting, eligibility rules. Pure Swift.
        .target(name: "KofuDomain", swiftSettings: swiftSettings),
        /// The configuration file + KOFU_* environment overrides.
        .target(name: "KofuConfig", dependencies: [
            "KofuDomain", "Yams",
        ], swiftSettings: swiftSettings),
        /// OpenSSL wrappers: SHA-256, ECDSA P-256, AES-256-GCM, scrypt, random bytes.
        .target(name: "KofuCrypto", dependencies: ["COpenSSL"], swiftSettings: swiftSettings),
        /// Templates → PDF: Kofu's own PDF writer on the hot path (zlib, FreeType metrics, libqrencode), cairo as
        /// the reference drawing the tests compare it with.
        .target(name: "KofuRendering", dependencies: [
            "KofuDomain", "CCairo", "CQRencode", "CZlib", "Yams",
        ], swiftSettings: swiftSettings),
        /// The signed QR seal: payload, Base45, signing and verification, key files.
        .target(name: "KofuSeal", dependencies: ["KofuDomain", "KofuCrypto"], swiftSettings: swiftSettings),
        /// Stores (tax data, ledger, audit, users, spool metadata) on SQLite or PostgreSQL, linkage import.
        .target(name: "KofuStorage", dependencies: [
            "KofuDomain", "KofuCrypto",
            .product(name: "SQLKit", package: "sql-kit"),
            .product(name: "SQLiteKit", package: "sqlite-kit"),
            .product(name: "PostgresKit", package: "postgres-kit"),
            .product(name: "Logging", package: "swift-log"),
        ], swiftSettings: swiftSettings),
        /// The HTTP server: kiosk API, verification, counter, operators.
        .target(name: "KofuServer", dependencies: [
            "KofuDomain", "KofuConfig", "KofuCrypto", "KofuRendering", "KofuSeal", "KofuStorage",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Mustache", package: "swift-mustache"),
        ], resources: [.copy("Resources")], swiftSettings: swiftSettings),
        .executableTarget(name: "KofuCLI", dependencies: [
            "KofuDomain", "KofuConfig", "KofuCrypto", "KofuRendering", "KofuSeal", "KofuStorage", "KofuServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ], swiftSettings: swiftSettings),

        .testTarget(name: "KofuCryptoTests", dependencies: ["KofuCrypto"], swiftSettings: swiftSettings),
        .testTarget(name: "KofuDomainTests", dependencies: ["KofuDomain", "KofuConfig"], swiftSettings: swiftSettings),
        .testTarget(name: "KofuRenderingTests", dependencies: ["KofuRendering", "KofuDomain", "KofuTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KofuSealTests", dependencies: ["KofuSeal", "KofuCrypto", "KofuRendering", "KofuTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KofuStorageTests", dependencies: ["KofuStorage", "KofuDomain", "KofuTestSupport", "KofuStorageTestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "KofuServerTests", dependencies: [
            "KofuServer", "KofuStorage", "KofuSeal", "KofuTestSupport", "KofuStorageTestSupport",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], swiftSettings: swiftSettings),
        /// Helpers shared by test targets: temp dirs, running pdftotext/zbarimg/qpdf, fixture paths.
        .target(name: "KofuTestSupport", dependencies: ["KofuDomain"], path: "Tests/KofuTestSupport", swiftSettings: swiftSettings),
        /// Test databases: a fresh SQLite file, and a fresh PostgreSQL database when KOFU_TEST_POSTGRES_URL is set.
        .target(name: "KofuStorageTestSupport", dependencies: ["KofuStorage", "KofuTestSupport"], path: "Tests/KofuStorageTestSupport", swiftSettings: swiftSettings),
    ]
)

// Development convenience: `KOFU_BUILD_ONLY=KofuRendering,KofuSeal swift test` builds and tests only those
// modules (with what they depend on, and the test targets they fully cover), which keeps a first build
// of one layer at a minute or two instead of the whole server's ten. CI and the README never set it.
if let only = Context.environment["KOFU_BUILD_ONLY"], !only.isEmpty {
    var keep = Set(only.split(separator: ",").map(String.init))
    let byName = Dictionary(uniqueKeysWithValues: package.targets.map { ($0.name, $0) })
    func localDeps(_ t: Target) -> [String] {
        t.dependencies.compactMap {
            switch $0 {
            case .targetItem(let name, _): return name
            case .byNameItem(let name, _): return byName[name] != nil ? name : nil
            default: return nil
            }
        }
    }
    var queue = Array(keep)
    while let name = queue.popLast() {
        for d in byName[name].map(localDeps) ?? [] where !keep.contains(d) { keep.insert(d); queue.append(d) }
    }
    for t in package.targets where t.type == .test && localDeps(t).allSatisfy({ keep.contains($0) }) {
        keep.insert(t.name)
    }
    package.targets = package.targets.filter { keep.contains($0.name) }
    if !keep.contains("KofuCLI") { package.products = [] }
}
