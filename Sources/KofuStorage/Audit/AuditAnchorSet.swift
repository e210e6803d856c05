import Foundation
import KofuCrypto

/// Where an anchor came from, for reports: `file:line`, and what it says.
public struct AuditAnchorReference: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var anchor: AuditAnchor

    public var description: String { "\(file):\(line)" }
}

/// The anchors a verification compares the log with: read from one or more anchors files (one per node),
/// each line's signature checked against the trusted public keys.
///
/// Read the anchors *before* the verifier reads the database: then every anchor names an entry that was
/// committed when the database is read, and an anchor the server writes meanwhile cannot look like one
/// beyond the head.
///
/// Memory stays small for years of anchors: per anchor only its sequence number, its hash (32 bytes) and
/// where it is; the rest is read back from the file for the few anchors a report names.
public struct AuditAnchorSet: Sendable {
    struct Item: Sendable {
        var seq: Int64
        var hash: Hash256
        var file: Int32
        var line: Int32
        var offset: Int64
    }

    /// The files read, in the order given.
    public let files: [String]
    /// Valid anchors, sorted by `seq`.
    let items: [Item]
    /// Lines that are not valid anchors: unreadable, signed by an unknown key, or with a bad signature.
    public let problems: [AuditProblem]
    /// The number of valid anchors.
    public var count: Int { items.count }

    /// Reads every line of `files` and checks its signature with `trustedKeys`.
    public static func read(files: [String], trustedKeys: [ECDSAP256.PublicKey]) throws -> AuditAnchorSet {
        let keys = Dictionary(trustedKeys.map { (AuditAnchorKey.keyID(of: $0), $0) }, uniquingKeysWith: { a, _ in a })
        var items: [Item] = []
        var problems: [AuditProblem] = []
        for (index, path) in files.enumerated() {
            try AuditAnchorLines.forEach(in: path) { lineNumber, offset, bytes in
                let place = "\(path):\(lineNumber)"
                guard let anchor = AuditAnchor(jsonLine: bytes), let hash = Hash256(hex: anchor.hash) else {
                    problems.append(AuditProblem(kind: .anchorInvalid, seq: 0, detail: "\(place): not an anchor line"))
                    return
                }
                guard let key = keys[anchor.keyID] else {
                    problems.append(AuditProblem(kind: .anchorInvalid, seq: anchor.seq,
                                                 detail: "\(place): signed by key \(anchor.keyID), which is not among the trusted anchor keys"))
                    return
                }
                guard let signature = Hex.decode(anchor.signature), key.isValidSignature(signature, for: anchor.signedBytes) else {
                    problems.append(AuditProblem(kind: .anchorInvalid, seq: anchor.seq,
                                                 detail: "\(place): the signature does not verify (the line was changed)"))
                    return
                }
                items.append(Item(seq: anchor.seq, hash: hash, file: Int32(index), line: Int32(clamping: lineNumber), offset: offset))
            }
        }
        items.sort { $0.seq < $1.seq }
        return AuditAnchorSet(files: files, items: items, problems: problems)
    }

    /// The full anchor behind `item`, read back from its file.
    func reference(_ item: Item) -> AuditAnchorReference {
        let path = files[Int(item.file)]
        let anchor = AuditAnchorLines.line(in: path, at: item.offset).flatMap { AuditAnchor(jsonLine: $0) }
            ?? AuditAnchor(seq: item.seq, hash: item.hash.hex, at: "?", keyID: "?", node: "?", signature: "")
        return AuditAnchorReference(file: path, line: Int(item.line), anchor: anchor)
    }
}

/// A SHA-256 value held inline (an anchor set may hold millions).
struct Hash256: Hashable, Sendable {
    var a: UInt64, b: UInt64, c: UInt64, d: UInt64

    init?(hex: String) {
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else { return nil }
        func word(_ i: Int) -> UInt64 { bytes[i..<(i + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
        a = word(0); b = word(8); c = word(16); d = word(24)
    }

    var hex: String {
        Hex.encode([a, b, c, d].flatMap { w in (0..<8).reversed().map { UInt8(truncatingIfNeeded: w >> (UInt64($0) * 8)) } })
    }
}

/// Reading an anchors file line by line.
enum AuditAnchorLines {
    /// Calls `body` with each non-empty line (1-based number, byte offset, bytes without the newline).
    static func forEach(in path: String, _ body: (Int, Int64, ArraySlice<UInt8>) throws -> Void) throws {
        guard let file = fopen(path, "rb") else { throw AuditAnchorError.fileUnreadable(path: path) }
        defer { fclose(file) }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        var pending: [UInt8] = []
        var pendingOffset: Int64 = 0
        var offset: Int64 = 0
        var lineNumber = 0
        func emit(_ bytes: ArraySlice<UInt8>, at start: Int64) throws {
            lineNumber += 1
            if !bytes.isEmpty { try body(lineNumber, start, bytes) }
        }
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n == 0 { break }
            var start = 0
            for i in 0..<n where buffer[i] == UInt8(ascii: "\n") {
                if pending.isEmpty {
                    try emit(buffer[start..<i], at: offset + Int64(start))
                } else {
                    pending += buffer[start..<i]
                    try emit(pending[...], at: pendingOffset)
                    pending = []
                }
                start = i + 1
            }
            if start < n {
                if pending.isEmpty { pendingOffset = offset + Int64(start) }
                pending += buffer[start..<n]
            }
            offset += Int64(n)
        }
        if ferror(file) != 0 { throw AuditAnchorError.fileUnreadable(path: path) }
        if !pending.isEmpty { try emit(pending[...], at: pendingOffset) }
    }

    /// The line starting at byte `offset`, without its newline.
    static func line(in path: String, at offset: Int64) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = pread(fd, &buffer, buffer.count, off_t(offset))
        guard n > 0 else { return nil }
        return Array(buffer[0..<n].prefix { $0 != UInt8(ascii: "\n") })
    }
}
