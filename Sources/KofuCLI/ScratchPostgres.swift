import ArgumentParser
import Foundation
import KofuStorage
import SQLKit

/// `--postgres`, the option of the benchmarks that can run on a scratch PostgreSQL database.
struct ScratchPostgresOption: ParsableArguments {
    @Option(help: "A postgres:// URL of a server; the bench creates and drops its own kofu_bench_<random> database there (default: SQLite in a temporary directory).")
    var postgres: String?
}

/// A throw-away database on a PostgreSQL server, for the benchmarks: `kofu_bench_<random>` is created
/// before `body` and dropped after it, whether `body` succeeds or throws. Without a server URL, `body`
/// gets nil and the benchmark uses SQLite.
enum ScratchPostgres {
    static func with<T>(server: String?, _ body: (_ databaseURL: String?) async throws -> T) async throws -> T {
        guard let server else { return try await body(nil) }
        guard var url = URLComponents(string: server) else { throw ValidationError("not a URL: \(server)") }
        let name = "kofu_bench_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let admin = try await KofuDatabase.open(.postgres(url: server))
        try await admin.exclusive { db in try await db.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
        url.path = "/" + name
        let result: Result<T, any Error>
        do { result = .success(try await body(url.string ?? server)) } catch { result = .failure(error) }
        _ = try? await admin.exclusive { db in try await db.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
        await admin.close()
        return try result.get()
    }
}
