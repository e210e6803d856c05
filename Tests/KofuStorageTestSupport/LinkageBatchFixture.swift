import Foundation
import KofuCrypto

/// Linkage batches for tests: copies of the fixtures under `Tests/Fixtures/batches`, edited freely, with
/// the manifest's digests (and optionally row counts) recomputed.
public enum LinkageBatchFixture {
    /// `Tests/Fixtures/batches`.
    public static var fixturesDirectory: String {
        let here = URL(fileURLWithPath: #filePath)
        return here.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/batches").path
    }

    /// Copies fixture batch `name` (`good`, `shift_jis`: linkage format 1; `good_format2`: the good batch in
    /// format 2, assessments.csv with the breakdown columns) into a new temporary directory and returns it.
    public static func copy(_ name: String) throws -> String {
        let dir = try StorageTestSupport.makeTemporaryDirectory(prefix: "kofu-batch")
        let source = (fixturesDirectory as NSString).appendingPathComponent(name)
        for file in try FileManager.default.contentsOfDirectory(atPath: source) {
            try FileManager.default.copyItem(atPath: (source as NSString).appendingPathComponent(file),
                                             toPath: (dir as NSString).appendingPathComponent(file))
        }
        return dir
    }

    public static func read(_ dir: String, _ file: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(file))))
    }

    public static func write(_ dir: String, _ file: String, _ bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(file)))
    }

    /// Replaces the first occurrence of `old` by `new` in `file` (UTF-8 text).
    public static func replace(_ dir: String, _ file: String, _ old: String, with new: String) throws {
        let text = String(decoding: try read(dir, file), as: UTF8.self)
        precondition(text.contains(old), "\(old) not in \(file)")
        try write(dir, file, Array(text.replacingOccurrences(of: old, with: new, options: [], range: text.range(of: old)).utf8))
    }

    /// Rewrites manifest.json: every listed file's sha256 recomputed, plus the given top-level `fields`
    /// (strings, or numbers such as `format_version`) and `rows` counts. With `keepDigests` the digests are left
    /// as they were.
    public static func rewriteManifest(_ dir: String, fields: [String: Any] = [:], rows: [String: Int] = [:],
                                       keepDigests: Bool = false, drop: [String] = []) throws {
        let path = (dir as NSString).appendingPathComponent("manifest.json")
        var root = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        for (k, v) in fields { root[k] = v }
        var files = root["files"] as! [String: Any]
        for name in drop { files[name] = nil }
        for (name, value) in files {
            var entry = value as! [String: Any]
            if !keepDigests {
                entry["sha256"] = SHA256.hex(try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(name))))
            }
            if let n = rows[name] { entry["rows"] = n }
            files[name] = entry
        }
        root["files"] = files
        let data = try JSONSerialization.data(withJSONObject: root, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: URL(fileURLWithPath: path))
    }

    /// 1-based line and column of the first occurrence of `needle` in `file`, searched independently of the
    /// importer so tests can state exact positions.
    public static func position(of needle: String, in dir: String, _ file: String, after: String? = nil) throws -> (line: Int, column: Int) {
        let text = String(decoding: try read(dir, file), as: UTF8.self)
        var start = text.startIndex
        if let after, let r = text.range(of: after) { start = r.upperBound }
        guard let r = text.range(of: needle, range: start..<text.endIndex) else { return (0, 0) }
        var line = 1
        var column = 1
        for s in text.unicodeScalars[text.unicodeScalars.startIndex..<r.lowerBound] {
            if s == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return (line, column)
    }

    /// Removes `dir`.
    public static func remove(_ dir: String) {
        try? FileManager.default.removeItem(atPath: dir)
    }
}
