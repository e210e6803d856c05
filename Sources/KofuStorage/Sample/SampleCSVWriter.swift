import Foundation
import KofuCrypto

/// Writes one CSV file quickly: bytes are appended to a buffer that is flushed in 1 MiB blocks, hashed on
/// the way (SHA-256 for the manifest) and rows are counted.
final class SampleCSVWriter {
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private let hasher = KofuCrypto.SHA256.Hasher()
    private(set) var rows = 0
    private var atLineStart = true
    let name: String

    init(directory: String, name: String, header: [String]) throws {
        self.name = name
        let path = (directory as NSString).appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        guard let h = FileHandle(forWritingAtPath: path) else { throw SampleBatchError.cannotWrite(name) }
        handle = h
        buffer.reserveCapacity(1 << 21)
        for (i, column) in header.enumerated() {
            if i > 0 { buffer.append(44) }
            buffer.append(contentsOf: column.utf8)
        }
        buffer.append(10)
    }

    @inline(__always) private func separate() {
        if atLineStart { atLineStart = false } else { buffer.append(44) }
    }

    /// A text field, quoted when it holds a comma, quote or line break.
    func text(_ s: String) {
        separate()
        var needsQuotes = false
        for b in s.utf8 where b == 44 || b == 34 || b == 10 || b == 13 { needsQuotes = true; break }
        if needsQuotes {
            buffer.append(34)
            for b in s.utf8 {
                if b == 34 { buffer.append(34) }
                buffer.append(b)
            }
            buffer.append(34)
        } else {
            buffer.append(contentsOf: s.utf8)
        }
    }

    func int(_ v: Int) {
        separate()
        appendDigits(v, width: 1)
    }

    func digits(_ v: Int, width: Int) {
        separate()
        appendDigits(v, width: width)
    }

    func date(_ y: Int, _ m: Int, _ d: Int) {
        separate()
        appendDigits(y, width: 4)
        buffer.append(45)
        appendDigits(m, width: 2)
        buffer.append(45)
        appendDigits(d, width: 2)
    }

    func date(_ d: SampleDate) { date(d.y, d.m, d.d) }

    func empty() { separate() }

    func endRow() throws {
        buffer.append(10)
        atLineStart = true
        rows += 1
        if buffer.count >= 1 << 20 { try flush() }
    }

    private func appendDigits(_ value: Int, width: Int) {
        let v = max(0, value)
        var divisor = 1
        var n = 1
        while divisor <= v / 10 {
            divisor *= 10
            n += 1
        }
        while n < width {
            buffer.append(48)
            n += 1
        }
        while divisor > 0 {
            buffer.append(UInt8(48 + v / divisor % 10))
            divisor /= 10
        }
    }

    private func flush() throws {
        guard !buffer.isEmpty else { return }
        hasher.update(buffer)
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, closes and returns the manifest entry.
    func finish() throws -> (rows: Int, sha256: String) {
        try flush()
        try handle.close()
        return (rows, Hex.encode(hasher.finalize()))
    }
}

/// A plain date for the generator's arithmetic.
struct SampleDate: Comparable {
    var y: Int, m: Int, d: Int
    static func < (a: SampleDate, b: SampleDate) -> Bool { (a.y, a.m, a.d) < (b.y, b.m, b.d) }
}
