#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KofuCrypto

/// The text encodings a batch may declare.
public enum LinkageEncoding: String, Sendable, Codable {
    case utf8 = "UTF-8"
    /// Windows-31J (CP932), what legacy systems call Shift_JIS.
    case shiftJIS = "Shift_JIS"

    /// Accepts the spellings legacy systems use.
    public init?(declared: String) {
        switch declared.uppercased().replacingOccurrences(of: "-", with: "_") {
        case "UTF_8", "UTF8": self = .utf8
        case "SHIFT_JIS", "SJIS", "CP932", "WINDOWS_31J", "MS932": self = .shiftJIS
        default: return nil
        }
    }
}

/// Reading a linkage file failed below the CSV level.
enum ByteSourceError: Error {
    case cannotOpen(errno: Int32)
    case readFailed(errno: Int32)
    /// A byte sequence that is not valid in the declared encoding; `byte` is its first byte.
    case invalidSequence(byte: UInt8)
    case converterUnavailable
}

/// Reads a file in fixed-size chunks, converting Shift_JIS (CP932) to UTF-8 on the way with iconv, so memory
/// does not grow with the file. After an invalid byte it returns what was decoded before it, then throws.
final class LinkageByteSource {
    static let chunkSize = 1 << 20

    private let file: UnsafeMutablePointer<FILE>
    private let converter: iconv_t?
    private var input: [UInt8]
    /// Bytes of an incomplete multibyte sequence carried to the next read.
    private var carry = 0
    private var pendingError: ByteSourceError?
    private var atEOF = false

    init(path: String, encoding: LinkageEncoding) throws {
        guard let f = fopen(path, "rb") else { throw ByteSourceError.cannotOpen(errno: errno) }
        file = f
        input = [UInt8](repeating: 0, count: Self.chunkSize)
        if encoding == .shiftJIS {
            let cd: iconv_t? = iconv_open("UTF-8", "CP932")
            if cd == nil || cd == UnsafeMutableRawPointer(bitPattern: -1) {
                fclose(f)
                throw ByteSourceError.converterUnavailable
            }
            converter = cd
        } else {
            converter = nil
        }
    }

    deinit {
        fclose(file)
        if let converter { iconv_close(converter) }
    }

    /// The next chunk of UTF-8 bytes, or nil at the end of the file.
    func next() throws -> [UInt8]? {
        if let e = pendingError {
            pendingError = nil
            throw e
        }
        if atEOF { return nil }
        let n = input.withUnsafeMutableBytes { buf in
            fread(buf.baseAddress! + carry, 1, Self.chunkSize - carry, file)
        }
        if n < Self.chunkSize - carry {
            if ferror(file) != 0 { throw ByteSourceError.readFailed(errno: errno) }
            atEOF = true
        }
        guard let converter else {
            if n == 0 { return nil }
            // Hand out the read buffer itself: the caller drops it before asking for the next chunk, so the next
            // read reuses it in place (no 1 MiB allocation per chunk).
            if n < input.count { input.removeSubrange(n...) }
            return input
        }
        let available = carry + n
        var output = [UInt8](repeating: 0, count: available * 3 + 16)
        var consumed = 0
        var produced = 0
        input.withUnsafeMutableBytes { inBuf in
            output.withUnsafeMutableBytes { outBuf in
                var inPtr: UnsafeMutablePointer<CChar>? = inBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var inLeft = available
                var outPtr: UnsafeMutablePointer<CChar>? = outBuf.baseAddress!.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuf.count
                let rc = iconv(converter, &inPtr, &inLeft, &outPtr, &outLeft)
                consumed = available - inLeft
                produced = outBuf.count - outLeft
                if rc == -1 {
                    switch errno {
                    case EINVAL where !atEOF:
                        break
                    case EINVAL, EILSEQ:
                        pendingError = .invalidSequence(byte: inBuf[consumed])
                    default:
                        pendingError = .invalidSequence(byte: inLeft > 0 ? inBuf[consumed] : 0)
                    }
                }
            }
        }
        carry = available - consumed
        if carry > 0, pendingError == nil {
            input.withUnsafeMutableBytes { buf in
                _ = memmove(buf.baseAddress!, buf.baseAddress! + consumed, carry)
            }
        }
        if produced == 0, pendingError == nil, atEOF { return nil }
        output.removeSubrange(produced...)
        return output
    }

    /// SHA-256 and size of the raw file, read in chunks.
    static func digest(path: String) throws -> (sha256: String, bytes: Int) {
        guard let f = fopen(path, "rb") else { throw ByteSourceError.cannotOpen(errno: errno) }
        defer { fclose(f) }
        let hasher = KofuCrypto.SHA256.Hasher()
        var buf = [UInt8](repeating: 0, count: chunkSize)
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { fread($0.baseAddress!, 1, chunkSize, f) }
            if n > 0 {
                buf.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                total += n
            }
            if n < chunkSize {
                if ferror(f) != 0 { throw ByteSourceError.readFailed(errno: errno) }
                break
            }
        }
        return (Hex.encode(hasher.finalize()), total)
    }
}
