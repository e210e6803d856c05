import Foundation

/// The result of running an external tool.
public struct ToolResult: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Errors from the PDF helpers.
public enum PDFToolError: Error, CustomStringConvertible {
    case toolFailed(tool: String, status: Int32, stderr: String)
    case unexpectedOutput(tool: String, output: String)
    public var description: String {
        switch self {
        case .toolFailed(let t, let s, let e): "\(t) exited \(s): \(e)"
        case .unexpectedOutput(let t, let o): "\(t) printed unexpected output: \(o)"
        }
    }
}

/// Reads PDFs the way a person or a kiosk would, with poppler, qpdf and zbar (Debian: poppler-utils,
/// qpdf, zbar-tools). Every helper writes the PDF to its own temporary directory.
public enum PDFTools {
    /// Runs `tool` (looked up on PATH) with `arguments`.
    public static func run(_ tool: String, _ arguments: [String]) throws -> ToolResult {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [tool] + arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try ProcessSpawn.locked { try p.run() }
        // Read both pipes before waiting so a large output cannot block the tool.
        let errData = PipeReader.readInBackground(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ToolResult(status: p.terminationStatus,
                          stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData(), as: UTF8.self))
    }

    /// `run` on a thread of its own, for a tool that talks to a server in this process (curl against a
    /// live test server). Blocking a thread of Swift's cooperative pool while waiting for an answer that
    /// needs that pool would starve the server on a 2-core machine, where the pool has two threads.
    public static func runOffPool(_ tool: String, _ arguments: [String]) async throws -> ToolResult {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread { continuation.resume(with: Result { try run(tool, arguments) }) }
            thread.start()
        }
    }

    private static func runChecked(_ tool: String, _ arguments: [String]) throws -> String {
        let r = try run(tool, arguments)
        guard r.status == 0 else { throw PDFToolError.toolFailed(tool: tool, status: r.status, stderr: r.stderr) }
        return r.stdout
    }

    private static func withPDF<T>(_ pdf: [UInt8], _ body: (String, TemporaryDirectory) throws -> T) throws -> T {
        let dir = try TemporaryDirectory(prefix: "kofu-pdf")
        let path = try dir.write("document.pdf", bytes: pdf)
        return try body(path, dir)
    }

    /// `pdftotext -raw`: the text of every page in drawing order.
    public static func text(_ pdf: [UInt8]) throws -> String {
        try withPDF(pdf) { path, _ in try runChecked("pdftotext", ["-raw", "-enc", "UTF-8", path, "-"]) }
    }

    /// The text as `pdftotext -layout` places it on the page (columns kept by position).
    public static func layoutText(_ pdf: [UInt8]) throws -> String {
        try withPDF(pdf) { path, _ in try runChecked("pdftotext", ["-layout", "-enc", "UTF-8", path, "-"]) }
    }

    /// `text` without any whitespace (ASCII or ideographic), for searching: pdftotext turns the gap of a
    /// U+3000 or of letter-spaced titles into spaces or line breaks depending on layout.
    public static func compact(_ text: String) -> String {
        String(text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init))
    }

    /// The text of page `page` (1-based).
    public static func text(_ pdf: [UInt8], page: Int) throws -> String {
        try withPDF(pdf) { path, _ in
            try runChecked("pdftotext", ["-raw", "-f", String(page), "-l", String(page), "-enc", "UTF-8", path, "-"])
        }
    }

    /// One font as `pdffonts` lists it.
    public struct FontInfo: Sendable {
        public let name: String
        public let type: String
        public let embedded: Bool
        public let subset: Bool
        public let unicode: Bool
    }

    /// `pdffonts`: the fonts of the document.
    public static func fonts(_ pdf: [UInt8]) throws -> [FontInfo] {
        let out = try withPDF(pdf) { path, _ in try runChecked("pdffonts", [path]) }
        // name type [type] encoding emb sub uni object ID — read the yes/no columns from the right.
        return out.split(separator: "\n").dropFirst(2).compactMap { line in
            let cols = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard cols.count >= 7 else { return nil }
            let n = cols.count
            return FontInfo(name: cols[0], type: cols[1..<(n - 6)].joined(separator: " "),
                            embedded: cols[n - 5] == "yes", subset: cols[n - 4] == "yes", unicode: cols[n - 3] == "yes")
        }
    }

    /// `qpdf --check`: nil when the file is clean, else qpdf's complaint.
    public static func qpdfCheck(_ pdf: [UInt8]) throws -> String? {
        try withPDF(pdf) { path, _ in
            let r = try run("qpdf", ["--check", path])
            let all = r.stdout + r.stderr
            if r.status == 0, all.contains("No syntax or stream encoding errors found"), !all.contains("WARNING") { return nil }
            return "status \(r.status): \(all)"
        }
    }

    /// Page sizes in points from `pdfinfo`, one per page.
    public static func pageSizes(_ pdf: [UInt8]) throws -> [(width: Double, height: Double)] {
        try withPDF(pdf) { path, _ in
            let out = try runChecked("pdfinfo", ["-f", "1", "-l", "10000", path])
            return try out.split(separator: "\n").filter { $0.hasPrefix("Page") && $0.contains("size:") }.map { line in
                let parts = line.split(separator: ":", maxSplits: 1)[1].split(separator: " ")
                guard parts.count >= 3, let w = Double(parts[0]), let h = Double(parts[2]) else {
                    throw PDFToolError.unexpectedOutput(tool: "pdfinfo", output: String(line))
                }
                return (w, h)
            }
        }
    }

    /// The page count from `pdfinfo`.
    public static func pageCount(_ pdf: [UInt8]) throws -> Int {
        try withPDF(pdf) { path, _ in
            let out = try runChecked("pdfinfo", [path])
            guard let line = out.split(separator: "\n").first(where: { $0.hasPrefix("Pages:") }),
                  let n = Int(line.dropFirst(6).trimmingCharacters(in: .whitespaces)) else {
                throw PDFToolError.unexpectedOutput(tool: "pdfinfo", output: out)
            }
            return n
        }
    }

    /// Rasterises page `page` with `pdftoppm` at `dpi` and returns the PNG bytes.
    public static func png(_ pdf: [UInt8], page: Int = 1, dpi: Int = 100) throws -> [UInt8] {
        try withPDF(pdf) { path, dir in
            let prefix = dir.file("page")
            _ = try runChecked("pdftoppm", ["-r", String(dpi), "-png", "-singlefile", "-f", String(page), "-l", String(page), path, prefix])
            return Array(try Data(contentsOf: URL(fileURLWithPath: prefix + ".png")))
        }
    }

    /// The share of pixel columns in a horizontal band of page `page` (mm from the top left, rasterised in
    /// grey at `dpi` with `pdftoppm -gray`) holding at least one pixel darker than `threshold` (0–255).
    public static func inkedColumns(_ pdf: [UInt8], page: Int = 1, dpi: Int = 600, xMM: ClosedRange<Double>,
                                    yMM: ClosedRange<Double>, threshold: UInt8 = 160) throws -> Double {
        func px(_ mm: Double) -> Int { Int((mm / 25.4 * Double(dpi)).rounded()) }
        return try withPDF(pdf) { path, dir in
            let prefix = dir.file("band")
            _ = try runChecked("pdftoppm", ["-r", String(dpi), "-gray", "-singlefile", "-f", String(page), "-l", String(page),
                                            "-x", String(px(xMM.lowerBound)), "-y", String(px(yMM.lowerBound)),
                                            "-W", String(px(xMM.upperBound) - px(xMM.lowerBound)),
                                            "-H", String(px(yMM.upperBound) - px(yMM.lowerBound)), path, prefix])
            // Binary PGM: "P5", width, height, maxval, each followed by one whitespace byte, then the pixels.
            let data = Array(try Data(contentsOf: URL(fileURLWithPath: prefix + ".pgm")))
            var fields: [Int] = [], i = 2, current = ""
            while fields.count < 3, i < data.count {
                let c = data[i]; i += 1
                if (48...57).contains(c) { current.append(Character(UnicodeScalar(c))) } else if !current.isEmpty {
                    fields.append(Int(current)!); current = ""
                }
            }
            guard fields.count == 3 else { throw PDFToolError.unexpectedOutput(tool: "pdftoppm", output: "not a PGM") }
            let (w, h) = (fields[0], fields[1])
            let pixels = data[i...]
            guard w > 0, pixels.count >= w * h else { throw PDFToolError.unexpectedOutput(tool: "pdftoppm", output: "short PGM") }
            let inked = (0..<w).filter { x in (0..<h).contains { y in pixels[pixels.startIndex + y * w + x] < threshold } }
            return Double(inked.count) / Double(w)
        }
    }

    /// Rasterises page `page` at `dpi` and decodes every QR code on it with `zbarimg`.
    public static func qrCodes(_ pdf: [UInt8], page: Int = 1, dpi: Int = 300) throws -> [String] {
        let image = try png(pdf, page: page, dpi: dpi)
        let dir = try TemporaryDirectory(prefix: "kofu-qr")
        let path = try dir.write("page.png", bytes: image)
        let r = try run("zbarimg", ["--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", path])
        guard r.status == 0 else { return [] }
        return r.stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
}

/// Reads a pipe on a background thread; the returned closure waits for and returns the data.
enum PipeReader {
    static func readInBackground(_ handle: FileHandle) -> @Sendable () -> Data {
        let box = DataBox()
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            box.data = handle.readDataToEndOfFile()
            done.signal()
        }
        return { done.wait(); return box.data }
    }

    private final class DataBox: @unchecked Sendable {
        // Safety: written once on the reader thread before the semaphore is signalled, read after waiting.
        var data = Data()
    }
}

/// Starting child processes one at a time: Foundation's `Process.run()` on Linux was seen to crash copying
/// memory (SIGSEGV in memmove) when many test threads spawned tools at once. Only the spawn is serialized;
/// the tools still run in parallel.
public enum ProcessSpawn {
    private static let lock = NSLock()

    public static func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }
}
