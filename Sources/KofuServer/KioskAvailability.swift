import Foundation
import KofuConfig
import KofuDomain
import KofuStorage

/// Whether the kiosk service takes requests now, and if not, why. The one decision that the kiosk
/// (`SERVICE_CLOSED`), `/readyz` and the operators' page all show, so they can never disagree.
public struct KioskAvailability: Sendable, Equatable {
    /// Why the kiosk does not issue (a kind of certificate, or everything).
    public enum Reason: Sendable, Equatable {
        /// 休業日 (`issuance.closed_days`).
        case closedDay
        /// 時間外 (`issuance.service_hours`).
        case outsideHours
        /// 受付停止: an operator paused intake.
        case paused(IntakePause)
        /// データ更新遅延: a data set is older than `issuance.max_data_age_hours` (or was never loaded).
        case dataStale(dataSet: String, ageHours: Double?)

        /// A short code for `/readyz`, logs and metrics (no personal data).
        public var code: String {
            switch self {
            case .closedDay: "closed_day"
            case .outsideHours: "outside_hours"
            case .paused: "paused"
            case .dataStale(let set, let age): age == nil ? "data_missing_\(set)" : "data_stale_\(set)"
            }
        }

        /// The label the operators' page shows.
        public var japanese: String {
            switch self {
            case .closedDay: "休業日"
            case .outsideHours: "時間外"
            case .paused: "受付停止"
            case .dataStale(let set, let age):
                age == nil ? "データ未取込(\(DataSetNames.japanese(set)))" : "データ更新遅延(\(DataSetNames.japanese(set)))"
            }
        }
    }

    /// When it was decided.
    public var at: Date
    /// Reasons that close the service for every kind, first the most telling.
    public var closedForAll: [Reason]
    /// Reasons that close it for some kinds only (a stale data set used by those kinds).
    public var closedKinds: [CertificateKind: Reason]

    /// The kiosk takes requests of every kind.
    public var isFullyOpen: Bool { closedForAll.isEmpty && closedKinds.isEmpty }
    /// The kiosk takes no request at all.
    public var isClosed: Bool { !closedForAll.isEmpty || CertificateKind.allCases.allSatisfy { closedKinds[$0] != nil } }

    /// Why a request of `kind` is refused now, or nil when it may go on to the eligibility rules.
    public func reason(for kind: CertificateKind) -> Reason? { closedForAll.first ?? closedKinds[kind] }

    /// Every reason in force, each once (for `/readyz` and the operators' page).
    public var allReasons: [Reason] {
        var seen: [Reason] = closedForAll
        for kind in CertificateKind.allCases { if let r = closedKinds[kind], !seen.contains(r) { seen.append(r) } }
        return seen
    }
}

/// The kiosk intake pause as stored in the shared service state (every node sees it).
public struct IntakePause: Sendable, Equatable, Codable {
    public var paused: Bool
    /// The staff member who paused or resumed.
    public var by: String?
    public var since: Date?
    public var reason: String?

    public init(paused: Bool, by: String? = nil, since: Date? = nil, reason: String? = nil) {
        self.paused = paused; self.by = by; self.since = since; self.reason = reason
    }

    /// Reads the stored value; `"true"`/`"false"` are the form written before the pause had a reason.
    static func decode(_ value: String?) -> IntakePause {
        guard let value else { return IntakePause(paused: false) }
        if value == "true" { return IntakePause(paused: true) }
        if value == "false" { return IntakePause(paused: false) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .millisecondsSince1970
        // An unreadable value keeps the kiosk closed: pausing must never fail open.
        return (try? decoder.decode(IntakePause.self, from: Data(value.utf8))) ?? IntakePause(paused: true, reason: "unreadable pause state")
    }

    var encoded: String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .millisecondsSince1970
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(self)) ?? Data("true".utf8), as: UTF8.self)
    }
}

/// The Japanese names of the linkage data sets, for staff pages.
public enum DataSetNames {
    public static func japanese(_ set: String) -> String {
        switch set {
        case "residents": "住民"
        case "cards": "カード"
        case "restrictions": "交付制限"
        case "levies": "課税・納付"
        case "assessments": "所得・課税"
        case "vehicles": "軽自動車"
        default: set
        }
    }
}

extension IssuanceService {
    /// The one decision: closed day, service hours, operator pause, then the age of the data each kind is
    /// issued from (the sets `EligibilityPolicy.dataSets(for:)` names).
    public func availability(at now: Date) async throws -> KioskAvailability {
        var all: [KioskAvailability.Reason] = []
        let day = JapanTime.localDate(now)
        if settings.isClosedDay(month: day.month, day: day.day) {
            all.append(.closedDay)
        } else if !settings.isOpen(month: day.month, day: day.day, minuteOfDay: JapanTime.minuteOfDay(now)) {
            all.append(.outsideHours)
        }
        let pause = try await intakePause()
        if pause.paused { all.append(.paused(pause)) }

        var ages: [String: Double] = [:]
        for f in try await loadedData.freshness() {
            ages[f.dataSet] = now.timeIntervalSince(f.extractedAt) / 3600
        }
        let maxAge = Double(settings.policy.maxDataAgeHours)
        func stale(_ set: String) -> KioskAvailability.Reason? {
            guard let age = ages[set] else { return .dataStale(dataSet: set, ageHours: nil) }
            return age > maxAge ? .dataStale(dataSet: set, ageHours: (age * 10).rounded() / 10) : nil
        }
        for set in EligibilityPolicy.personDataSets {
            if let r = stale(set) { all.append(r) }
        }
        var kinds: [CertificateKind: KioskAvailability.Reason] = [:]
        for kind in CertificateKind.allCases {
            for set in EligibilityPolicy.dataSets(for: kind) where !EligibilityPolicy.personDataSets.contains(set) {
                if let r = stale(set) { kinds[kind] = r; break }
            }
        }
        return KioskAvailability(at: now, closedForAll: all, closedKinds: kinds)
    }

    /// The current intake pause (shared by every node through the database).
    public func intakePause() async throws -> IntakePause {
        IntakePause.decode(try await ledger.state(Self.intakePausedKey))
    }

    /// The `Retry-After` for a kiosk request refused as closed for `reason`.
    func retryAfter(_ reason: KioskAvailability.Reason, from now: Date) -> Int {
        switch reason {
        case .closedDay, .outsideHours: secondsUntilOpen(from: now)
        case .paused: 300
        case .dataStale: 3600
        }
    }
}
