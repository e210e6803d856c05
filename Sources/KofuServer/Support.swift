import Foundation
import KofuDomain
import KofuStorage

/// The current time, injectable so tests can stand at any moment (service hours, TTLs).
public protocol KofuClock: Sendable {
    func now() -> Date
}

/// The machine's clock.
public struct SystemClock: KofuClock {
    public init() {}
    public func now() -> Date { Date() }
}

/// Japan Standard Time (UTC+9, no daylight saving): the date and time printed and used for service hours.
public enum JapanTime {
    public static let offsetSeconds = 9 * 3600

    /// The calendar date in Japan at `date`.
    public static func localDate(_ date: Date) -> LocalDate {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds
        return LocalDate(dayNumber: Int((Double(seconds) / 86400).rounded(.down)))
    }

    /// Minutes since midnight in Japan at `date`.
    public static func minuteOfDay(_ date: Date) -> Int {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds
        return ((seconds % 86400) + 86400) % 86400 / 60
    }

    /// `2026-11-22T10:15:00+09:00`.
    public static func iso8601(_ date: Date) -> String {
        let day = localDate(date)
        let seconds = ((Int(date.timeIntervalSince1970.rounded(.down)) + offsetSeconds) % 86400 + 86400) % 86400
        func p(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(day.iso)T\(p(seconds / 3600)):\(p(seconds / 60 % 60)):\(p(seconds % 60))+09:00"
    }
}

/// Turns certificates into one PDF (implemented by `KofuRendering.CertificateRenderer`).
public protocol CertificateDocumentRenderer: Sendable {
    /// One PDF holding every certificate in order; returns its bytes and page count.
    func renderDocument(_ documents: [(certificate: Certificate, qrText: String)]) throws -> (pdf: [UInt8], pages: Int)
    /// How many pages `certificate` prints on, computed without drawing by the pagination the render uses:
    /// the seal signs it before the one render.
    func pageCount(of certificate: Certificate) -> Int
    /// Characters the certificate font cannot draw (外字).
    func unprintableCharacters(in text: String) -> [Character]
}

/// Signs a certificate's seal (implemented by `SealKeys` over `KofuSeal.SealSigner`).
public protocol CertificateSealer: Sendable {
    /// The KF2 seal text of `certificate` printed on `pages` pages and signed at `signedAt`, with the record the
    /// ledger's seal registry keeps for the online check.
    func seal(_ certificate: Certificate, pages: Int, signedAt: Date) throws -> (text: String, record: SealRecord)
}

/// A query parameter decoded as HTML forms and `curl --data-urlencode` send it: `+` is a space and a literal
/// plus arrives as `%2B`. A seal (Base45) holds both characters, so this matters for `/verify?s=…`.
public enum FormQuery {
    public static func value(_ name: String, in query: String?) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, parts[0] == name else { continue }
            return String(parts[1]).replacingOccurrences(of: "+", with: " ").removingPercentEncoding
        }
        return nil
    }
}
