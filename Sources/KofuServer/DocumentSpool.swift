import Foundation
import KofuCrypto
import KofuStorage

/// Where ready documents wait for the kiosk, one file per issuance, encrypted with AES-256-GCM under a key
/// that lives only in this process's memory, and bound to its issuance id (the id is the GCM associated
/// data, so a file can never be opened as another issuance's document). A document is overwritten and
/// deleted on delivery, cancel, expiry, failure — and at start, since a restart loses the key anyway.
///
/// Documents of different issuances share nothing but the key, so calls run in parallel. The file work
/// (writes, and the overwrite + fsync of a wipe, which waits for the disk) runs on `BlockingIO`'s threads,
/// never on Swift's cooperative pool, whose few threads render and answer requests.
public final class DocumentSpool: Sendable {
    public let directory: String
    private let key = AES256GCM.randomKey()

    public enum Error: Swift.Error, Equatable {
        case missing
        case unreadable
    }

    public init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    private func path(_ id: String) -> String {
        precondition(id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || $0 == 45 }, "issuance ids are lower-case UUIDs")
        return (directory as NSString).appendingPathComponent("\(id).spool")
    }

    /// Encrypts and writes the document of issuance `id`.
    public func store(id: String, pdf: [UInt8]) async throws {
        let sealed = key.seal(pdf, aad: Array(id.utf8))
        let p = path(id)
        try await BlockingIO.run { try Self.writeFile(sealed, to: p) }
    }

    private static func writeFile(_ sealed: [UInt8], to p: String) throws {
        let fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else { throw Error.unreadable }
        defer { close(fd) }
        let written = sealed.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == sealed.count else {
            Self.overwriteAndDelete(p)
            throw Error.unreadable
        }
    }

    /// The document of issuance `id`, decrypted; `missing` once wiped.
    public func load(id: String) async throws -> [UInt8] {
        let p = path(id)
        guard let data = try await BlockingIO.run({ FileManager.default.contents(atPath: p) }) else { throw Error.missing }
        do {
            return try key.open(Array(data), aad: Array(id.utf8))
        } catch {
            throw Error.unreadable
        }
    }

    /// Overwrites and deletes the document of issuance `id` (no-op when already gone).
    public func wipe(id: String) async {
        let p = path(id)
        _ = try? await BlockingIO.run { Self.overwriteAndDelete(p) }
    }

    public func contains(id: String) -> Bool { FileManager.default.fileExists(atPath: path(id)) }

    /// The issuance ids of the documents waiting (file names that are not spool documents are left out).
    public func ids() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).compactMap { name in
            guard name.hasSuffix(".spool") else { return nil }
            let id = String(name.dropLast(6))
            return UUID(uuidString: id) != nil && id == id.lowercased() ? id : nil
        }
    }

    /// Number of documents waiting.
    public func count() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spool") }.count
    }

    /// Overwrites and deletes every file in the spool directory (at start: leftovers of a crash).
    /// Returns how many files were wiped.
    @discardableResult
    public func wipeAll() async -> Int {
        let directory = self.directory
        return (try? await BlockingIO.run { Self.wipeAll(in: directory) }) ?? 0
    }

    private static func wipeAll(in directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names { Self.overwriteAndDelete((directory as NSString).appendingPathComponent(name)) }
        return names.count
    }

    /// Overwrite with zeros, flush them to disk, then unlink.
    static func overwriteAndDelete(_ path: String) {
        let fd = open(path, O_WRONLY)
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0, st.st_size > 0 {
                let zeros = [UInt8](repeating: 0, count: Int(st.st_size))
                _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                // fdatasync, not fsync: the zeros are what must reach the disk; the size is unchanged, so the
                // only metadata skipped is the modification time (no journal commit for it).
                fdatasync(fd)
            }
            close(fd)
        }
        unlink(path)
    }
}

/// Runs blocking file work (writes, fsync) on a concurrent dispatch queue used as task executor: threads
/// outside Swift's cooperative pool, so a slow disk never holds up rendering or request handling.
enum BlockingIO {
    private static let executor = DispatchTaskExecutor(queue: DispatchQueue(label: "kofu.blocking-io", attributes: .concurrent))

    static func run<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withTaskExecutorPreference(executor) { try await runHere(body) }
    }

    /// Nonisolated, so it runs on the preferred executor whatever the caller's isolation.
    private static func runHere<R: Sendable>(_ body: @Sendable () throws -> R) async throws -> R { try body() }
}
