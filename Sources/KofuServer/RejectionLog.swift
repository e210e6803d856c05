import Foundation
import Synchronization

/// This node's 503 answers — shed (OVERLOADED) and closed (SERVICE_CLOSED) — per minute for the last 24
/// hours, in memory. They are not ledger entries (shedding must stay cheap under a flood), so the operators'
/// console reads them here; `/metrics` has the same as counters since the start.
public final class RejectionLog: Sendable {
    public enum Kind: Sendable { case shed, closed }

    private struct Minute { var minute: Int; var shed: Int; var closed: Int }
    private static let minutes = 24 * 60
    private let buckets = Mutex<[Minute]>(Array(repeating: Minute(minute: -1, shed: 0, closed: 0), count: RejectionLog.minutes))

    public init() {}

    public func record(_ kind: Kind, at date: Date) {
        let minute = Int(date.timeIntervalSince1970 / 60)
        buckets.withLock { b in
            let i = ((minute % Self.minutes) + Self.minutes) % Self.minutes
            if b[i].minute != minute { b[i] = Minute(minute: minute, shed: 0, closed: 0) }
            switch kind {
            case .shed: b[i].shed += 1
            case .closed: b[i].closed += 1
            }
        }
    }

    /// Totals over the `seconds` before `now` (at most 24 h).
    public func counts(last seconds: TimeInterval, now: Date) -> (shed: Int, closed: Int) {
        let end = Int(now.timeIntervalSince1970 / 60)
        let start = end - Int(min(seconds, 86_400) / 60) + 1
        return buckets.withLock { b in
            b.filter { $0.minute >= start && $0.minute <= end }.reduce(into: (shed: 0, closed: 0)) { sum, m in
                sum.shed += m.shed
                sum.closed += m.closed
            }
        }
    }
}
