import Foundation
import SQLKit

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

/// Which audit entries to show or export: every condition that is set must hold.
public struct AuditFilter: Sendable, Equatable {
    /// `from <= at < to`.
    public var from: Date?
    public var to: Date?
    /// The actor exactly (a staff user ID, `system`, `kiosk-center`, `unknown`).
    public var actor: String?
    public var action: AuditAction?
    /// Text the object contains (`addressee:123`, `user:clerk`, or just `123`).
    public var objectContains: String?
    public var outcome: AuditOutcome?

    public init(from: Date? = nil, to: Date? = nil, actor: String? = nil, action: AuditAction? = nil,
                objectContains: String? = nil, outcome: AuditOutcome? = nil) {
        self.from = from; self.to = to; self.actor = actor; self.action = action
        self.objectContains = objectContains; self.outcome = outcome
    }

    /// The WHERE clause (without the keyword) for these conditions and `extra`.
    func condition(extra: [SQLQueryString] = []) -> SQLQueryString {
        var parts = extra
        if let from { parts.append("at >= \(bind: AuditChain.timestamp(from))") }
        if let to { parts.append("at < \(bind: AuditChain.timestamp(to))") }
        if let actor { parts.append("actor = \(bind: actor)") }
        if let action { parts.append("action = \(bind: action.rawValue)") }
        if let outcome { parts.append("outcome = \(bind: outcome.rawValue)") }
        if let objectContains, !objectContains.isEmpty {
            // LIKE with its wildcards escaped, so the text matches only as itself.
            let escaped = objectContains.replacingOccurrences(of: "!", with: "!!")
                .replacingOccurrences(of: "%", with: "!%").replacingOccurrences(of: "_", with: "!_")
            parts.append("object LIKE \(bind: "%" + escaped + "%") ESCAPE '!'")
        }
        guard var clause = parts.first else { return "1 = 1" }
        for part in parts.dropFirst() { clause = "\(clause) AND \(part)" }
        return clause
    }
}

extension AuditLog {
    /// Entries matching `filter`, newest first, skipping `offset` and returning at most `limit`: a page of
    /// the auditor's log view.
    public nonisolated func entries(matching filter: AuditFilter, newestFirst: Bool, offset: Int = 0,
                                    limit: Int) async throws -> [AuditEntry] {
        let order: SQLQueryString = newestFirst ? "seq DESC" : "seq"
        return try await database.read { db in
            try await db.raw("SELECT seq, at, actor, action, object, outcome, reason, prev_hash, hash FROM audit_log WHERE \(filter.condition()) ORDER BY \(order) LIMIT \(bind: limit) OFFSET \(bind: offset)")
                .all().map(AuditStore.decodeEntry)
        }
    }

    /// Every entry matching `filter`, oldest first (an export), read in pages of `pageSize`.
    public nonisolated func allEntries(matching filter: AuditFilter, pageSize: Int = 5000) async throws -> [AuditEntry] {
        var out: [AuditEntry] = []
        var after: Int64 = 0
        while true {
            let condition = filter.condition(extra: ["seq > \(bind: after)"])
            let page = try await database.read { db in
                try await db.raw("SELECT seq, at, actor, action, object, outcome, reason, prev_hash, hash FROM audit_log WHERE \(condition) ORDER BY seq LIMIT \(bind: pageSize)")
                    .all().map(AuditStore.decodeEntry)
            }
            out += page
            guard let last = page.last, page.count == pageSize else { return out }
            after = last.seq
        }
    }

    /// The distinct actors in the log, for the auditor's filter list.
    public nonisolated func actors() async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT DISTINCT actor FROM audit_log ORDER BY actor").all()
                .map { try $0.decode(column: "actor", as: String.self) }
        }
    }
}

/// The audit log as CSV for a spreadsheet: UTF-8 with a byte order mark (so Excel reads the Japanese
/// correctly), CRLF line ends, RFC 4180 quoting. A field that a spreadsheet would take as a formula
/// (starting with `=`, `+`, `-`, `@`, tab or CR) is prefixed with `'`; the JSON Lines export keeps every
/// value exactly.
public enum AuditCSV {
    public static let byteOrderMark = "\u{FEFF}"
    public static let header = ["seq", "at_utc", "actor", "action", "object", "outcome", "reason", "prev_hash", "hash"]

    public static func row(_ e: AuditEntry) -> String {
        [String(e.seq), e.at, e.actor, e.action, e.object, e.outcome, e.reason, e.prevHash, e.hash].map(field).joined(separator: ",")
    }

    public static func document(_ entries: [AuditEntry]) -> String {
        var out = byteOrderMark + header.joined(separator: ",") + "\r\n"
        for e in entries { out += row(e) + "\r\n" }
        return out
    }

    static func field(_ value: String) -> String {
        var v = value
        if let first = v.unicodeScalars.first, ["=", "+", "-", "@", "\t", "\r"].contains(first) { v = "'" + v }
        guard v.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return v }
        return "\"" + v.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
