import Foundation
import KofuDomain
import SQLKit

/// One issuance as the operators' console and the daily settlement count it: times, kind, outcome, where
/// it came from and what it cost — never its id, addressee or request, so nothing read here identifies a
/// person.
public struct IssuanceActivity: Sendable, Equatable {
    public var createdAt: Date
    /// When it became ready (its `ready` event); nil if it never did.
    public var readyAt: Date?
    public var status: IssuanceStatus
    public var channel: IssuanceChannel
    public var kind: String
    /// `store_chain/store_id/terminal_id` of a kiosk request; nil for the counter.
    public var terminal: String?
    public var copies: Int
    public var feeYen: Int
    public var refusalCode: String?
    public var internalReason: String?
    /// The reason given with `cancel` (`print_failure`, `counter_cancel`, …) when cancelled.
    public var cancelReason: String?
    /// How many of its certificate numbers are void.
    public var voidedNumbers: Int

    public init(createdAt: Date, readyAt: Date?, status: IssuanceStatus, channel: IssuanceChannel, kind: String, terminal: String?,
                copies: Int, feeYen: Int, refusalCode: String?, internalReason: String?, cancelReason: String?, voidedNumbers: Int) {
        self.createdAt = createdAt; self.readyAt = readyAt; self.status = status; self.channel = channel; self.kind = kind
        self.terminal = terminal; self.copies = copies; self.feeYen = feeYen; self.refusalCode = refusalCode
        self.internalReason = internalReason; self.cancelReason = cancelReason; self.voidedNumbers = voidedNumbers
    }

    /// The store chain of a kiosk request (the first part of `terminal`); nil for the counter.
    public var storeChain: String? {
        terminal.map { String($0.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).first ?? "") }
    }
}

extension LedgerStore {
    /// Every issuance created in `[from, to)`, oldest first, as counts are made of it (see `IssuanceActivity`).
    /// One statement over the `created_at` index; the ready time and cancel reason come from the events.
    public func activity(from: Date, to: Date) async throws -> [IssuanceActivity] {
        try await database.read { db in
            try await db.raw("""
                SELECT i.created_at, i.status, i.channel, i.kind, i.terminal, i.copies, i.fee_yen, i.refusal_code, i.internal_reason,
                       (SELECT MIN(e.at) FROM issuance_events e WHERE e.issuance_id = i.id AND e.status = 'ready') AS ready_at,
                       (SELECT MIN(e.detail) FROM issuance_events e WHERE e.issuance_id = i.id AND e.status = 'cancelled') AS cancel_reason,
                       (SELECT COUNT(*) FROM certificate_numbers c WHERE c.issuance_id = i.id AND c.status = 'void') AS voided
                FROM issuances i
                WHERE i.created_at >= \(bind: Self.millis(from)) AND i.created_at < \(bind: Self.millis(to))
                ORDER BY i.created_at
                """).all().map { row in
                IssuanceActivity(
                    createdAt: Self.date(try row.decode(column: "created_at", as: Int64.self)),
                    readyAt: try row.decode(column: "ready_at", as: Int64?.self).map(Self.date),
                    status: IssuanceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .failed,
                    channel: IssuanceChannel(rawValue: try row.decode(column: "channel", as: String.self)) ?? .kiosk,
                    kind: try row.decode(column: "kind", as: String.self),
                    terminal: try row.decode(column: "terminal", as: String?.self),
                    copies: try row.decode(column: "copies", as: Int.self),
                    feeYen: try row.decode(column: "fee_yen", as: Int.self),
                    refusalCode: try row.decode(column: "refusal_code", as: String?.self),
                    internalReason: try row.decode(column: "internal_reason", as: String?.self),
                    cancelReason: try row.decode(column: "cancel_reason", as: String?.self),
                    voidedNumbers: Int(try row.decode(column: "voided", as: Int64.self)))
            }
        }
    }
}
