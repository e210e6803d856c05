import Foundation
import KofuCrypto
import KofuDomain

/// A kiosk issue request (KIOSK_API.md), validated field by field.
public struct KioskIssueRequest: Sendable, Hashable {
    public var requestID: String
    public var certificate: CertificateRequest
    /// `store_chain/store_id/terminal_id` — the shop and kiosk, never the person.
    public var terminal: String?

    /// A schema violation; `field` names the JSON field for the kiosk's message.
    public struct Invalid: Error, Equatable {
        public var field: String
        public var problem: String
        public var message: String { "\(field): \(problem)" }
    }

    /// Parses the JSON body. Unknown fields are ignored (fields may be added to the contract).
    public init(json body: [UInt8]) throws(Invalid) {
        guard case .object(let o) = JSONValue.parse(body) else {
            throw Invalid(field: "body", problem: "must be a JSON object")
        }
        func string(_ key: String) throws(Invalid) -> String {
            guard let v = o[key], !v.isNull else { throw Invalid(field: key, problem: "is required") }
            guard case .string(let s) = v else { throw Invalid(field: key, problem: "must be a string") }
            return s
        }
        func int(_ key: String, default def: Int?) throws(Invalid) -> Int {
            guard let v = o[key], !v.isNull else {
                if let def { return def }
                throw Invalid(field: key, problem: "is required")
            }
            guard case .int(let i) = v else { throw Invalid(field: key, problem: "must be an integer") }
            return i
        }

        requestID = try string("request_id")
        guard (1...64).contains(requestID.utf8.count),
              requestID.utf8.allSatisfy({ $0 == 45 || $0 == 95 || ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) }) else {
            throw Invalid(field: "request_id", problem: "must be 1-64 characters of A-Z a-z 0-9 _ -")
        }
        let serial = try string("card_serial")
        guard (1...40).contains(serial.utf8.count), serial.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 70) || ($0 >= 97 && $0 <= 102) }) else {
            throw Invalid(field: "card_serial", problem: "must be 1-40 hexadecimal digits")
        }
        let kindText = try string("kind")
        guard let kind = CertificateKind(rawValue: kindText) else {
            throw Invalid(field: "kind", problem: "must be one of tax_payment, income_taxation, non_taxation, vehicle_inspection")
        }
        let year = try int("fiscal_year", default: nil)
        guard (1989...2200).contains(year) else { throw Invalid(field: "fiscal_year", problem: "must be a year such as 2026") }
        let copies = try int("copies", default: 1)
        guard (1...10).contains(copies) else { throw Invalid(field: "copies", problem: "must be between 1 and 10") }

        var items: [TaxItem] = []
        if let raw = o["tax_items"], !raw.isNull {
            guard kind == .taxPayment else { throw Invalid(field: "tax_items", problem: "is only allowed for tax_payment") }
            guard case .array(let list) = raw else { throw Invalid(field: "tax_items", problem: "must be an array of tax item codes") }
            for (i, entry) in list.enumerated() {
                guard case .string(let code) = entry, let item = TaxItem(rawValue: code) else {
                    throw Invalid(field: "tax_items[\(i)]", problem: "must be one of 01, 02, 03, 04, 05")
                }
                guard !items.contains(item) else { throw Invalid(field: "tax_items[\(i)]", problem: "is listed twice") }
                items.append(item)
            }
        }
        var plate: String?
        if let raw = o["vehicle_plate"], !raw.isNull {
            guard kind == .vehicleInspection else { throw Invalid(field: "vehicle_plate", problem: "is only allowed for vehicle_inspection") }
            guard case .string(let p) = raw, (1...40).contains(p.count) else { throw Invalid(field: "vehicle_plate", problem: "must be a plate number string") }
            plate = p
        }
        if kind == .vehicleInspection && plate == nil { throw Invalid(field: "vehicle_plate", problem: "is required for vehicle_inspection") }
        if let raw = o["terminal"], !raw.isNull {
            guard case .object(let t) = raw else { throw Invalid(field: "terminal", problem: "must be an object") }
            let parts = ["store_chain", "store_id", "terminal_id"].map { key -> String in
                if case .string(let s) = t[key] { return s }
                return ""
            }
            guard parts.allSatisfy({ $0.utf8.count <= 32 && $0.utf8.allSatisfy { c in c > 32 && c < 127 && c != 47 } }) else {
                throw Invalid(field: "terminal", problem: "store_chain, store_id and terminal_id must be short ASCII strings")
            }
            terminal = parts.joined(separator: "/")
        }
        certificate = CertificateRequest(cardSerial: serial.uppercased(), kind: kind, fiscalYear: FiscalYear(year),
                                         copies: copies, taxItems: items, vehiclePlate: plate)
    }

    /// A digest of what was asked (not of the bytes), so the same request with other spacing is the same request.
    public var digest: String {
        let c = certificate
        let canonical = [c.cardSerial, c.kind.rawValue, String(c.fiscalYear.year), String(c.copies),
                         c.taxItems.map(\.rawValue).joined(separator: ","), c.vehiclePlate ?? "", terminal ?? ""]
            .joined(separator: "\u{1f}")
        return SHA256.hex(Array(canonical.utf8))
    }
}
