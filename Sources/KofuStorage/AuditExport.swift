import Foundation

/// Errors reading export arguments.
public enum AuditExportError: Error, Equatable, CustomStringConvertible {
    /// Dates are `YYYY-MM-DD` (UTC) or `YYYY-MM-DDTHH:MM:SSZ`.
    case invalidDate(String)

    public var description: String {
        switch self {
        case .invalidDate(let s): "'\(s)' is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ, UTC)"
        }
    }
}

/// Export of the audit log as JSON Lines: one JSON object per entry, keys sorted, in sequence order.
public enum AuditExport {
    /// Parses a range bound. A bare date as the end bound means the end of that day (the range includes it).
    public static func parseBound(_ text: String, isEnd: Bool) throws -> Date {
        if let d = try? Date(text, strategy: Date.ISO8601FormatStyle()) { return d }
        let parts = text.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let day = Int(parts[2]),
              parts[0].count == 4, (1...12).contains(m), (1...31).contains(day) else {
            throw AuditExportError.invalidDate(text)
        }
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        guard let start = cal.date(from: DateComponents(year: y, month: m, day: day)) else { throw AuditExportError.invalidDate(text) }
        return isEnd ? start.addingTimeInterval(86_400) : start
    }

    /// One entry as a JSON line (without the newline).
    public static func jsonLine(_ entry: AuditEntry) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(entry)) ?? Data(), as: UTF8.self)
    }

    /// Every entry with `from <= at < to` as JSON lines.
    public static func jsonLines(from log: AuditLog, from: Date?, to: Date?) async throws -> [String] {
        var lines: [String] = []
        var after: Int64 = 0
        while true {
            let page = try await log.entries(from: from, to: to, afterSeq: after, limit: 5000)
            lines += page.map(jsonLine)
            guard let last = page.last, page.count == 5000 else { break }
            after = last.seq
        }
        return lines
    }

    /// The reason recorded for an export: its range and size.
    public static func rangeDescription(from: Date?, to: Date?, count: Int) -> String {
        "from=\(from.map(AuditChain.timestamp) ?? "-") to=\(to.map(AuditChain.timestamp) ?? "-") entries=\(count)"
    }
}
