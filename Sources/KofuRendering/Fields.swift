import KofuDomain

/// The values a template can print with `{name}` placeholders. Each field belongs to a scope (the whole
/// certificate, the page, or one table row) and to the certificate kinds that carry it; the loader rejects a
/// field used outside them, so a template error shows up at load time, not at a resident's request.
enum Field: Sendable {
    /// A value taken from the certificate.
    case certificate(@Sendable (Certificate) -> String)
    /// Page number or page count.
    case page(PageValue)
    /// A column value of a table row.
    case row(@Sendable (TableRow) -> String)

    enum PageValue: Sendable { case number, count }
}

/// One row of a paginated table (納税証明書: one installment, or the subtotal of one tax item).
struct TableRow: Sendable {
    /// The tax item's name on its first row only (blank below it, as on a paper ledger).
    var taxItem: String
    /// The tax item's name on every row, shown when a page starts in the middle of an item.
    var itemName: String
    var installment: String
    var noticeNo: String
    var dueDate: String
    var assessed: String
    var paid: String
    var unpaid: String
    var paidDate: String
    /// A subtotal row is shaded.
    var isSubtotal: Bool
    /// 納期未到来額: unpaid but not yet due on the certificate's as-of date (`unpaid` is only what is past due).
    var notYetDue: String = ""
    /// The tax item, printed with the municipality's name for it (`row.tax_item`).
    var item: TaxItem? = nil
}

/// The field catalogue. Documented for template authors in docs/rendering.md.
enum FieldCatalogue {
    typealias Entry = (kinds: Set<CertificateKind>, field: Field)

    static let all: Set<CertificateKind> = Set(CertificateKind.allCases)
    static let assessmentKinds: Set<CertificateKind> = [.incomeTaxation, .nonTaxation]

    /// The field `name` for `kind`, with the municipality's `wording` bound where a field prints it.
    static func lookup(_ name: String, kind: CertificateKind, wording: Wording = .none) -> Field? {
        guard let e = entries[name], e.kinds.contains(kind) else { return nil }
        if name == "row.tax_item" {
            // Blank below an item's first row; the municipality's name of the item otherwise.
            return .row { row in row.taxItem.isEmpty ? "" : row.item.map(wording.taxItemName) ?? row.taxItem }
        }
        return e.field
    }

    /// Field names available for `kind`, sorted (for docs and error hints).
    static func names(for kind: CertificateKind) -> [String] {
        entries.filter { $0.value.kinds.contains(kind) }.keys.sorted()
    }

    private static func assessment(_ f: @escaping @Sendable (Assessment) -> String) -> Entry {
        (assessmentKinds, .certificate { c in
            switch c.body {
            case .incomeTaxation(let a), .nonTaxation(let a): f(a)
            default: ""
            }
        })
    }

    private static func vehicle(_ f: @escaping @Sendable (Vehicle, LocalDate) -> String) -> Entry {
        ([.vehicleInspection], .certificate { c in
            if case .vehicleInspection(let v, let until) = c.body { return f(v, until) }
            return ""
        })
    }

    private static func payment(_ f: @escaping @Sendable ([TaxPaymentItem]) -> String) -> Entry {
        ([.taxPayment], .certificate { c in
            if case .taxPayment(let items) = c.body { return f(items) }
            return ""
        })
    }

    /// Amounts print as grouped digits without 円: the templates say 「（単位：円）」 over a grid or table, or
    /// add 円 after a lone figure.
    private static func yen(_ v: Int) -> String { YenFormat.grouped(v) }

    private static func deduction(_ f: @escaping @Sendable (IncomeDeductions) -> Int) -> Entry {
        assessment { $0.deductions.map { yen(f($0)) } ?? "" }
    }

    private static func dependents(_ f: @escaping @Sendable (DependentsBreakdown) -> Int) -> Entry {
        assessment { $0.dependentsBreakdown.map { "\(f($0))人" } ?? "" }
    }

    private static func credit(_ f: @escaping @Sendable (TaxCredits) -> Int) -> Entry {
        assessment { $0.taxCredits.map { yen(f($0)) } ?? "" }
    }

    private static func exemption(_ f: @escaping @Sendable (NonTaxationDetail) -> String) -> Entry {
        assessment { $0.nonTaxation.map(f) ?? "" }
    }

    private static func payment(asOf f: @escaping @Sendable ([TaxPaymentItem], LocalDate) -> String) -> Entry {
        ([.taxPayment], .certificate { c in
            if case .taxPayment(let items) = c.body { return f(items, c.asOfDate) }
            return ""
        })
    }

    static let entries: [String: Entry] = [
        "person.name": (all, .certificate { Width.normalizedForPrint($0.person.name) }),
        "person.name_kana": (all, .certificate { Width.normalizedForPrint($0.person.nameKana) }),
        "person.address": (all, .certificate { $0.person.printedAddress }),
        "person.postal_code": (all, .certificate { $0.person.printedPostalCode }),
        "person.birth_date": (all, .certificate { $0.person.birthDate.japaneseEraFormatted }),
        "person.addressee_id": (all, .certificate { $0.person.addresseeID.value }),
        "certificate.number": (all, .certificate { $0.number.value }),
        "certificate.title": (all, .certificate { $0.kind.title }),
        "certificate.fee": (all, .certificate { $0.feeYen == 0 ? "無料" : YenFormat.yen($0.feeYen) }),
        "certificate.issued_at": (all, .certificate { $0.issuedAt.printed }),
        "data_as_of": (all, .certificate { $0.asOfDate.japaneseEraFormatted }),
        "municipality.verify_url": (all, .certificate { $0.municipality.verifyURL }),
        "issue_date": (all, .certificate { $0.issueDate.japaneseEraFormatted }),
        "fiscal_year": (all, .certificate { $0.fiscalYear.japaneseLabel }),
        "income_year": (all, .certificate { $0.fiscalYear.incomeYearLabel }),
        "municipality.name": (all, .certificate { $0.municipality.name }),
        "municipality.code": (all, .certificate { $0.municipality.code }),
        "municipality.mayor_title": (all, .certificate { $0.municipality.mayorTitle }),
        "municipality.mayor_name": (all, .certificate { $0.municipality.mayorName }),
        "page": (all, .page(.number)),
        "pages": (all, .page(.count)),

        "assessment.status": assessment { $0.status == .taxed ? "課税" : "非課税" },
        "assessment.salary_income": assessment { yen($0.salaryIncome) },
        "assessment.salary_net": assessment { yen($0.salaryNet) },
        "assessment.pension_income": assessment { yen($0.pensionIncome) },
        "assessment.pension_net": assessment { yen($0.pensionNet) },
        "assessment.business_net": assessment { yen($0.businessNet) },
        "assessment.other_net": assessment { yen($0.otherNet) },
        "assessment.total_income": assessment { yen($0.totalIncome) },
        "assessment.deductions_total": assessment { yen($0.deductionsTotal) },
        "assessment.dependents": assessment { "\($0.dependents)人" },
        "assessment.taxable_base": assessment { yen($0.taxableBase) },
        "assessment.city_income_levy": assessment { yen($0.cityIncomeLevy) },
        "assessment.city_per_capita": assessment { yen($0.cityPerCapita) },
        "assessment.pref_income_levy": assessment { yen($0.prefIncomeLevy) },
        "assessment.pref_per_capita": assessment { yen($0.prefPerCapita) },
        "assessment.total_tax": assessment { yen($0.totalTax) },
        "assessment.forest_environment_tax": assessment { $0.forestEnvironmentTax.map(yen) ?? "" },

        "deductions.casualty_loss": deduction(\.casualtyLoss),
        "deductions.medical": deduction(\.medical),
        "deductions.social_insurance": deduction(\.socialInsurance),
        "deductions.small_business_mutual_aid": deduction(\.smallBusinessMutualAid),
        "deductions.life_insurance": deduction(\.lifeInsurance),
        "deductions.earthquake_insurance": deduction(\.earthquakeInsurance),
        "deductions.widow_or_single_parent": deduction(\.widowOrSingleParent),
        "deductions.working_student": deduction(\.workingStudent),
        "deductions.disability": deduction(\.disability),
        "deductions.spouse": deduction(\.spouse),
        "deductions.spouse_special": deduction(\.spouseSpecial),
        "deductions.dependents": deduction(\.dependents),
        "deductions.basic": deduction(\.basic),
        "deductions.total": deduction(\.total),

        "dependents.spouse": dependents(\.spouse),
        "dependents.general": dependents(\.general),
        "dependents.specified": dependents(\.specified),
        "dependents.elderly": dependents(\.elderly),
        "dependents.minor": dependents(\.minor),

        "credits.adjustment": credit(\.adjustment),
        "credits.dividend": credit(\.dividend),
        "credits.housing_loan": credit(\.housingLoan),
        "credits.donation": credit(\.donation),
        "credits.foreign_tax": credit(\.foreignTax),
        "credits.dividend_and_stock_transfer": credit(\.dividendAndStockTransfer),
        "credits.total": credit(\.total),

        "non_taxation.parts": exemption(\.exemptParts),
        "non_taxation.reason": exemption(\.reason.japaneseText),
        "non_taxation.per_capita": exemption { $0.perCapitaExempt ? "非課税" : "課税" },
        "non_taxation.income_levy": exemption { $0.incomeLevyExempt ? "非課税" : "課税" },

        "vehicle.class": vehicle { v, _ in Width.normalizedForPrint(v.vehicleClass) },
        "vehicle.plate": vehicle { v, _ in Width.normalizedForPrint(v.plate) },
        "vehicle.chassis_no": vehicle { v, _ in Width.normalizedForPrint(v.chassisNo) },
        "vehicle.fiscal_year": vehicle { v, _ in v.fiscalYear.japaneseLabel },
        "vehicle.assessed": vehicle { v, _ in yen(v.assessed) },
        "vehicle.paid": vehicle { v, _ in yen(v.paid) },
        "vehicle.paid_date": vehicle { v, _ in v.paidDate?.japaneseEraFormatted ?? "" },
        "vehicle.exempt": vehicle { v, _ in v.exempt ? "減免" : "" },
        "vehicle.valid_until": vehicle { _, until in until.japaneseEraFormatted },

        "payment.assessed": payment { yen($0.reduce(0) { $0 + $1.assessed }) },
        "payment.paid": payment { yen($0.reduce(0) { $0 + $1.paid }) },
        "payment.unpaid": payment(asOf: { items, day in yen(items.reduce(0) { $0 + $1.overdue(asOf: day) }) }),
        "payment.not_yet_due": payment(asOf: { items, day in yen(items.reduce(0) { $0 + $1.notYetDue(asOf: day) }) }),
        "payment.arrears": payment(asOf: { items, day in items.contains { $0.overdue(asOf: day) > 0 } ? "滞納あり" : "滞納なし" }),

        "row.tax_item": ([.taxPayment], .row { $0.taxItem }),
        "row.installment": ([.taxPayment], .row { $0.installment }),
        "row.notice_no": ([.taxPayment], .row { $0.noticeNo }),
        "row.due_date": ([.taxPayment], .row { $0.dueDate }),
        "row.assessed": ([.taxPayment], .row { $0.assessed }),
        "row.paid": ([.taxPayment], .row { $0.paid }),
        "row.unpaid": ([.taxPayment], .row { $0.unpaid }),
        "row.not_yet_due": ([.taxPayment], .row { $0.notYetDue }),
        "row.paid_date": ([.taxPayment], .row { $0.paidDate }),
    ]

    /// The rows of the 納税証明書 table: each installment of each tax item, then that item's subtotal.
    /// 未納額 is only what is past its due date on the certificate's as-of date; the rest unpaid is 納期未到来額.
    /// Amounts are bare digits: the table stands under 「（単位：円）」.
    static func taxPaymentRows(_ certificate: Certificate, subtotalLabel: String) -> [TableRow] {
        guard case .taxPayment(let items) = certificate.body else { return [] }
        let day = certificate.asOfDate
        var rows: [TableRow] = []
        for item in items {
            let levies = item.installments.sorted { ($0.installment, $0.dueDate) < ($1.installment, $1.dueDate) }
            for (i, levy) in levies.enumerated() {
                rows.append(TableRow(
                    taxItem: i == 0 ? item.taxItem.japaneseName : "",
                    itemName: item.taxItem.japaneseName,
                    installment: TaxPaymentItem.installmentLabel(levy.installment),
                    noticeNo: Width.normalizedForPrint(levy.noticeNo),
                    dueDate: levy.dueDate.japaneseEraFormatted,
                    assessed: yen(levy.assessed),
                    paid: yen(levy.paid),
                    unpaid: yen(levy.overdue(asOf: day)),
                    paidDate: levy.paidDate?.japaneseEraFormatted ?? "",
                    isSubtotal: false,
                    notYetDue: yen(levy.notYetDue(asOf: day)),
                    item: item.taxItem))
            }
            rows.append(TableRow(
                taxItem: levies.isEmpty ? item.taxItem.japaneseName : "", itemName: item.taxItem.japaneseName,
                installment: subtotalLabel, noticeNo: "",
                dueDate: "", assessed: yen(item.assessed), paid: yen(item.paid),
                unpaid: yen(item.overdue(asOf: day)), paidDate: "", isSubtotal: true,
                notYetDue: yen(item.notYetDue(asOf: day)), item: item.taxItem))
        }
        return rows
    }
}
