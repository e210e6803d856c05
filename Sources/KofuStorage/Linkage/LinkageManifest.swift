import Foundation
import KofuDomain

/// One problem found in a batch, reported as `file:line:column: message`.
///
/// Messages name the column and what is wrong, never the offending value: values are personal data
/// (names, dates of birth, amounts) and these messages end up in operators' logs.
public struct LinkageProblem: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The file inside the batch directory (`residents.csv`, `manifest.json`).
    public var file: String
    /// 1-based line.
    public var line: Int
    /// 1-based column, in characters.
    public var column: Int
    public var message: String

    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }

    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// A batch was rejected; nothing was changed.
public struct LinkageRejection: Error, Sendable, CustomStringConvertible, Codable {
    /// Every problem found, up to the importer's cap, in file order.
    public var problems: [LinkageProblem]
    /// True when the importer stopped looking after reaching its cap: there may be more.
    public var stoppedAtCap: Bool
    /// The manifest's batch id, when the manifest could be read.
    public var batchID: String?

    public init(problems: [LinkageProblem], stoppedAtCap: Bool = false, batchID: String? = nil) {
        self.problems = problems; self.stoppedAtCap = stoppedAtCap; self.batchID = batchID
    }

    public var description: String {
        var lines = problems.map(\.description)
        if stoppedAtCap { lines.append("stopped after \(problems.count) problems; there may be more") }
        lines.append("batch rejected: \(problems.count) problems; nothing was changed")
        return lines.joined(separator: "\n")
    }
}

/// `manifest.json`, validated.
public struct LinkageManifest: Sendable {
    /// The linkage files Kofu knows, in the order they are applied.
    public static let knownFiles = ["residents.csv", "cards.csv", "restrictions.csv", "assessments.csv",
                                    "levies.csv", "vehicles.csv"]

    public struct FileEntry: Sendable, Hashable {
        public var name: String
        public var rows: Int
        public var sha256: String
        /// Where `files.<name>.rows` is in manifest.json, to point at it when the count is wrong.
        var rowsLine = 1
        var rowsColumn = 1
    }

    public var batchID: String
    public var municipalityCode: String
    public var extractedAt: Date
    public var encoding: LinkageEncoding
    /// `format_version`: 1 (the key absent, the original format) or 2 (assessments.csv with the deduction,
    /// dependant, credit, 森林環境税 and 非課税 columns; docs/storage.md).
    public var formatVersion: Int
    /// Listed files, in application order.
    public var files: [FileEntry]

    /// Reads and checks `manifest.json`; `problems` receives every issue with its position in the file.
    static func load(directory: String, expectedMunicipality: String,
                     problems: inout [LinkageProblem]) -> LinkageManifest? {
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        let name = "manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            problems.append(.init(file: name, line: 1, column: 1, message: "cannot read manifest.json"))
            return nil
        }
        let text = String(decoding: data, as: UTF8.self)
        func at(_ key: String, _ message: String, after: String? = nil) {
            let (l, c) = Self.locate("\"\(key)\"", in: text, after: after.map { "\"\($0)\"" })
            problems.append(.init(file: name, line: l, column: c, message: message))
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            problems.append(.init(file: name, line: 1, column: 1, message: "not a JSON object"))
            return nil
        }
        let before = problems.count
        func string(_ key: String) -> String? {
            guard let v = root[key] else {
                problems.append(.init(file: name, line: 1, column: 1, message: "\(key): missing"))
                return nil
            }
            guard let s = v as? String else {
                at(key, "\(key): expected a string")
                return nil
            }
            return s
        }
        let batchID = string("batch_id")
        if let batchID {
            let allowed = batchID.utf8.allSatisfy { c in
                (48...57).contains(c) || (65...90).contains(c) || (97...122).contains(c) || c == 45 || c == 95 || c == 46
            }
            if batchID.isEmpty || batchID.utf8.count > 64 || !allowed {
                at("batch_id", "batch_id: expected 1-64 characters of A-Z a-z 0-9 . _ -")
            }
        }
        let code = string("municipality_code")
        if let code {
            if !MunicipalityCode.isValid(code) {
                at("municipality_code", "municipality_code: not a 6-digit municipality code with a valid check digit")
            } else if code != expectedMunicipality {
                at("municipality_code",
                   "municipality_code: the batch is for municipality \(code), this server serves \(expectedMunicipality)")
            }
        }
        var extractedAt: Date?
        if let s = string("extracted_at") {
            extractedAt = TaxDataTime.parse(s)
            if extractedAt == nil { at("extracted_at", "extracted_at: expected an ISO 8601 time with offset, e.g. 2026-11-22T02:00:00+09:00") }
        }
        var encoding: LinkageEncoding?
        if let s = string("encoding") {
            encoding = LinkageEncoding(declared: s)
            if encoding == nil { at("encoding", "encoding: expected UTF-8 or Shift_JIS") }
        }
        var formatVersion = 1
        if let v = root["format_version"] {
            // The written token too: JSONSerialization reads `true` as the number 1.
            if let n = wholeNumber(v), supportedFormats.contains(n), Self.token(after: "\"format_version\"", in: text) == String(n) {
                formatVersion = n
            } else {
                at("format_version", "format_version: expected \(supportedFormats.map(String.init).joined(separator: " or ")) "
                    + "(absent means 1)")
            }
        }
        var entries: [FileEntry] = []
        if let files = root["files"] as? [String: Any] {
            if files.isEmpty { at("files", "files: no files listed") }
            for (fileName, value) in files {
                guard Self.knownFiles.contains(fileName) else {
                    at(fileName, "files: unknown file \(fileName); expected one of \(Self.knownFiles.joined(separator: ", "))", after: "files")
                    continue
                }
                guard let obj = value as? [String: Any] else {
                    at(fileName, "files.\(fileName): expected {\"rows\": N, \"sha256\": \"…\"}", after: "files")
                    continue
                }
                let rows = Self.wholeNumber(obj["rows"])
                if rows == nil { at("rows", "files.\(fileName).rows: expected a non-negative whole number", after: fileName) }
                let sha = (obj["sha256"] as? String)?.lowercased()
                let shaOK = sha.map { $0.utf8.count == 64 && $0.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) } } ?? false
                if !shaOK { at("sha256", "files.\(fileName).sha256: expected 64 hex digits", after: fileName) }
                if let rows, let sha, shaOK {
                    let filePath = (directory as NSString).appendingPathComponent(fileName)
                    if !FileManager.default.fileExists(atPath: filePath) {
                        at(fileName, "files: \(fileName) is listed but not in the batch directory", after: "files")
                    }
                    let (line, column) = Self.locate("\"rows\"", in: text, after: "\"\(fileName)\"")
                    entries.append(FileEntry(name: fileName, rows: rows, sha256: sha, rowsLine: line, rowsColumn: column))
                }
            }
        } else if root["files"] == nil {
            problems.append(.init(file: name, line: 1, column: 1, message: "files: missing"))
        } else {
            at("files", "files: expected an object of file names")
        }
        guard problems.count == before, let batchID, let code, let extractedAt, let encoding else { return nil }
        entries.sort { knownFiles.firstIndex(of: $0.name)! < knownFiles.firstIndex(of: $1.name)! }
        return LinkageManifest(batchID: batchID, municipalityCode: code, extractedAt: extractedAt,
                               encoding: encoding, formatVersion: formatVersion, files: entries)
    }

    /// The linkage formats this importer reads (`format_version`).
    public static let supportedFormats = 1...2

    /// The JSON value token after `key` and its colon, as written (`2`, `true`, `"2"`).
    private static func token(after key: String, in text: String) -> String? {
        guard let r = text.range(of: key) else { return nil }
        var rest = text[r.upperBound...].drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(rest.prefix { !",}] \t\r\n".contains($0) })
    }

    private static func wholeNumber(_ value: Any?) -> Int? {
        if let n = value as? NSNumber {
            let d = n.doubleValue
            guard d >= 0, d < 1e15, d == d.rounded() else { return nil }
            return Int(d)
        }
        if let i = value as? Int { return i >= 0 ? i : nil }
        return nil
    }

    /// Line and column (1-based, in characters) of the first `needle` in `text` (after `after`, if found).
    static func locate(_ needle: String, in text: String, after: String? = nil) -> (Int, Int) {
        var searchStart = text.startIndex
        if let after, let r = text.range(of: after) { searchStart = r.upperBound }
        guard let r = text.range(of: needle, range: searchStart..<text.endIndex) else { return (1, 1) }
        var line = 1
        var column = 1
        for ch in text.unicodeScalars[text.unicodeScalars.startIndex..<r.lowerBound] {
            if ch == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }
}
