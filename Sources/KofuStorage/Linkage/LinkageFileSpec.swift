#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KofuDomain

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
    /// One of the values, or empty (stored as NULL).
    case optionalChoice([String])
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
    var columns: [LinkageColumn]
    /// Columns (indices into `columns`) that together must be unique.
    let key: [Int]
    /// Index of `addressee_id` when it must refer to a known resident (all files but residents.csv).
    let addresseeReference: Int?
    /// Index of `fiscal_year` for per-year files.
    let fiscalYear: Int?
    /// Rules relating several columns of a row (checked once every field is valid).
    var rowRules: [any LinkageRowRule] = []
    /// levies.csv: the columns naming one notice (通知書) and its installment column, whose numbers must run
    /// 0 alone, or 1 to n without gaps.
    var notice: (key: [Int], installment: Int)? = nil

    static let all: [String: LinkageFileSpec] = Dictionary(uniqueKeysWithValues: [
        residents, cards, restrictions, assessments, levies, vehicles,
    ].map { ($0.fileName, $0) })

    /// The spec of `fileName` in linkage format `formatVersion` (manifest `format_version`): format 2 differs
    /// from format 1 only in assessments.csv, which gains the deduction, dependant, credit, 森林環境税 and
    /// 非課税 columns.
    static func spec(for fileName: String, formatVersion: Int) -> LinkageFileSpec? {
        if fileName == assessments.fileName, formatVersion >= 2 { return assessmentsFormat2 }
        return all[fileName]
    }

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
        ], key: [0, 1, 2], addresseeReference: 0, fiscalYear: nil,
        rowRules: [EndNotBeforeStart(start: 2, end: 3, names: ("valid_from", "valid_to"))])

    static let assessments = LinkageFileSpec(
        fileName: "assessments.csv", dataSet: "assessments", table: "tax_assessments",
        columns: assessmentColumns,
        key: [1, 0], addresseeReference: 1, fiscalYear: 0,
        rowRules: [
            AmountNotAbove(amount: 4, limit: 3, names: ("salary_net", "salary_income")),
            AmountNotAbove(amount: 6, limit: 5, names: ("pension_net", "pension_income")),
            AmountNotAbove(amount: 12, limit: 9, names: ("taxable_base", "total_income")),
            NonTaxedHasNoLevy(status: 2, levies: [(13, "city_income_levy"), (14, "city_per_capita"),
                                                  (15, "pref_income_levy"), (16, "pref_per_capita")]),
        ])

    /// assessments.csv in linkage format 2: the format-1 columns (same indices, same rules) followed by
    /// `format2AssessmentColumns`, with the rules that relate them to the rest of the row.
    static let assessmentsFormat2: LinkageFileSpec = {
        var spec = assessments
        spec.columns += format2AssessmentColumns
        let index = Dictionary(uniqueKeysWithValues: spec.columns.enumerated().map { ($1.name, $0) })
        func columns(_ prefix: String) -> [(column: Int, name: String)] {
            spec.columns.enumerated().filter { $0.element.name.hasPrefix(prefix) }.map { ($0.offset, $0.element.name) }
        }
        spec.rowRules += [
            PartsAddUp(total: (index["deductions_total"]!, "deductions_total"), parts: columns("ded_"),
                       meaning: "所得控除の内訳"),
            PartsAddUp(total: (index["dependents"]!, "dependents"), parts: columns("dep_"), meaning: "扶養の内訳"),
            NonTaxationMatchesStatus(status: index["status"]!,
                                     perCapita: index["non_taxed_per_capita"]!, incomeLevy: index["non_taxed_income_levy"]!,
                                     reason: index["non_taxed_reason"]!),
            ForestTaxWithPerCapita(fiscalYear: index["fiscal_year"]!, forestTax: index["forest_environment_tax"]!,
                                   perCapita: [index["city_per_capita"]!, index["pref_per_capita"]!]),
        ]
        return spec
    }()

    /// The columns format 2 adds to assessments.csv, in order (docs/storage.md describes each).
    static let format2AssessmentColumns: [LinkageColumn] = {
        var columns: [LinkageColumn] = []
        let deductions = ["ded_casualty_loss", "ded_medical", "ded_social_insurance", "ded_small_business_mutual_aid",
                          "ded_life_insurance", "ded_earthquake_insurance", "ded_widow_single_parent",
                          "ded_working_student", "ded_disability", "ded_spouse", "ded_spouse_special", "ded_dependents",
                          "ded_basic"]
        for name in deductions { columns.append(LinkageColumn(name: name, kind: .amount)) }
        columns.append(LinkageColumn(name: "dep_spouse", kind: .number(0...1)))
        for name in ["dep_general", "dep_specified", "dep_elderly", "dep_minor"] {
            columns.append(LinkageColumn(name: name, kind: .number(0...99)))
        }
        let credits = ["credit_adjustment", "credit_dividend", "credit_housing_loan", "credit_donation",
                       "credit_foreign_tax", "credit_dividend_stock_transfer"]
        for name in credits { columns.append(LinkageColumn(name: name, kind: .amount)) }
        columns.append(LinkageColumn(name: "forest_environment_tax", kind: .amount))
        columns.append(LinkageColumn(name: "non_taxed_per_capita", kind: .flag))
        columns.append(LinkageColumn(name: "non_taxed_income_levy", kind: .flag))
        columns.append(LinkageColumn(name: "non_taxed_reason",
                                     kind: .optionalChoice(NonTaxationDetail.Reason.allCases.map(\.rawValue))))
        return columns
    }()

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
        ], key: [1, 0, 2, 3, 4], addresseeReference: 1, fiscalYear: 0,
        rowRules: [
            PaidWithinAssessed(assessed: 5, paid: 6),
            PaidDateMatchesPayment(paid: 6, paidDate: 8),
            PaidNotAfterExtraction(paidDate: 8),
            DueDateWithinFiscalYear(fiscalYear: 0, dueDate: 7),
        ],
        notice: ([1, 0, 2, 3], 4))

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
        ], key: [0, 1], addresseeReference: 2, fiscalYear: 1,
        rowRules: [
            PaidWithinAssessed(assessed: 6, paid: 7),
            PaidDateMatchesPayment(paid: 7, paidDate: 8),
            PaidNotAfterExtraction(paidDate: 8),
        ])
}

/// An addressee number packed into 64 bits (length and value, so `007` and `7` stay different).
@inline(__always)
func packAddressee(_ f: UnsafeBufferPointer<UInt8>) -> UInt64? {
    guard (1...15).contains(f.count) else { return nil }
    var v: UInt64 = 0
    for c in f {
        guard c >= 48, c <= 57 else { return nil }
        v = v &* 10 &+ UInt64(c &- 48)
    }
    return v | UInt64(f.count) << 52
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
    /// Whether the column is stored as an integer (the others are text).
    var storesInteger: Bool {
        switch self {
        case .amount, .number, .flag, .fiscalYear: true
        default: false
        }
    }

    /// Checks one field's bytes and appends its value to `rows`; on failure appends NULL and returns the problem,
    /// whose message never includes the value.
    ///
    /// The common, valid case is decided on the bytes; anything unusual goes through `slowCheck`, the
    /// `String`-based definition, so the two cannot disagree on what is accepted or on the message.
    func append(_ f: UnsafeBufferPointer<UInt8>, name: String, to rows: inout TaxDataRows) -> LinkageFieldError? {
        switch self {
        case .addressee:
            guard (1...15).contains(f.count), Self.allDigits(f) else {
                rows.appendNull()
                return .init("\(name): expected 1-15 digits")
            }
            rows.appendText(f)
        case .text(let maxLength, let allowEmpty):
            if f.isEmpty, allowEmpty {
                rows.appendText(f)
                return nil
            }
            if !f.isEmpty, let n = UTF8Scan.printableScalarCount(f), n <= maxLength {
                rows.appendText(f)
                return nil
            }
            return slowCheck(f, name: name, to: &rows)
        case .kana:
            guard UTF8Scan.isKana(f, maxScalars: 100) else { return slowCheck(f, name: name, to: &rows) }
            rows.appendText(f)
        case .date:
            guard Self.isDate(f) else {
                rows.appendNull()
                return .init("\(name): expected a valid YYYY-MM-DD date")
            }
            rows.appendText(f)
        case .optionalDate:
            if f.isEmpty {
                rows.appendNull()
            } else if Self.isDate(f) {
                rows.appendText(f)
            } else {
                rows.appendNull()
                return .init("\(name): expected a valid YYYY-MM-DD date or nothing")
            }
        case .amount:
            guard let v = Self.unsigned(f), v <= 999_999_999_999 else {
                rows.appendNull()
                return .init("\(name): expected a non-negative whole number of yen")
            }
            rows.appendInteger(v)
        case .number(let range):
            guard let v = Self.unsigned(f), range.contains(v) else {
                rows.appendNull()
                return .init("\(name): expected a whole number in \(range.lowerBound)...\(range.upperBound)")
            }
            rows.appendInteger(v)
        case .choice(let values):
            guard values.contains(where: { Self.equal(f, $0) }) else { return slowCheck(f, name: name, to: &rows) }
            rows.appendText(f)
        case .optionalChoice(let values):
            if f.isEmpty {
                rows.appendNull()
                return nil
            }
            guard values.contains(where: { Self.equal(f, $0) }) else { return slowCheck(f, name: name, to: &rows) }
            rows.appendText(f)
        case .flag:
            guard f.count == 1, let v = Self.unsigned(f), v <= 1 else {
                rows.appendNull()
                return .init("\(name): expected 0 or 1")
            }
            rows.appendInteger(v)
        case .fiscalYear:
            guard f.count == 4, let v = Self.unsigned(f), (1989...2200).contains(v) else {
                rows.appendNull()
                return .init("\(name): expected a fiscal year YYYY")
            }
            rows.appendInteger(v)
        case .hexSerial:
            let ok = (1...40).contains(f.count) && f.allSatisfy {
                (48...57).contains($0) || (65...70).contains($0) || (97...102).contains($0)
            }
            guard ok else {
                rows.appendNull()
                return .init("\(name): expected 1-40 hex digits")
            }
            rows.appendLowercasedHex(f)
        case .postalCode:
            let ok = f.count == 8 && f.enumerated().allSatisfy { k, c in k == 3 ? c == 45 : (48...57).contains(c) }
            guard ok else {
                rows.appendNull()
                return .init("\(name): expected NNN-NNNN")
            }
            rows.appendText(f)
        }
        return nil
    }

    /// The `String`-based checks of free text, katakana and choices: the definition the byte-level fast paths
    /// in `append` agree with, used whenever those do not accept the field outright.
    private func slowCheck(_ f: UnsafeBufferPointer<UInt8>, name: String, to rows: inout TaxDataRows) -> LinkageFieldError? {
        let string = String(validating: f, as: UTF8.self)
        let error: LinkageFieldError?
        switch self {
        case .text(let maxLength, let allowEmpty):
            if f.isEmpty {
                error = allowEmpty ? nil : .init("\(name): must not be empty")
            } else if let s = string {
                if let bad = LinkageText.firstForbidden(in: s) {
                    error = LinkageText.problem(bad, column: name)
                } else if s.unicodeScalars.count > maxLength {
                    error = .init("\(name): longer than \(maxLength) characters")
                } else {
                    error = nil
                }
            } else {
                error = .init("\(name): not valid UTF-8")
            }
        case .kana:
            if f.isEmpty {
                error = .init("\(name): must not be empty")
            } else if let s = string {
                let ok = s.unicodeScalars.allSatisfy { (0x30A1...0x30FC).contains($0.value) || $0.value == 0x3000 || $0.value == 0x20 }
                if let bad = LinkageText.firstForbidden(in: s) {
                    error = LinkageText.problem(bad, column: name)
                } else {
                    error = ok && s.unicodeScalars.count <= 100 ? nil : .init("\(name): expected full-width katakana")
                }
            } else {
                error = .init("\(name): not valid UTF-8")
            }
        case .choice(let values):
            // String equality is canonical equivalence, which byte comparison is not.
            error = string.map(values.contains) == true ? nil : .init("\(name): expected one of \(values.joined(separator: ", "))")
        case .optionalChoice(let values):
            error = string.map(values.contains) == true ? nil
                : .init("\(name): expected one of \(values.joined(separator: ", ")), or nothing")
        default:
            preconditionFailure("no String-based check for \(self)")
        }
        if error == nil { rows.appendText(f) } else { rows.appendNull() }
        return error
    }

    /// Byte equality with a (short, ASCII) choice value.
    @inline(__always)
    private static func equal(_ f: UnsafeBufferPointer<UInt8>, _ value: String) -> Bool {
        var value = value
        return value.withUTF8 { v in
            v.count == f.count && (f.isEmpty || memcmp(v.baseAddress!, f.baseAddress!, f.count) == 0)
        }
    }

    @inline(__always)
    private static func allDigits(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        for c in f where c < 48 || c > 57 { return false }
        return true
    }

    /// A non-negative decimal number of 1 to 18 digits.
    @inline(__always)
    private static func unsigned(_ f: UnsafeBufferPointer<UInt8>) -> Int? {
        guard !f.isEmpty, f.count <= 18 else { return nil }
        var v = 0
        for c in f {
            guard c >= 48, c <= 57 else { return nil }
            v = v &* 10 &+ Int(c &- 48)
        }
        return v
    }

    /// Exactly `YYYY-MM-DD`, a day that exists (what `LocalDate(iso:)` accepts).
    private static func isDate(_ f: UnsafeBufferPointer<UInt8>) -> Bool {
        guard f.count == 10, f[4] == 45, f[7] == 45 else { return false }
        func num(_ from: Int, _ to: Int) -> Int? {
            var v = 0
            for k in from..<to {
                let c = f[k]
                guard c >= 48, c <= 57 else { return nil }
                v = v * 10 + Int(c - 48)
            }
            return v
        }
        guard let y = num(0, 4), let m = num(5, 7), let d = num(8, 10) else { return false }
        return LocalDate(year: y, month: m, day: d) != nil
    }
}

/// Byte-level UTF-8 checks for the import's fast paths.
enum UTF8Scan {
    /// The number of Unicode scalars when `f` is valid UTF-8 without a character `LinkageText.isForbidden`
    /// refuses (controls, format characters); nil otherwise. Validity is what `String(validating:)` requires: no
    /// overlong forms, no surrogates, at most U+10FFFF.
    static func printableScalarCount(_ f: UnsafeBufferPointer<UInt8>) -> Int? {
        var i = 0
        var count = 0
        let n = f.count
        while i < n {
            let b = f[i]
            count += 1
            if b < 0x80 {
                if b < 0x20 || b == 0x7F { return nil }
                i += 1
                continue
            }
            var lo: UInt8 = 0x80
            var hi: UInt8 = 0xBF
            let trailing: Int
            switch b {
            case 0xC2...0xDF: trailing = 1
            case 0xE0: trailing = 2; lo = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
            case 0xED: trailing = 2; hi = 0x9F
            case 0xF0: trailing = 3; lo = 0x90
            case 0xF1...0xF3: trailing = 3
            case 0xF4: trailing = 3; hi = 0x8F
            default: return nil
            }
            guard i + trailing < n, f[i + 1] >= lo, f[i + 1] <= hi else { return nil }
            var k = 2
            while k <= trailing {
                guard f[i + k] & 0xC0 == 0x80 else { return nil }
                k += 1
            }
            // U+3000–U+EFFF (kana, kanji, hangul, private use: most of a Japanese name or address) holds no
            // format character; elsewhere the scalar is decoded and its category looked up.
            if !(0xE3...0xEE).contains(b) {
                var v = UInt32(b) & (trailing == 1 ? 0x1F : trailing == 2 ? 0x0F : 0x07)
                for t in 1...trailing { v = v << 6 | UInt32(f[i + t] & 0x3F) }
                if LinkageText.isForbidden(Unicode.Scalar(v)!) { return nil }
            }
            i += trailing + 1
        }
        return count
    }

    /// Non-empty full-width katakana (U+30A1–U+30FC), ideographic and ASCII spaces, at most `maxScalars` of them.
    static func isKana(_ f: UnsafeBufferPointer<UInt8>, maxScalars: Int) -> Bool {
        guard !f.isEmpty else { return false }
        var i = 0
        var count = 0
        let n = f.count
        while i < n {
            if f[i] == 0x20 {
                i += 1
            } else if f[i] == 0xE3, i + 2 < n, f[i + 1] & 0xC0 == 0x80, f[i + 2] & 0xC0 == 0x80 {
                let v = 0x3000 | UInt32(f[i + 1] & 0x3F) << 6 | UInt32(f[i + 2] & 0x3F)
                guard (0x30A1...0x30FC).contains(v) || v == 0x3000 else { return false }
                i += 3
            } else {
                return false
            }
            count += 1
        }
        return count <= maxScalars
    }
}

struct LinkageFieldError: Error {
    let message: String
    /// Where in the field the problem is (a UTF-8 byte offset into the field's value); nil for the field as a whole.
    let byteOffset: Int?
    init(_ message: String, byteOffset: Int? = nil) {
        self.message = message
        self.byteOffset = byteOffset
    }
}

/// Which characters free text may hold. Invisible controls and format characters are refused in every text
/// field: a right-to-left override (U+202E) or a zero-width space prints a name or address that reads differently
/// from what is stored, and a line break or tab breaks the one-line layout of the certificate.
enum LinkageText {
    /// C0 controls (U+0000–U+001F), DEL and the C1 controls (U+007F–U+009F), and every character of general
    /// category Cf (format: bidi controls, zero-width characters, the BOM, soft hyphen, tags …).
    static func isForbidden(_ s: Unicode.Scalar) -> Bool {
        let v = s.value
        if v < 0x20 || (0x7F...0x9F).contains(v) { return true }
        if v < 0xA0 { return false }
        return s.properties.generalCategory == .format
    }

    /// The first forbidden character and its UTF-8 byte offset in `text`.
    static func firstForbidden(in text: String) -> (scalar: Unicode.Scalar, byteOffset: Int)? {
        var offset = 0
        for s in text.unicodeScalars {
            if isForbidden(s) { return (s, offset) }
            offset += UTF8.width(s)
        }
        return nil
    }

    /// `U+202E RIGHT-TO-LEFT OVERRIDE`: the code point and its Unicode name (controls have none; the common ones
    /// get their usual name).
    static func describe(_ s: Unicode.Scalar) -> String {
        let hex = String(s.value, radix: 16, uppercase: true)
        let code = "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        let controlNames: [UInt32: String] = [
            0x00: "NULL", 0x09: "CHARACTER TABULATION", 0x0A: "LINE FEED", 0x0B: "LINE TABULATION",
            0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE", 0x7F: "DELETE", 0x85: "NEXT LINE",
        ]
        if let name = s.properties.name ?? controlNames[s.value] { return "\(code) \(name)" }
        return "\(code) (a control character)"
    }

    /// The problem for a forbidden character in column `column`. A line break gets its own explanation: RFC 4180
    /// allows one inside quotes, and the CSV layer accepts it, but no linkage field may hold one.
    static func problem(_ bad: (scalar: Unicode.Scalar, byteOffset: Int), column: String) -> LinkageFieldError {
        if bad.scalar == "\n" || bad.scalar == "\r" {
            return .init("\(column): a line break inside the quoted field; \(column) is printed on one line of a certificate, so it may not contain one",
                         byteOffset: bad.byteOffset)
        }
        let kind = bad.scalar.properties.generalCategory == .format ? "an invisible format character" : "a control character"
        return .init("\(column): \(describe(bad.scalar)) is not allowed (\(kind))", byteOffset: bad.byteOffset)
    }
}
