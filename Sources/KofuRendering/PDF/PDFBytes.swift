import CZlib

/// Bytes of a PDF being written, with the few number and string forms the writer needs, formatted without
/// Foundation or `String(format:)` (a page writes a few thousand numbers; printf-style formatting was a visible
/// share of cairo's cost).
struct PDFBytes {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var count: Int { bytes.count }

    @inline(__always) mutating func append(_ byte: UInt8) { bytes.append(byte) }
    mutating func append(_ s: StaticString) {
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }
    mutating func append(_ s: String) { bytes.append(contentsOf: s.utf8) }
    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }
    mutating func append(_ other: PDFBytes) { bytes.append(contentsOf: other.bytes) }

    /// A non-negative or negative integer in decimal.
    mutating func append(_ value: Int) {
        var v = value
        if v < 0 { bytes.append(UInt8(ascii: "-")); v = -v }
        if v < 10 { bytes.append(UInt8(48 + v)); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            while v > 0 { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 }
            for i in stride(from: n - 1, through: 0, by: -1) { bytes.append(d[i]) }
        }
    }

    /// `n 0 R`.
    mutating func reference(_ number: Int) {
        append(number)
        append(" 0 R" as StaticString)
    }

    /// A cross-reference entry's offset: ten digits, zero-padded.
    mutating func appendTenDigits(_ value: Int) {
        var divisor = 1_000_000_000
        while divisor > 0 {
            bytes.append(UInt8(48 + (value / divisor) % 10))
            divisor /= 10
        }
    }

    /// `value` rounded to `decimals` places (at most 6), without trailing zeros: what PDF numbers look like.
    mutating func append(_ value: Double, decimals: Int = 3) {
        let scale = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000][min(6, max(0, decimals))]
        let scaled = Int((abs(value) * Double(scale)).rounded())
        if scaled == 0 { bytes.append(UInt8(ascii: "0")); return }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        append(scaled / scale)
        var fraction = scaled % scale
        guard fraction != 0 else { return }
        bytes.append(UInt8(ascii: "."))
        var width = decimals
        while fraction % 10 == 0 { fraction /= 10; width -= 1 }
        var divisor = 1
        for _ in 1..<max(1, width) { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(48 + (fraction / divisor) % 10))
            divisor /= 10
        }
    }

    /// `" "` then the number.
    mutating func space(_ value: Double, decimals: Int = 3) {
        bytes.append(UInt8(ascii: " "))
        append(value, decimals: decimals)
    }

    private static let hex: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// A 16-bit code as four hex digits (a CID in a `<…> Tj` string, a ToUnicode entry).
    @inline(__always) mutating func appendHex16(_ v: UInt16) {
        bytes.append(Self.hex[Int(v >> 12)])
        bytes.append(Self.hex[Int((v >> 8) & 0xf)])
        bytes.append(Self.hex[Int((v >> 4) & 0xf)])
        bytes.append(Self.hex[Int(v & 0xf)])
    }

    /// A text string as UTF-16BE with its byte-order mark, in hex: the form PDF takes for non-ASCII strings
    /// (the document title).
    mutating func appendTextString(_ s: String) {
        append("<FEFF" as StaticString)
        for unit in s.utf16 { appendHex16(unit) }
        append(">" as StaticString)
    }

    /// A stream object's dictionary (`extra` are further entries) and data, deflated when a deflater is given
    /// (and zlib works).
    mutating func appendStream(_ data: [UInt8], extra: String = "", deflater: Deflater?) {
        if let deflater, let packed = deflater.compress(data) {
            appendPrepared(packed, deflated: true, extra: extra)
        } else {
            appendPrepared(data, deflated: false, extra: extra)
        }
    }

    /// A stream whose bytes are already in their final form: `deflated` says whether they are zlib data.
    mutating func appendPrepared(_ data: [UInt8], deflated: Bool, extra: String = "") {
        append("<< /Length " as StaticString)
        append(data.count)
        if deflated { append(" /Filter /FlateDecode" as StaticString) }
        append(extra)
        append(" >>\nstream\n" as StaticString)
        append(data)
        append("\nendstream" as StaticString)
    }
}

/// zlib's deflate with one stream state kept and reset between uses: `deflateInit` allocates and clears about
/// 270 KB of window and hash tables, which per stream (a page's content, a font, a QR) cost more than compressing
/// the few kilobytes themselves. One per render; never shared between threads.
final class Deflater: @unchecked Sendable {
    // Safety: a render borrows one exclusively from the renderer's pool (`Pool`); nothing else touches it.
    private var stream = z_stream()
    private var ready = false
    let level: Int32

    /// `level` 1–9; the writer uses a fast level per request (`PDFWriter.requestLevel`) and 9 for what it
    /// compresses once at load.
    init(level: Int32) {
        self.level = level
        ready = deflateInit_(&stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
    }

    deinit { if ready { deflateEnd(&stream) } }

    /// `data` as a zlib stream, or nil when zlib failed (the caller then writes it uncompressed).
    func compress(_ data: [UInt8]) -> [UInt8]? {
        guard ready, deflateReset(&stream) == Z_OK else { return nil }
        let bound = Int(deflateBound(&stream, UInt(data.count)))
        var out = [UInt8](repeating: 0, count: bound)
        let produced: Int? = data.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                stream.avail_in = UInt32(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = UInt32(dst.count)
                let status = deflate(&stream, Z_FINISH)
                defer { stream.next_in = nil; stream.next_out = nil }
                return status == Z_STREAM_END ? dst.count - Int(stream.avail_out) : nil
            }
        }
        guard let produced else { return nil }
        out.removeLast(out.count - produced)
        return out
    }
}

/// One-off compression at load time (prebuilt ground, seal, fonts): zlib's best level.
enum Deflate {
    static func compress(_ data: [UInt8]) -> [UInt8]? { Deflater(level: 9).compress(data) }
}
