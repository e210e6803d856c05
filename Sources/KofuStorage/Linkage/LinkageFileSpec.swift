import KofuDomain

/// A value bound into an INSERT: the same cells work for SQLite and PostgreSQL.
enum SQLCell: Sendable {
    /// Free text: always a bound parameter.
    case text(String)
    /// Text already validated to hold only `[0-9A-Za-z_-]` (dates, codes, enum values): written inline as
    /// `'…'`, which saves the bind-parameter overhead on millions of rows and cannot inject anything.
    case literal(String)
    case int(Int)
    case null
}

/// How one CSV column is checked and stored.
enum LinkageColumnKind {
    /// 宛名番号: 1–15 digits.
    case addressee
    case text(maxLength: Int, allowEmpty: Bool)
    /// Full-width katakana (with spaces).
    case kana
    case date
    case optionalDate
    /// Whole yen, non-negative.
    case amount
    case number(ClosedRange<Int>)
    case choice([String])
    /// `0` or `1`.
    case flag
    case fiscalYear
    /// 1–40 hex digits, stored lower case.
    case hexSerial
    /// `NNN-NNNN`
    case postalCode
}

struct LinkageColumn {
    let name: String
    let kind: LinkageColumnKind
}

/// What one linkage file holds, how its rows are checked and where they go.
struct LinkageFileSpec {
    let fileName: String
    let dataSet: String
    let table: String
    let columns: [LinkageColumn]
    /// Columns (indices into `columns`) that together must be unique.
    let key: [Int]
    /// Index of `addressee_id` when it must refer to a known resident (all files but residents.csv).
    let addresseeReference: Int?
    /// Index of `fiscal_year` for per-year files.
    let fiscalYear: Int?

    static let all: [String: LinkageFileSpec] = Dictionary(uniqueKeysWithValues: [
        residents, cards, restrictions, assessments, levies, vehicles,
    ].map { ($0.fileName, $0) })

    static let residents = LinkageFileSpec(
        fileName: "residents.csv", dataSet: "residents", table: "tax_residents",
        columns: [
            .init(name: "addressee_id", kind: .addressee),
            .init(name: "name", kind: .text(maxLength: 100, allowEmpty: false)),
            .init(name: "name_kana", kind: .kana),
            .init(name: "birth_date", kind: .date),
            .init(name: "sex", kind: .number(1...2)),
            .init(name: "postal_code", kind: .postalCode),
            .init(name: "address", kind: .text(maxLength: 200, allowEmpty: false)),
            .init(name: "address_extra", kind: .text(maxLength: 200, allowEmpty: true)),
            .init(name: "status", kind: .choice(ResidentStatus.allCases.map(\.rawValue))),
            .init(name: "status_date", kind: .date),
        ], key: [0], addresseeReference: nil, fiscalYear: nil)

    static let cards = LinkageFileSpec(
        fileName: "cards.csv", dataSet: "cards", table: "tax_cards",
        columns: [
            .init(name: "card_serial", kind: .hexSerial),
            .init(name: "addressee_id", kind: .addressee),
            .init(name: "valid_until", kind: .date),
            .init(name: "revoked", kind: .flag),
        ], key: [0], addresseeReference: 1, fiscalYear: nil)

    static let restrictions = LinkageFileSpec(
        fileName: "restrictions.csv", dataSet: "restrictions", table: "tax_restrictions",
        columns: [
            .init(name: "addressee_id", kind: .addressee),
            .init(name: "kind", kind: .choice(Restriction.Kind.allCases.map(\.rawValue))),
            .init(name: "valid_from", kind: .date),
            .init(name: "valid_to", kind: .optionalDate),
        ], key: [0, 1, 2], addresseeReference: 0, fiscalYear: nil)

    static let assessments = LinkageFileSpec(
        fileName: "assessments.csv", dataSet: "assessments", table: "tax_assessments",
        columns: assessmentColumns,
        key: [1, 0], addresseeReference: 1, fiscalYear: 0)

    private static let assessmentColumns: [LinkageColumn] = {
        var columns: [LinkageColumn] = [
            LinkageColumn(name: "fiscal_year", kind: .fiscalYear),
            LinkageColumn(name: "addressee_id", kind: .addressee),
            LinkageColumn(name: "status", kind: .choice(["taxed", "non_taxed"])),
        ]
        let incomes = ["salary_income", "salary_net", "pension_income", "pension_net", "business_net", "other_net",
                       "total_income", "deductions_total"]
        for name in incomes { columns.append(LinkageColumn(name: name, kind: .amount)) }
        columns.append(LinkageColumn(name: "dependents", kind: .number(0...99)))
        let levies = ["taxable_base", "city_income_levy", "city_per_capita", "pref_income_levy", "pref_per_capita"]
        for name in levies { columns.append(LinkageColumn(name: name, kind: .amount)) }
        return columns
    }()

    static let levies = LinkageFileSpec(
        fileName: "levies.csv", dataSet: "levies", table: "tax_levies",
        columns: [
            .init(name: "fiscal_year", kind: .fiscalYear),
            .init(name: "addressee_id", kind: .addressee),
            .init(name: "tax_item", kind: .choice(TaxItem.allCases.map(\.rawValue))),
            .init(name: "notice_no", kind: .text(maxLength: 40, allowEmpty: false)),
            .init(name: "installment", kind: .number(0...12)),
            .init(name: "assessed", kind: .amount),
            .init(name: "paid", kind: .amount),
            .init(name: "due_date", kind: .date),
            .init(name: "paid_date", kind: .optionalDate),
            .init(name: "payment_status", kind: .choice(["confirmed", "provisional"])),
        ], key: [1, 0, 2, 3, 4], addresseeReference: 1, fiscalYear: 0)

    static let vehicles = LinkageFileSpec(
        fileName: "vehicles.csv", dataSet: "vehicles", table: "tax_vehicles",
        columns: [
            .init(name: "vehicle_id", kind: .text(maxLength: 40, allowEmpty: false)),
            .init(name: "fiscal_year", kind: .fiscalYear),
            .init(name: "addressee_id", kind: .addressee),
            .init(name: "vehicle_class", kind: .text(maxLength: 60, allowEmpty: false)),
            .init(name: "plate", kind: .text(maxLength: 60, allowEmpty: false)),
            .init(name: "chassis_no", kind: .text(maxLength: 60, allowEmpty: false)),
            .init(name: "assessed", kind: .amount),
            .init(name: "paid", kind: .amount),
            .init(name: "paid_date", kind: .optionalDate),
            .init(name: "payment_status", kind: .choice(["confirmed", "provisional"])),
            .init(name: "exempt", kind: .flag),
        ], key: [0, 1], addresseeReference: 2, fiscalYear: 1)
}

/// An addressee number packed into 64 bits (length and value, so `007` and `7` stay different).
@inline(__always)
func packAddressee(_ r: CSVRecord, _ i: Int) -> UInt64? {
    let range = r.range(i)
    guard (1...15).contains(range.count) else { return nil }
    var v: UInt64 = 0
    for k in range {
        let c = r.bytes[k]
        guard c >= 48, c <= 57 else { return nil }
        v = v &* 10 &+ UInt64(c &- 48)
    }
    return v | UInt64(range.count) << 52
}

func packAddressee(_ s: String) -> UInt64? {
    let u = Array(s.utf8)
    guard (1...15).contains(u.count) else { return nil }
    var v: UInt64 = 0
    for c in u {
        guard c >= 48, c <= 57 else { return nil }
        v = v &* 10 &+ UInt64(c &- 48)
    }
    return v | UInt64(u.count) << 52
}

extension LinkageColumnKind {
    /// Converts field `i` of `r`; on failure returns the message (which never includes the value).
    func convert(_ r: CSVRecord, _ i: Int, name: String) -> Result<SQLCell, LinkageFieldError> {
        switch self {
        case .addressee:
            guard r.isDigits(i, maxLength: 15) else { return .failure(.init("\(name): expected 1-15 digits")) }
            return .success(.literal(r.string(i)!))
        case .text(let maxLength, let allowEmpty):
            if r.isEmpty(i) {
                return allowEmpty ? .success(.text("")) : .failure(.init("\(name): must not be empty"))
            }
            guard let s = r.string(i) else { return .failure(.init("\(name): not valid UTF-8")) }
            if s.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return .failure(.init("\(name): contains a control character"))
            }
            if s.unicodeScalars.count > maxLength {
                return .failure(.init("\(name): longer than \(maxLength) characters"))
            }
            return .success(.text(s))
        case .kana:
            guard !r.isEmpty(i) else { return .failure(.init("\(name): must not be empty")) }
            guard let s = r.string(i) else { return .failure(.init("\(name): not valid UTF-8")) }
            let ok = s.unicodeScalars.allSatisfy { (0x30A1...0x30FC).contains($0.value) || $0.value == 0x3000 || $0.value == 0x20 }
            guard ok, s.unicodeScalars.count <= 100 else {
                return .failure(.init("\(name): expected full-width katakana"))
            }
            return .success(.text(s))
        case .date:
            guard let d = Self.date(r, i) else { return .failure(.init("\(name): expected a valid YYYY-MM-DD date")) }
            return .success(.literal(d))
        case .optionalDate:
            if r.isEmpty(i) { return .success(.null) }
            guard let d = Self.date(r, i) else {
                return .failure(.init("\(name): expected a valid YYYY-MM-DD date or nothing"))
            }
            return .success(.literal(d))
        case .amount:
            guard let v = r.unsigned(i), v <= 999_999_999_999 else {
                return .failure(.init("\(name): expected a non-negative whole number of yen"))
            }
            return .success(.int(v))
        case .number(let range):
            guard let v = r.unsigned(i), range.contains(v) else {
                return .failure(.init("\(name): expected a whole number in \(range.lowerBound)...\(range.upperBound)"))
            }
            return .success(.int(v))
        case .choice(let values):
            guard let s = r.string(i), values.contains(s) else {
                return .failure(.init("\(name): expected one of \(values.joined(separator: ", "))"))
            }
            return .success(.literal(s))
        case .flag:
            guard let v = r.unsigned(i), v <= 1, r.range(i).count == 1 else {
                return .failure(.init("\(name): expected 0 or 1"))
            }
            return .success(.int(v))
        case .fiscalYear:
            guard r.range(i).count == 4, let v = r.unsigned(i), (1989...2200).contains(v) else {
                return .failure(.init("\(name): expected a fiscal year YYYY"))
            }
            return .success(.int(v))
        case .hexSerial:
            let range = r.range(i)
            let ok = (1...40).contains(range.count) && r.bytes[range].allSatisfy {
                (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0)
            }
            guard ok else { return .failure(.init("\(name): expected 1-40 hex digits")) }
            return .success(.literal(r.string(i)!.lowercased()))
        case .postalCode:
            let range = r.range(i)
            let b = r.bytes[range]
            let ok = range.count == 8 && b.enumerated().allSatisfy { k, c in k == 3 ? c == 45 : (48...57).contains(c) }
            guard ok else { return .failure(.init("\(name): expected NNN-NNNN")) }
            return .success(.literal(r.string(i)!))
        }
    }

    private static func date(_ r: CSVRecord, _ i: Int) -> String? {
        let range = r.range(i)
        guard range.count == 10, let s = r.string(i), LocalDate(iso: s) != nil else { return nil }
        return s
    }
}

struct LinkageFieldError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
