import Foundation
import Yams

/// A configuration problem, reported with where the value came from.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    /// `config/kofu.yaml` or `environment KOFU_HTTP_PORT`.
    public var source: String
    /// `http.port`
    public var key: String
    public var message: String
    public var description: String { "\(source): \(key): \(message)" }
    public init(source: String, key: String, message: String) {
        self.source = source; self.key = key; self.message = message
    }
}

/// The raw settings: the YAML file (two levels, `section: {key: value}`) with every key overridable by
/// an environment variable `KOFU_<SECTION>_<KEY>` (upper-cased). Typed getters report a bad value with
/// its file or variable and key, so a mistake is found at start, not at a resident's request.
public struct ConfigValues: Sendable {
    private var values: [String: (value: String, source: String)]

    /// Reads `file` (if given) and overlays `environment`.
    public init(file: String?, environment: [String: String]) throws {
        values = [:]
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ConfigError(source: file, key: "-", message: "cannot read the configuration file")
            }
            let node: Any?
            do { node = try Yams.load(yaml: text) } catch {
                throw ConfigError(source: file, key: "-", message: "not valid YAML: \(error)")
            }
            guard let root = node as? [String: Any] else {
                if node == nil { return }
                throw ConfigError(source: file, key: "-", message: "expected sections of key: value pairs")
            }
            for (section, body) in root {
                // A section whose keys are all commented out is empty, not an error.
                if body is NSNull { continue }
                guard let dict = body as? [String: Any] else {
                    throw ConfigError(source: file, key: section, message: "expected a section of key: value pairs")
                }
                for (key, value) in dict {
                    let text: String
                    switch value {
                    case let list as [Any]: text = list.map { "\($0)" }.joined(separator: ",")
                    case is [String: Any]:
                        throw ConfigError(source: file, key: "\(section).\(key)", message: "nested sections are not supported")
                    default: text = "\(value)"
                    }
                    values["\(section).\(key)"] = (text, file)
                }
            }
        }
        for (name, value) in environment where name.hasPrefix("KOFU_") && name != "KOFU_CONFIG" {
            let rest = name.dropFirst(5).lowercased()
            guard let underscore = rest.firstIndex(of: "_") else { continue }
            let key = rest[..<underscore] + "." + rest[rest.index(after: underscore)...]
            values[String(key)] = (value, "environment \(name)")
        }
    }

    /// Every key that has a value, for `kofu config` listings.
    public var keys: [String] { values.keys.sorted() }

    public func has(_ key: String) -> Bool { values[key] != nil }

    public func string(_ key: String, default def: String) -> String { values[key]?.value ?? def }

    public func optionalString(_ key: String) -> String? {
        guard let v = values[key]?.value, !v.isEmpty else { return nil }
        return v
    }

    public func int(_ key: String, default def: Int, range: ClosedRange<Int>? = nil) throws -> Int {
        guard let (raw, source) = values[key] else { return def }
        guard let v = Int(raw.trimmingCharacters(in: .whitespaces)) else {
            throw ConfigError(source: source, key: key, message: "expected a whole number, got '\(raw)'")
        }
        if let range, !range.contains(v) {
            throw ConfigError(source: source, key: key, message: "\(v) is outside \(range.lowerBound)...\(range.upperBound)")
        }
        return v
    }

    public func bool(_ key: String, default def: Bool) throws -> Bool {
        guard let (raw, source) = values[key] else { return def }
        switch raw.lowercased().trimmingCharacters(in: .whitespaces) {
        case "true", "yes", "on", "1": return true
        case "false", "no", "off", "0": return false
        default: throw ConfigError(source: source, key: key, message: "expected true or false, got '\(raw)'")
        }
    }

    public func list(_ key: String, default def: [String]) -> [String] {
        guard let (raw, _) = values[key] else { return def }
        return raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// Throws a `ConfigError` for `key` with `message`, naming where its value came from.
    public func error(_ key: String, _ message: String) -> ConfigError {
        ConfigError(source: values[key]?.source ?? "default", key: key, message: message)
    }
}
