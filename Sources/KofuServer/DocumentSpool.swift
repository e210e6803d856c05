import Foundation
import KofuCrypto
import Logging
import Synchronization

/// Where ready documents wait for the kiosk: in this process's memory only, never in a file. Each document is
/// encrypted with AES-256-GCM under a key that lives only in this process, bound to its issuance id (the id
/// is the GCM associated data, so a buffer can never be opened as another issuance's document), and held in
/// a buffer of its own mapped with `mmap`, locked in RAM (`mlock`, so it is never written to swap) and left
/// out of core dumps (`MADV_DONTDUMP`). A document is zeroed and unmapped on delivery, cancel, expiry,
/// failure and stop; a restart loses it with the key and the memory, which is what a document that lives
/// seconds should do (docs/issuance.md, "Spool").
///
/// The spool holds at most `maxBytes` (`issuance.spool_max_bytes`). An issuance takes room for its
/// document (`reserve()`) before it draws numbers, so a full spool sheds requests before they leave any
/// trace in the ledger; only a document larger than any before it can still find the spool full when it is
/// stored.
///
/// Calls of different issuances share the key and one lock held for bookkeeping and copies, never for a
/// system call that may wait.
public final class DocumentSpool: Sendable {
    /// The byte cap: mapped bytes of stored documents plus room reserved for documents being rendered.
    public let maxBytes: Int
    private let key = AES256GCM.randomKey()
    private let state = Mutex(State())
    private let logger: Logger
    /// Called with each buffer after it is zeroed and before it is unmapped (tests read it there).
    let beforeRelease: (@Sendable (UnsafeRawBufferPointer) -> Void)?

    public enum Error: Swift.Error, Equatable {
        case missing
        case unreadable
        /// Storing the document would pass `maxBytes` (the request is shed with 503 OVERLOADED).
        case full
    }

    /// Room reserved for one document until it is stored or given back (whichever comes first; the other
    /// is then a no-op).
    public final class Reservation: Sendable {
        let bytes: Int
        fileprivate let spent = Atomic<Bool>(false)
        fileprivate init(bytes: Int) { self.bytes = bytes }

        /// True exactly once: for the first of `store` and `release` to use it.
        fileprivate func spend() -> Bool { !spent.exchange(true, ordering: .acquiringAndReleasing) }
    }

    private struct State {
        var documents: [String: LockedBuffer] = [:]
        /// Mapped bytes of the stored documents.
        var storedBytes = 0
        /// Bytes reserved by issuances still rendering.
        var reservedBytes = 0
        /// The largest document stored so far (mapped bytes): what the next issuance reserves.
        var largest = 0
        var warnedUnlocked = false
    }

    /// What an issuance reserves before the first document has shown how large they are.
    static let firstReservation = 256 * 1024

    public init(maxBytes: Int, logger: Logger = Logger(label: "kofu.spool"),
                beforeRelease: (@Sendable (UnsafeRawBufferPointer) -> Void)? = nil) {
        self.maxBytes = maxBytes
        self.logger = logger
        self.beforeRelease = beforeRelease
    }

    /// Takes room for one document: as much as the largest stored so far (at most the whole cap), or throws
    /// `full` when that much is not free.
    public func reserve() throws(Error) -> Reservation {
        let bytes = try state.withLock { s throws(Error) -> Int in
            let bytes = min(maxBytes, s.largest > 0 ? s.largest : Self.firstReservation)
            guard s.storedBytes + s.reservedBytes + bytes <= maxBytes else { throw Error.full }
            s.reservedBytes += bytes
            return bytes
        }
        return Reservation(bytes: bytes)
    }

    /// Gives back the room of a reservation that was not used to store a document (no-op once used).
    public func release(_ reservation: Reservation) {
        guard reservation.spend() else { return }
        state.withLock { $0.reservedBytes -= reservation.bytes }
    }

    /// Encrypts the document of issuance `id` and keeps it in locked memory. `reservation` (spent here) is
    /// the room taken before rendering; without one, or when the document is larger, the rest must be free.
    public func store(id: String, pdf: [UInt8], reservation: Reservation? = nil) async throws {
        let sealed = key.seal(pdf, aad: Array(id.utf8))
        let mapped = LockedBuffer.mappedSize(sealed.count)
        let reserved = reservation.map { $0.spend() ? $0.bytes : 0 } ?? 0
        try state.withLock { s throws(Error) in
            s.reservedBytes -= reserved
            guard s.storedBytes + s.reservedBytes + mapped <= maxBytes else { throw Error.full }
            s.storedBytes += mapped
            s.largest = max(s.largest, mapped)
        }
        guard let buffer = LockedBuffer(copying: sealed) else {
            state.withLock { $0.storedBytes -= mapped }
            throw Error.unreadable
        }
        if !buffer.locked { warnUnlockedOnce(errno: buffer.lockError) }
        let replaced = state.withLock { s in
            let old = s.documents.updateValue(buffer, forKey: id)
            if let old { s.storedBytes -= old.mapped }
            return old
        }
        // Issuance ids are fresh UUIDs, so this does not happen; if it did, the old buffer is not left behind.
        replaced.map(release)
    }

    /// The document of issuance `id`, decrypted; `missing` once wiped.
    public func load(id: String) async throws -> [UInt8] {
        // Copied under the lock: a wipe cannot unmap the buffer while it is read.
        guard let sealed = state.withLock({ $0.documents[id].map { $0.copy() } }) else { throw Error.missing }
        do {
            return try key.open(sealed, aad: Array(id.utf8))
        } catch {
            throw Error.unreadable
        }
    }

    /// Zeroes and unmaps the document of issuance `id` (no-op when already gone).
    public func wipe(id: String) async {
        let buffer = state.withLock { s -> LockedBuffer? in
            guard let buffer = s.documents.removeValue(forKey: id) else { return nil }
            s.storedBytes -= buffer.mapped
            return buffer
        }
        buffer.map(release)
    }

    public func contains(id: String) -> Bool { state.withLock { $0.documents[id] != nil } }

    /// The issuance ids of the documents waiting.
    public func ids() -> [String] { state.withLock { Array($0.documents.keys) } }

    /// Number of documents waiting.
    public func count() -> Int { state.withLock { $0.documents.count } }

    /// Documents waiting, the memory they take (mapped bytes), and the room reserved for renders in progress.
    public func usage() -> (documents: Int, bytes: Int, reservedBytes: Int) {
        state.withLock { ($0.documents.count, $0.storedBytes, $0.reservedBytes) }
    }

    /// Zeroes and unmaps every document (at a stop). Returns how many were wiped.
    @discardableResult
    public func wipeAll() async -> Int {
        let buffers = state.withLock { s -> [LockedBuffer] in
            let all = Array(s.documents.values)
            s.documents.removeAll()
            s.storedBytes = 0
            return all
        }
        buffers.forEach(release)
        return buffers.count
    }

    private func release(_ buffer: LockedBuffer) {
        buffer.zero()
        beforeRelease?(buffer.bytes)
        buffer.unmap()
    }

    /// One warning per process, without any document detail: the documents stay encrypted, but may reach swap.
    private func warnUnlockedOnce(errno: Int32) {
        let first = state.withLock { s in
            defer { s.warnedUnlocked = true }
            return !s.warnedUnlocked
        }
        guard first else { return }
        logger.warning("spool memory could not be locked (RLIMIT_MEMLOCK?); documents stay encrypted but may be swapped",
                       metadata: ["spool_max_bytes": "\(maxBytes)", "errno": "\(errno)"])
    }

    // MARK: - the file spool of earlier versions

    /// Overwrites with zeros, flushes and deletes every file in `directory` — the spool directory of the file
    /// spool earlier versions kept — then removes the directory. Run once at start; nothing writes there
    /// again. Returns how many files were wiped (0 when there is no such directory).
    /// (Blocking file work, `fdatasync` included: it runs before the listeners open, when nothing waits on it.)
    public static func removeFileSpool(at directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names { overwriteAndDelete((directory as NSString).appendingPathComponent(name)) }
        rmdir(directory)
        return names.count
    }

    /// Overwrite with zeros, flush them to disk, then unlink.
    static func overwriteAndDelete(_ path: String) {
        let fd = open(path, O_WRONLY | O_NOFOLLOW)
        if fd >= 0 {
            var st = stat()
            if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size > 0 {
                let zeros = [UInt8](repeating: 0, count: Int(st.st_size))
                _ = zeros.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                fdatasync(fd)
            }
            close(fd)
        }
        unlink(path)
    }
}

/// One encrypted document in memory of its own: anonymous pages mapped for it, locked when the limit allows,
/// excluded from core dumps, zeroed before they are unmapped.
struct LockedBuffer: @unchecked Sendable {
    // Safety: the pages are written once before the buffer is shared, then only read (under the spool's
    // lock) until the one owner that removed it from the spool zeroes and unmaps them.
    let base: UnsafeMutableRawPointer
    let length: Int
    let mapped: Int
    let locked: Bool
    /// `errno` of the failed `mlock` (0 when locked).
    let lockError: Int32

    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func mappedSize(_ length: Int) -> Int { max(1, (length + pageSize - 1) / pageSize) * pageSize }

    /// Maps, protects and fills a buffer with `bytes`; nil when the mapping fails.
    init?(copying bytes: [UInt8]) {
        let mapped = Self.mappedSize(bytes.count)
        guard let p = mmap(nil, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              p != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        // Before the first byte is written, so no part of the document is ever in a dump or on swap.
        _ = madvise(p, mapped, MADV_DONTDUMP)
        locked = mlock(p, mapped) == 0
        lockError = locked ? 0 : errno
        bytes.withUnsafeBytes { if let from = $0.baseAddress { p.copyMemory(from: from, byteCount: $0.count) } }
        base = p; length = bytes.count; self.mapped = mapped
    }

    var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: mapped) }

    func copy() -> [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: length)) }

    /// `explicit_bzero`: a clearing the compiler may not drop although the memory is unmapped right after.
    func zero() { explicit_bzero(base, mapped) }

    func unmap() {
        if locked { munlock(base, mapped) }
        munmap(base, mapped)
    }
}
