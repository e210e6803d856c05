/// 宛名番号: the addressee number, 1–15 digits. Kofu keys everything on it and never stores My Number.
public struct AddresseeID: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let value: String
    /// Accepts 1–15 ASCII digits.
    public init?(_ value: String) {
        guard (1...15).contains(value.utf8.count), value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
        self.value = value
    }
    public var description: String { value }
    public static func < (a: AddresseeID, b: AddresseeID) -> Bool { a.value < b.value }
    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        guard let v = AddresseeID(s) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "addressee_id must be 1-15 digits"))
        }
        self = v
    }
    public func encode(to encoder: any Encoder) throws { var c = encoder.singleValueContainer(); try c.encode(value) }
}

/// 住民区分: the person's status in the resident registry.
public enum ResidentStatus: String, Sendable, Codable, CaseIterable {
    case resident
    case movedOut = "moved_out"
    case deceased
    /// 住登外: on file for tax but not registered as a resident here.
    case nonResident = "non_resident"
}

/// 宛名: a person as the resident registry and tax system know them.
public struct Person: Hashable, Sendable, Codable {
    public var addresseeID: AddresseeID
    /// 漢字氏名
    public var name: String
    /// カナ氏名
    public var nameKana: String
    public var birthDate: LocalDate
    /// 1 male, 2 female
    public var sex: Int
    public var postalCode: String
    public var address: String
    /// 方書
    public var addressExtra: String
    public var status: ResidentStatus
    /// Date of the last status change (the moved-in date for a resident).
    public var statusDate: LocalDate

    public init(addresseeID: AddresseeID, name: String, nameKana: String, birthDate: LocalDate, sex: Int,
                postalCode: String, address: String, addressExtra: String, status: ResidentStatus, statusDate: LocalDate) {
        self.addresseeID = addresseeID; self.name = name; self.nameKana = nameKana; self.birthDate = birthDate
        self.sex = sex; self.postalCode = postalCode; self.address = address; self.addressExtra = addressExtra
        self.status = status; self.statusDate = statusDate
    }
}

/// A My Number card's user-authentication certificate, as the linkage maps it to a person.
public struct Card: Hashable, Sendable, Codable {
    public var cardSerial: String
    public var addresseeID: AddresseeID
    public var validUntil: LocalDate
    public var revoked: Bool
    public init(cardSerial: String, addresseeID: AddresseeID, validUntil: LocalDate, revoked: Bool) {
        self.cardSerial = cardSerial; self.addresseeID = addresseeID; self.validUntil = validUntil; self.revoked = revoked
    }
}

/// 発行制限
public struct Restriction: Hashable, Sendable, Codable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        /// DV等支援措置
        case supportMeasure = "support_measure"
        /// 証明発行停止
        case issuanceStop = "issuance_stop"
        case counterOnly = "counter_only"
    }
    public var addresseeID: AddresseeID
    public var kind: Kind
    public var validFrom: LocalDate
    public var validTo: LocalDate?
    public init(addresseeID: AddresseeID, kind: Kind, validFrom: LocalDate, validTo: LocalDate?) {
        self.addresseeID = addresseeID; self.kind = kind; self.validFrom = validFrom; self.validTo = validTo
    }
    /// Whether the restriction is in force on `date`.
    public func isActive(on date: LocalDate) -> Bool {
        validFrom <= date && (validTo.map { date <= $0 } ?? true)
    }
}

/// 税目 codes from the linkage spec.
public enum TaxItem: String, Sendable, Codable, CaseIterable, Comparable {
    /// 市民税・県民税(普通徴収)
    case residentTaxOrdinary = "01"
    /// 市民税・県民税(特別徴収)
    case residentTaxSpecial = "02"
    /// 固定資産税・都市計画税
    case fixedAsset = "03"
    /// 軽自動車税(種別割)
    case lightVehicle = "04"
    /// 国民健康保険税
    case nationalHealthInsurance = "05"

    public var code: String { rawValue }

    /// The printed name.
    public var japaneseName: String {
        switch self {
        case .residentTaxOrdinary: "市民税・県民税(普通徴収)"
        case .residentTaxSpecial: "市民税・県民税(特別徴収)"
        case .fixedAsset: "固定資産税・都市計画税"
        case .lightVehicle: "軽自動車税(種別割)"
        case .nationalHealthInsurance: "国民健康保険税"
        }
    }

    public static func < (a: TaxItem, b: TaxItem) -> Bool { a.rawValue < b.rawValue }
}

public enum PaymentStatus: String, Sendable, Codable {
    case confirmed
    /// 速報 / 仮消込: paid at a store or bank, receipt not yet confirmed.
    case provisional
}

/// 個人住民税 課税情報: one person's residents'-tax assessment for one fiscal year.
public struct Assessment: Hashable, Sendable, Codable {
    public enum Status: String, Sendable, Codable { case taxed, nonTaxed = "non_taxed" }
    public var fiscalYear: FiscalYear
    public var addresseeID: AddresseeID
    public var status: Status
    /// 給与収入
    public var salaryIncome: Int
    /// 給与所得
    public var salaryNet: Int
    /// 公的年金等収入
    public var pensionIncome: Int
    /// 雑所得(公的年金等)
    public var pensionNet: Int
    /// 事業所得
    public var businessNet: Int
    /// その他の所得
    public var otherNet: Int
    /// 合計所得金額
    public var totalIncome: Int
    /// 所得控除合計
    public var deductionsTotal: Int
    /// 扶養人数
    public var dependents: Int
    /// 課税標準額
    public var taxableBase: Int
    /// 市町村民税 所得割
    public var cityIncomeLevy: Int
    /// 市町村民税 均等割
    public var cityPerCapita: Int
    /// 道府県民税 所得割
    public var prefIncomeLevy: Int
    /// 道府県民税 均等割
    public var prefPerCapita: Int
    /// 所得控除の内訳 (linkage format 2). `nil` when the batch was in format 1, which carries only the total.
    public var deductions: IncomeDeductions?
    /// 扶養の内訳 (linkage format 2). `nil` for format 1 batches.
    public var dependentsBreakdown: DependentsBreakdown?
    /// 税額控除 (linkage format 2). `nil` for format 1 batches.
    public var taxCredits: TaxCredits?
    /// 森林環境税 (国税, 1,000円 a year, collected with the 均等割 since FY2024). `nil` for format 1 batches.
    public var forestEnvironmentTax: Int?
    /// Which part is 非課税 and why (linkage format 2, for `non_taxed` rows). `nil` for format 1 batches.
    public var nonTaxation: NonTaxationDetail?

    public init(fiscalYear: FiscalYear, addresseeID: AddresseeID, status: Status, salaryIncome: Int, salaryNet: Int,
                pensionIncome: Int, pensionNet: Int, businessNet: Int, otherNet: Int, totalIncome: Int,
                deductionsTotal: Int, dependents: Int, taxableBase: Int, cityIncomeLevy: Int, cityPerCapita: Int,
                prefIncomeLevy: Int, prefPerCapita: Int, deductions: IncomeDeductions? = nil,
                dependentsBreakdown: DependentsBreakdown? = nil, taxCredits: TaxCredits? = nil,
                forestEnvironmentTax: Int? = nil, nonTaxation: NonTaxationDetail? = nil) {
        self.deductions = deductions; self.dependentsBreakdown = dependentsBreakdown; self.taxCredits = taxCredits
        self.forestEnvironmentTax = forestEnvironmentTax; self.nonTaxation = nonTaxation
        self.fiscalYear = fiscalYear; self.addresseeID = addresseeID; self.status = status
        self.salaryIncome = salaryIncome; self.salaryNet = salaryNet; self.pensionIncome = pensionIncome
        self.pensionNet = pensionNet; self.businessNet = businessNet; self.otherNet = otherNet
        self.totalIncome = totalIncome; self.deductionsTotal = deductionsTotal; self.dependents = dependents
        self.taxableBase = taxableBase; self.cityIncomeLevy = cityIncomeLevy; self.cityPerCapita = cityPerCapita
        self.prefIncomeLevy = prefIncomeLevy; self.prefPerCapita = prefPerCapita
    }

    /// 年税額: municipal plus prefectural, income levy plus per-capita levy.
    public var totalTax: Int { cityIncomeLevy + cityPerCapita + prefIncomeLevy + prefPerCapita }
}

/// 所得控除の内訳: each deduction in yen, as the tax system computed it for the residents' tax.
/// The parts add up to `Assessment.deductionsTotal` (an import rule).
public struct IncomeDeductions: Hashable, Sendable, Codable {
    /// 雑損控除
    public var casualtyLoss: Int = 0
    /// 医療費控除
    public var medical: Int = 0
    /// 社会保険料控除
    public var socialInsurance: Int = 0
    /// 小規模企業共済等掛金控除
    public var smallBusinessMutualAid: Int = 0
    /// 生命保険料控除
    public var lifeInsurance: Int = 0
    /// 地震保険料控除
    public var earthquakeInsurance: Int = 0
    /// 寡婦控除・ひとり親控除
    public var widowOrSingleParent: Int = 0
    /// 勤労学生控除
    public var workingStudent: Int = 0
    /// 障害者控除
    public var disability: Int = 0
    /// 配偶者控除
    public var spouse: Int = 0
    /// 配偶者特別控除
    public var spouseSpecial: Int = 0
    /// 扶養控除
    public var dependents: Int = 0
    /// 基礎控除
    public var basic: Int = 0

    public init(casualtyLoss: Int = 0, medical: Int = 0, socialInsurance: Int = 0, smallBusinessMutualAid: Int = 0,
                lifeInsurance: Int = 0, earthquakeInsurance: Int = 0, widowOrSingleParent: Int = 0, workingStudent: Int = 0,
                disability: Int = 0, spouse: Int = 0, spouseSpecial: Int = 0, dependents: Int = 0, basic: Int = 0) {
        self.casualtyLoss = casualtyLoss; self.medical = medical; self.socialInsurance = socialInsurance
        self.smallBusinessMutualAid = smallBusinessMutualAid; self.lifeInsurance = lifeInsurance
        self.earthquakeInsurance = earthquakeInsurance; self.widowOrSingleParent = widowOrSingleParent
        self.workingStudent = workingStudent; self.disability = disability; self.spouse = spouse
        self.spouseSpecial = spouseSpecial; self.dependents = dependents; self.basic = basic
    }

    /// The sum of every part.
    public var total: Int {
        casualtyLoss + medical + socialInsurance + smallBusinessMutualAid + lifeInsurance + earthquakeInsurance
            + widowOrSingleParent + workingStudent + disability + spouse + spouseSpecial + dependents + basic
    }
}

/// 扶養の内訳: how many people of each kind the deductions count.
public struct DependentsBreakdown: Hashable, Sendable, Codable {
    /// 控除対象配偶者 (0 or 1)
    public var spouse: Int = 0
    /// 一般扶養親族
    public var general: Int = 0
    /// 特定扶養親族 (19–22)
    public var specified: Int = 0
    /// 老人扶養親族 (70+)
    public var elderly: Int = 0
    /// 年少扶養親族 (under 16: no deduction, still counted for the 非課税 threshold)
    public var minor: Int = 0

    public init(spouse: Int = 0, general: Int = 0, specified: Int = 0, elderly: Int = 0, minor: Int = 0) {
        self.spouse = spouse; self.general = general; self.specified = specified; self.elderly = elderly; self.minor = minor
    }
}

/// 税額控除: amounts subtracted from the 所得割 (city and prefecture together).
public struct TaxCredits: Hashable, Sendable, Codable {
    /// 調整控除
    public var adjustment: Int = 0
    /// 配当控除
    public var dividend: Int = 0
    /// 住宅借入金等特別税額控除
    public var housingLoan: Int = 0
    /// 寄附金税額控除
    public var donation: Int = 0
    /// 外国税額控除
    public var foreignTax: Int = 0
    /// 配当割額・株式等譲渡所得割額控除
    public var dividendAndStockTransfer: Int = 0

    public init(adjustment: Int = 0, dividend: Int = 0, housingLoan: Int = 0, donation: Int = 0, foreignTax: Int = 0,
                dividendAndStockTransfer: Int = 0) {
        self.adjustment = adjustment; self.dividend = dividend; self.housingLoan = housingLoan; self.donation = donation
        self.foreignTax = foreignTax; self.dividendAndStockTransfer = dividendAndStockTransfer
    }

    public var total: Int { adjustment + dividend + housingLoan + donation + foreignTax + dividendAndStockTransfer }
}

/// Which part of the residents' tax is 非課税, and why.
public struct NonTaxationDetail: Hashable, Sendable, Codable {
    /// Why the tax system found the person non-taxed (linkage code in the raw value).
    public enum Reason: String, Hashable, Sendable, Codable, CaseIterable {
        /// 生活保護法による生活扶助を受けている
        case publicAssistance = "public_assistance"
        /// 障害者・未成年者・寡婦・ひとり親で前年の合計所得金額が135万円以下
        case disabledMinorWidowSingleParent = "disabled_minor_widow_single_parent"
        /// 前年の合計所得金額が条例で定める額以下 (均等割)
        case incomeBelowPerCapitaThreshold = "income_below_per_capita_threshold"
        /// 前年の総所得金額等が政令で定める額以下 (所得割)
        case incomeBelowIncomeLevyThreshold = "income_below_income_levy_threshold"
        /// その他 (e.g. 賦課期日に住所なし)
        case other
    }
    /// 均等割が非課税
    public var perCapitaExempt: Bool
    /// 所得割が非課税
    public var incomeLevyExempt: Bool
    public var reason: Reason

    public init(perCapitaExempt: Bool, incomeLevyExempt: Bool, reason: Reason) {
        self.perCapitaExempt = perCapitaExempt; self.incomeLevyExempt = incomeLevyExempt; self.reason = reason
    }
}

/// 調定・収納: one installment (期別) of one tax notice.
public struct Levy: Hashable, Sendable, Codable {
    public var fiscalYear: FiscalYear
    public var addresseeID: AddresseeID
    public var taxItem: TaxItem
    /// 通知書番号
    public var noticeNo: String
    /// 期別: 0 for 全期/随時, else 1–12.
    public var installment: Int
    /// 税額 (調定額)
    public var assessed: Int
    /// 納付済額
    public var paid: Int
    /// 納期限
    public var dueDate: LocalDate
    /// 最終納付日
    public var paidDate: LocalDate?
    public var paymentStatus: PaymentStatus

    public init(fiscalYear: FiscalYear, addresseeID: AddresseeID, taxItem: TaxItem, noticeNo: String, installment: Int,
                assessed: Int, paid: Int, dueDate: LocalDate, paidDate: LocalDate?, paymentStatus: PaymentStatus) {
        self.fiscalYear = fiscalYear; self.addresseeID = addresseeID; self.taxItem = taxItem; self.noticeNo = noticeNo
        self.installment = installment; self.assessed = assessed; self.paid = paid; self.dueDate = dueDate
        self.paidDate = paidDate; self.paymentStatus = paymentStatus
    }

    /// 未納額
    public var unpaid: Int { max(0, assessed - paid) }
}

/// 軽自動車税(種別割): one vehicle's record for one fiscal year.
public struct Vehicle: Hashable, Sendable, Codable {
    public var vehicleID: String
    public var fiscalYear: FiscalYear
    public var addresseeID: AddresseeID
    /// 車種
    public var vehicleClass: String
    /// 標識番号
    public var plate: String
    /// 車台番号
    public var chassisNo: String
    public var assessed: Int
    public var paid: Int
    public var paidDate: LocalDate?
    public var paymentStatus: PaymentStatus
    /// 減免
    public var exempt: Bool

    public init(vehicleID: String, fiscalYear: FiscalYear, addresseeID: AddresseeID, vehicleClass: String, plate: String,
                chassisNo: String, assessed: Int, paid: Int, paidDate: LocalDate?, paymentStatus: PaymentStatus, exempt: Bool) {
        self.vehicleID = vehicleID; self.fiscalYear = fiscalYear; self.addresseeID = addresseeID
        self.vehicleClass = vehicleClass; self.plate = plate; self.chassisNo = chassisNo; self.assessed = assessed
        self.paid = paid; self.paidDate = paidDate; self.paymentStatus = paymentStatus; self.exempt = exempt
    }
}
