import Foundation

/// Paths and helpers shared by Kofu's test targets.
public enum TestSupport {
    /// The package root (the folder holding Package.swift), found from this file's path.
    public static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `Tests/Fixtures`.
    public static var fixturesDirectory: String { packageRoot + "/Tests/Fixtures" }
    /// The shipped `Templates/` folder.
    public static var templatesDirectory: String { packageRoot + "/Templates" }
    /// The shipped certificate font.
    public static var fontPath: String { packageRoot + "/Fonts/BIZUDMincho-Regular.ttf" }
    /// The shipped 公印 image.
    public static var sealImagePath: String { packageRoot + "/Templates/seal.png" }
}

/// A fresh directory under the system temp folder, removed when the value is released.
public final class TemporaryDirectory: @unchecked Sendable {
    // Safety: immutable after init.
    public let path: String

    public init(prefix: String = "kofu-test") throws {
        let base = FileManager.default.temporaryDirectory
            .appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        path = base.path
    }

    /// The path of `name` inside the directory.
    public func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    /// Writes `bytes` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, bytes: [UInt8]) throws -> String {
        let p = file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: p))
        return p
    }

    /// Writes `text` (UTF-8) to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, text: String) throws -> String {
        try write(name, bytes: Array(text.utf8))
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
