/// The four certificate kinds. Raw values are the kiosk API's `kind` strings.
public enum CertificateKind: String, Sendable, Codable, CaseIterable {
    /// 納税証明書
    case taxPayment = "tax_payment"
    /// 所得・課税証明書
    case incomeTaxation = "income_taxation"
    /// 非課税証明書
    case nonTaxation = "non_taxation"
    /// 軽自動車税（種別割）納税証明書（継続検査用）
    case vehicleInspection = "vehicle_inspection"

    /// The printed title.
    public var title: String {
        switch self {
        case .taxPayment: "納税証明書"
        case .incomeTaxation: "所得・課税証明書"
        case .nonTaxation: "非課税証明書"
        case .vehicleInspection: "軽自動車税（種別割）納税証明書（継続検査用）"
        }
    }
}

/// 証明書番号: unique per municipality and year, never reused. Printed, sealed and recorded in the ledger.
public struct CertificateNumber: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let value: String
    public init(_ value: String) { self.value = value }
    /// The canonical form: `<calendar year>-<sequence, 7 digits>`, e.g. `2026-0000123`.
    public init(year: Int, sequence: Int) {
        let s = String(sequence)
        self.value = "\(year)-" + String(repeating: "0", count: max(0, 7 - s.count)) + s
    }
    public var description: String { value }
    public static func < (a: CertificateNumber, b: CertificateNumber) -> Bool { a.value < b.value }
    public init(from decoder: any Decoder) throws { value = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(value) }
}

/// The issuing municipality, as printed on every certificate.
public struct Municipality: Hashable, Sendable, Codable {
    /// 全国地方公共団体コード, 6 digits with check digit.
    public var code: String
    /// e.g. 新宿区
    public var name: String
    /// e.g. 新宿区長
    public var mayorTitle: String
    /// e.g. 山田 太郎
    public var mayorName: String
    /// Where anyone can check a seal and fetch the signed keyring (the trust anchor printed beside the QR),
    /// e.g. `https://www.city.example.lg.jp/kofu/verify`. Empty when not configured.
    public var verifyURL: String
    public init(code: String, name: String, mayorTitle: String, mayorName: String, verifyURL: String = "") {
        self.code = code; self.name = name; self.mayorTitle = mayorTitle; self.mayorName = mayorName
        self.verifyURL = verifyURL
    }
}

/// One tax item's line on a 納税証明書: the installments of that item in the year.
public struct TaxPaymentItem: Hashable, Sendable, Codable {
    public var taxItem: TaxItem
    public var installments: [Levy]
    public init(taxItem: TaxItem, installments: [Levy]) { self.taxItem = taxItem; self.installments = installments }
    public var assessed: Int { installments.reduce(0) { $0 + $1.assessed } }
    public var paid: Int { installments.reduce(0) { $0 + $1.paid } }
    public var unpaid: Int { installments.reduce(0) { $0 + $1.unpaid } }
    /// 未納額 as a certificate prints it: what is still unpaid of the installments past their due date on `day`.
    public func overdue(asOf day: LocalDate) -> Int { installments.reduce(0) { $0 + $1.overdue(asOf: day) } }
    /// 納期未到来額: what is still unpaid of the installments whose due date has not passed on `day`.
    public func notYetDue(asOf day: LocalDate) -> Int { installments.reduce(0) { $0 + $1.notYetDue(asOf: day) } }
}

extension Levy {
    /// The unpaid amount when the due date has passed on `day` (the due date itself is still in time), else 0.
    public func overdue(asOf day: LocalDate) -> Int { dueDate < day ? unpaid : 0 }
    /// The unpaid amount when the due date has not passed on `day`, else 0.
    public func notYetDue(asOf day: LocalDate) -> Int { dueDate < day ? 0 : unpaid }
}

/// What a certificate says, kind by kind.
public enum CertificateBody: Hashable, Sendable, Codable {
    /// 納税証明書: per tax item, its installments.
    case taxPayment(items: [TaxPaymentItem])
    /// 所得・課税証明書
    case incomeTaxation(Assessment)
    /// 非課税証明書
    case nonTaxation(Assessment)
    /// 継続検査用: the vehicle and the date until which the certificate is valid (有効期限).
    case vehicleInspection(vehicle: Vehicle, validUntil: LocalDate)

    public var kind: CertificateKind {
        switch self {
        case .taxPayment: .taxPayment
        case .incomeTaxation: .incomeTaxation
        case .nonTaxation: .nonTaxation
        case .vehicleInspection: .vehicleInspection
        }
    }
}

/// Everything one certificate page shows: the renderer and the seal both take this value.
public struct Certificate: Hashable, Sendable, Codable {
    public var number: CertificateNumber
    public var issueDate: LocalDate
    public var fiscalYear: FiscalYear
    public var person: Person
    public var municipality: Municipality
    public var body: CertificateBody
    /// 手数料 in yen (0 for the vehicle inspection certificate).
    public var feeYen: Int
    /// Where it was issued: printed on the page (「コンビニ交付（店舗 … 端末 …）」 or 「窓口交付」).
    public var issuedAt: IssuancePoint
    /// The date the tax data behind it was extracted (the batch in force): printed as 「…現在」.
    public var dataAsOf: LocalDate?

    public init(number: CertificateNumber, issueDate: LocalDate, fiscalYear: FiscalYear, person: Person,
                municipality: Municipality, body: CertificateBody, feeYen: Int, issuedAt: IssuancePoint = .counter,
                dataAsOf: LocalDate? = nil) {
        self.number = number; self.issueDate = issueDate; self.fiscalYear = fiscalYear; self.person = person
        self.municipality = municipality; self.body = body; self.feeYen = feeYen
        self.issuedAt = issuedAt; self.dataAsOf = dataAsOf
    }

    public var kind: CertificateKind { body.kind }

    /// The day the certificate's statements hold on: the data's as-of date, or the issue date when unknown.
    /// 未納 and 納期未到来 are told apart on this day, not on the issue date: the data cannot know a payment
    /// made after it was extracted.
    public var asOfDate: LocalDate { dataAsOf ?? issueDate }
}

/// Where a certificate was handed over.
public enum IssuancePoint: Hashable, Sendable, Codable {
    /// A convenience-store kiosk: the chain, the store and the terminal as the kiosk center names them.
    case kiosk(storeChain: String, storeID: String, terminalID: String)
    /// The municipality's counter (窓口), including reprints.
    case counter
}
