import Foundation
import KofuCrypto

/// Where ready documents wait for the kiosk, one file per issuance, encrypted with AES-256-GCM under a key
/// that lives only in this process's memory, and bound to its issuance id (the id is the GCM associated
/// data, so a file can never be opened as another issuance's document). A document is overwritten and
/// deleted on delivery, cancel, expiry, failure — and at start, since a restart loses the key anyway.
public actor DocumentSpool {
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
    public func store(id: String, pdf: [UInt8]) throws {
        let sealed = key.seal(pdf, aad: Array(id.utf8))
        let p = path(id)
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
    public func load(id: String) throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path(id)) else { throw Error.missing }
        do {
            return try key.open(Array(data), aad: Array(id.utf8))
        } catch {
            throw Error.unreadable
        }
    }

    /// Overwrites and deletes the document of issuance `id` (no-op when already gone).
    public func wipe(id: String) {
        Self.overwriteAndDelete(path(id))
    }

    public func contains(id: String) -> Bool { FileManager.default.fileExists(atPath: path(id)) }

    /// Number of documents waiting.
    public func count() -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".spool") }.count
    }

    /// Overwrites and deletes every file in the spool directory (at start: leftovers of a crash).
    /// Returns how many files were wiped.
    @discardableResult
    public func wipeAll() -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names { Self.overwriteAndDelete((directory as NSString).appendingPathComponent(name)) }
        return names.count
    }

    /// Overwrite with zeros, flush to disk, then unlink.
    static func overwriteAndDelete(_ path: String) {
        let fd = open(path, O_WRONLY)
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0, st.st_size > 0 {
                let zeros = [UInt8](repeating: 0, count: Int(st.st_size))
                _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                fsync(fd)
            }
            close(fd)
        }
        unlink(path)
    }
}
