/// 元号: the Japanese eras used on certificates, with the first day of each.
public enum JapaneseEra: String, Sendable, CaseIterable, Comparable {
    /// 明治 (counted here from the adoption of the era name, 1868-10-23)
    case meiji = "明治"
    /// 大正
    case taisho = "大正"
    /// 昭和
    case showa = "昭和"
    /// 平成
    case heisei = "平成"
    /// 令和
    case reiwa = "令和"

    /// The first day of the era.
    public var firstDay: LocalDate {
        switch self {
        case .meiji: LocalDate(year: 1868, month: 10, day: 23)!
        case .taisho: LocalDate(year: 1912, month: 7, day: 30)!
        case .showa: LocalDate(year: 1926, month: 12, day: 25)!
        case .heisei: LocalDate(year: 1989, month: 1, day: 8)!
        case .reiwa: LocalDate(year: 2019, month: 5, day: 1)!
        }
    }

    /// The era in force on `date`, or nil before 明治.
    public static func era(on date: LocalDate) -> JapaneseEra? {
        allCases.last { $0.firstDay <= date }
    }

    public static func < (a: JapaneseEra, b: JapaneseEra) -> Bool { a.firstDay < b.firstDay }

    /// "元年" for the first year of an era, else "<n>年" with half-width digits.
    public static func yearLabel(_ eraYear: Int) -> String { eraYear == 1 ? "元年" : "\(eraYear)年" }
}

/// A date expressed in a Japanese era (和暦).
public struct EraDate: Hashable, Sendable {
    public let era: JapaneseEra
    /// 1 for 元年.
    public let eraYear: Int
    public let month: Int
    public let day: Int

    /// Converts a Gregorian date; nil before 明治 (1868-10-23).
    public init?(_ date: LocalDate) {
        guard let era = JapaneseEra.era(on: date) else { return nil }
        self.era = era
        self.eraYear = date.year - era.firstDay.year + 1
        self.month = date.month
        self.day = date.day
    }

    /// 令和8年11月22日 / 平成元年1月8日 (half-width digits, no padding).
    public var formatted: String { "\(era.rawValue)\(JapaneseEra.yearLabel(eraYear))\(month)月\(day)日" }
}

extension LocalDate {
    /// The date in the Japanese era, e.g. 令和8年11月22日; dates before 明治 fall back to 1868年1月1日 form.
    public var japaneseEraFormatted: String {
        EraDate(self)?.formatted ?? "\(year)年\(month)月\(day)日"
    }
}

extension FiscalYear {
    /// 年度 label, e.g. 令和8年度. The era is the one in force at the end of calendar year `year`, which is
    /// how municipalities name a fiscal year that an era change falls into (FY2019 = 令和元年度,
    /// FY1988 = 昭和63年度, FY1989 = 平成元年度).
    public var japaneseLabel: String {
        let end = LocalDate(year: year, month: 12, day: 31)!
        guard let era = JapaneseEra.era(on: end) else { return "\(year)年度" }
        return "\(era.rawValue)\(JapaneseEra.yearLabel(year - era.firstDay.year + 1))度"
    }

    /// The income year (所得年, 分) a residents'-tax fiscal year is assessed on: calendar year `year − 1`,
    /// e.g. 令和7年分 for 令和8年度.
    public var incomeYearLabel: String {
        let end = LocalDate(year: year - 1, month: 12, day: 31)!
        guard let era = JapaneseEra.era(on: end) else { return "\(year - 1)年分" }
        return "\(era.rawValue)\(JapaneseEra.yearLabel(year - 1 - era.firstDay.year + 1))分"
    }
}
