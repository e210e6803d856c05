/// One checked row's values, for the rules that relate several of its columns. Indices are into the file
/// spec's columns; every field has already passed its own type check.
struct LinkageRow {
    fileprivate let cells: UnsafeBufferPointer<Int>
    fileprivate let text: UnsafeBufferPointer<UInt8>

    /// An integer column (amount, number, flag, fiscal year).
    func int(_ c: Int) -> Int { cells[c] }

    /// A text column's bytes; nil for NULL (an empty optional date).
    func bytes(_ c: Int) -> UnsafeBufferPointer<UInt8>? {
        let v = cells[c]
        return v == TaxDataRows.null ? nil : UnsafeBufferPointer(rebasing: text[TaxDataRows.range(v)])
    }

    /// A date column as `(year, month, day)`; nil for NULL.
    func date(_ c: Int) -> (year: Int, month: Int, day: Int)? {
        guard let f = bytes(c) else { return nil }
        func num(_ from: Int, _ to: Int) -> Int { (from..<to).reduce(0) { $0 * 10 + Int(f[$1] - 48) } }
        return (num(0, 4), num(5, 7), num(8, 10))
    }

    func textEquals(_ c: Int, _ value: StaticString) -> Bool {
        guard let f = bytes(c), f.count == value.utf8CodeUnitCount else { return false }
        return (0..<f.count).allSatisfy { f[$0] == value.utf8Start[$0] }
    }
}

extension TaxDataRows {
    /// The last row appended, as a `LinkageRow`.
    func withLastRow<R>(_ body: (LinkageRow) throws -> R) rethrows -> R {
        try cells.withUnsafeBufferPointer { c in
            try text.withUnsafeBufferPointer { t in
                try body(LinkageRow(cells: UnsafeBufferPointer(rebasing: c[(c.count - width)...]), text: t))
            }
        }
    }
}

/// What the rules may compare a row with besides its own values.
struct LinkageRuleContext: Sendable {
    /// The batch's `extracted_at` as a date in Japan.
    var extractedOn: (year: Int, month: Int, day: Int)
}

/// A rule over several columns of one row, as a tax clerk would check it (one small type per rule).
protocol LinkageRowRule: Sendable {
    /// The column the problem is reported at and the message (naming columns, never values); nil when the row is fine.
    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)?
}

/// 納付済額 ≤ 税額: the certificate prints the unpaid amount as their difference, which must not be negative.
struct PaidWithinAssessed: LinkageRowRule {
    let assessed: Int
    let paid: Int

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        row.int(paid) <= row.int(assessed) ? nil
            : (paid, "paid: more than assessed (納付済額 above 税額; the unpaid amount would be negative)")
    }
}

/// 最終納付日 is given exactly when something was paid.
struct PaidDateMatchesPayment: LinkageRowRule {
    let paid: Int
    let paidDate: Int

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        switch (row.int(paid) > 0, row.bytes(paidDate) != nil) {
        case (true, false): (paidDate, "paid_date: empty although paid is above 0")
        case (false, true): (paidDate, "paid_date: given although paid is 0")
        default: nil
        }
    }
}

/// A payment cannot be dated after the extraction that reports it.
struct PaidNotAfterExtraction: LinkageRowRule {
    let paidDate: Int

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        guard let d = row.date(paidDate) else { return nil }
        let e = context.extractedOn
        guard (d.year, d.month, d.day) > (e.year, e.month, e.day) else { return nil }
        return (paidDate, "paid_date: after the batch's extraction date (extracted_at)")
    }
}

/// 納期限 within what fiscal year N can have: from 1 April N (the year's first installments, 固定資産税 and
/// 軽自動車税 in April/May) to 31 March N+2 (特別徴収 deductions run to May N+1 and are due the 10th of the next
/// month; 随時・更正 notices are issued during the following fiscal year). A date outside is a wrong fiscal year or
/// a wrong date in the extract.
struct DueDateWithinFiscalYear: LinkageRowRule {
    let fiscalYear: Int
    let dueDate: Int

    /// The first and last month (year, month) a levy of fiscal year `year` may fall due.
    static func window(_ year: Int) -> (first: (Int, Int), last: (Int, Int)) { ((year, 4), (year + 2, 3)) }

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        guard let d = row.date(dueDate) else { return nil }
        let year = row.int(fiscalYear)
        let w = Self.window(year)
        guard (d.year, d.month) < w.first || (d.year, d.month) > w.last else { return nil }
        return (dueDate, "due_date: outside fiscal year \(year)'s range \(year)-04-01 to \(year + 2)-03-31")
    }
}

/// An end date is not before its start date.
struct EndNotBeforeStart: LinkageRowRule {
    let start: Int
    let end: Int
    let names: (start: String, end: String)

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        guard let s = row.date(start), let e = row.date(end), (e.year, e.month, e.day) < (s.year, s.month, s.day) else { return nil }
        return (end, "\(names.end): before \(names.start)")
    }
}

/// One amount cannot exceed another: 給与所得 ≤ 給与収入, 公的年金等の所得 ≤ 収入, 課税標準額 ≤ 合計所得金額.
struct AmountNotAbove: LinkageRowRule {
    let amount: Int
    let limit: Int
    let names: (amount: String, limit: String)

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        row.int(amount) <= row.int(limit) ? nil : (amount, "\(names.amount): larger than \(names.limit)")
    }
}

/// 非課税: no 所得割 and no 均等割, municipal or prefectural.
struct NonTaxedHasNoLevy: LinkageRowRule {
    let status: Int
    /// The levy columns and their names.
    let levies: [(column: Int, name: String)]

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        guard row.textEquals(status, "non_taxed") else { return nil }
        guard let levy = levies.first(where: { row.int($0.column) != 0 }) else { return nil }
        return (levy.column, "\(levy.name): above 0 although status is non_taxed")
    }
}

/// A total is the sum of its parts: 所得控除合計 of the ded_ columns, 扶養人数 of the dep_ columns (format 2).
/// Reported at the total, which is what the certificate prints beside the parts.
struct PartsAddUp: LinkageRowRule {
    let total: (column: Int, name: String)
    let parts: [(column: Int, name: String)]
    /// What the parts are, for the message (`所得控除の内訳`).
    let meaning: String

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        let sum = parts.reduce(0) { $0 + row.int($1.column) }
        guard sum != row.int(total.column) else { return nil }
        let first = parts.first?.name ?? ""
        let last = parts.last?.name ?? ""
        return (total.column, "\(total.name): not the sum of \(first) … \(last) (\(meaning)); "
            + "the parts add up to \(sum < row.int(total.column) ? "less" : "more")")
    }
}

/// The 非課税 columns (format 2) are given exactly for `non_taxed` rows: a taxed row has both flags 0 and no
/// reason; a non-taxed row names at least one exempt part and a reason.
struct NonTaxationMatchesStatus: LinkageRowRule {
    let status: Int
    let perCapita: Int
    let incomeLevy: Int
    let reason: Int

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        if row.textEquals(status, "non_taxed") {
            if row.int(perCapita) == 0 && row.int(incomeLevy) == 0 {
                return (perCapita, "non_taxed_per_capita: 0 and non_taxed_income_levy 0 although status is non_taxed; "
                    + "at least one part (均等割, 所得割) is 非課税")
            }
            if row.bytes(reason) == nil {
                return (reason, "non_taxed_reason: empty although status is non_taxed")
            }
            return nil
        }
        if row.int(perCapita) != 0 { return (perCapita, "non_taxed_per_capita: 1 although status is taxed") }
        if row.int(incomeLevy) != 0 { return (incomeLevy, "non_taxed_income_levy: 1 although status is taxed") }
        if row.bytes(reason) != nil { return (reason, "non_taxed_reason: given although status is taxed") }
        return nil
    }
}

/// 森林環境税 (a national tax of 1,000 yen collected with the 均等割) exists from fiscal year 2024, and only for
/// people who pay a 均等割.
struct ForestTaxWithPerCapita: LinkageRowRule {
    /// The first fiscal year of the 森林環境税.
    static let firstYear = 2024
    let fiscalYear: Int
    let forestTax: Int
    /// The 均等割 columns (municipal, prefectural).
    let perCapita: [Int]

    func check(_ row: LinkageRow, _ context: LinkageRuleContext) -> (column: Int, message: String)? {
        guard row.int(forestTax) != 0 else { return nil }
        if row.int(fiscalYear) < Self.firstYear {
            return (forestTax, "forest_environment_tax: above 0 for a fiscal year before \(Self.firstYear), when 森林環境税 began")
        }
        if perCapita.allSatisfy({ row.int($0) == 0 }) {
            return (forestTax, "forest_environment_tax: above 0 although the 均等割 (city_per_capita, pref_per_capita) is 0")
        }
        return nil
    }
}
