import Foundation
import KofuDomain
import SQLKit

/// Problems reading stored tax data.
public enum TaxDataStoreError: Error, CustomStringConvertible {
    /// A stored value does not decode (the database was edited by hand or by an incompatible version).
    case corruptValue(table: String, column: String)

    public var description: String {
        switch self {
        case .corruptValue(let table, let column): "stored value in \(table).\(column) is not valid"
        }
    }
}

/// `TaxDataStore` over `KofuDatabase`: the same SQL for SQLite and PostgreSQL.
public struct SQLTaxDataStore: TaxDataStore {
    public let database: KofuDatabase

    public init(database: KofuDatabase) {
        self.database = database
    }

    public func holder(cardSerial: String, kind: CertificateKind, year: FiscalYear) async throws -> HolderData {
        try await database.snapshot { db in
            var holder = HolderData()
            holder.card = try await Self.card(serial: cardSerial, on: db)
            guard let card = holder.card, let person = try await Self.person(card.addresseeID, on: db) else { return holder }
            holder.person = person
            holder.restrictions = try await Self.restrictions(for: person.addresseeID, on: db)
            switch kind {
            case .incomeTaxation, .nonTaxation: holder.assessment = try await Self.assessment(for: person.addresseeID, year: year, on: db)
            case .taxPayment: holder.levies = try await Self.levies(for: person.addresseeID, year: year, on: db)
            case .vehicleInspection: holder.vehicles = try await Self.vehicles(for: person.addresseeID, year: year, on: db)
            }
            return holder
        }
    }

    public func card(serial: String) async throws -> Card? {
        try await database.read { db in try await Self.card(serial: serial, on: db) }
    }

    static func card(serial: String, on db: any SQLDatabase) async throws -> Card? {
        // Serials are hex; the linkage may send either case, we store lower case.
        let key = serial.lowercased()
        guard let row = try await db.raw("""
            SELECT card_serial, addressee_id, valid_until, revoked FROM tax_cards WHERE card_serial = \(bind: key)
            """).first() else { return nil }
        return Card(cardSerial: try row.decode(column: "card_serial", as: String.self),
                    addresseeID: try Self.addressee(row, "tax_cards"),
                    validUntil: try Self.date(row, "valid_until", "tax_cards"),
                    revoked: try row.decode(column: "revoked", as: Int.self) != 0)
    }

    public func person(_ id: AddresseeID) async throws -> Person? {
        try await database.read { db in try await Self.person(id, on: db) }
    }

    static func person(_ id: AddresseeID, on db: any SQLDatabase) async throws -> Person? {
        guard let row = try await db.raw("""
            SELECT addressee_id, name, name_kana, birth_date, sex, postal_code, address, address_extra, status,
                   status_date FROM tax_residents WHERE addressee_id = \(bind: id.value)
            """).first() else { return nil }
        guard let status = ResidentStatus(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw TaxDataStoreError.corruptValue(table: "tax_residents", column: "status")
        }
        return Person(addresseeID: id,
                      name: try row.decode(column: "name", as: String.self),
                      nameKana: try row.decode(column: "name_kana", as: String.self),
                      birthDate: try Self.date(row, "birth_date", "tax_residents"),
                      sex: try row.decode(column: "sex", as: Int.self),
                      postalCode: try row.decode(column: "postal_code", as: String.self),
                      address: try row.decode(column: "address", as: String.self),
                      addressExtra: try row.decode(column: "address_extra", as: String.self),
                      status: status,
                      statusDate: try Self.date(row, "status_date", "tax_residents"))
    }

    public func restrictions(for id: AddresseeID) async throws -> [Restriction] {
        try await database.read { db in try await Self.restrictions(for: id, on: db) }
    }

    static func restrictions(for id: AddresseeID, on db: any SQLDatabase) async throws -> [Restriction] {
        return try await db.raw("""
            SELECT kind, valid_from, valid_to FROM tax_restrictions WHERE addressee_id = \(bind: id.value)
            """).all().sorted(by: Self.ordered("valid_from", "kind")).map { row in
            guard let kind = Restriction.Kind(rawValue: try row.decode(column: "kind", as: String.self)) else {
                throw TaxDataStoreError.corruptValue(table: "tax_restrictions", column: "kind")
            }
            return Restriction(addresseeID: id, kind: kind,
                               validFrom: try Self.date(row, "valid_from", "tax_restrictions"),
                               validTo: try Self.optionalDate(row, "valid_to", "tax_restrictions"))
        }
    }

    public func assessment(for id: AddresseeID, year: FiscalYear) async throws -> Assessment? {
        try await database.read { db in try await Self.assessment(for: id, year: year, on: db) }
    }

    static func assessment(for id: AddresseeID, year: FiscalYear, on db: any SQLDatabase) async throws -> Assessment? {
        guard let row = try await db.raw("""
            SELECT * FROM tax_assessments WHERE addressee_id = \(bind: id.value) AND fiscal_year = \(bind: year.year)
            """).first() else { return nil }
        guard let status = Assessment.Status(rawValue: try row.decode(column: "status", as: String.self)) else {
            throw TaxDataStoreError.corruptValue(table: "tax_assessments", column: "status")
        }
        func int(_ c: String) throws -> Int { try row.decode(column: c, as: Int.self) }
        var assessment = Assessment(fiscalYear: year, addresseeID: id, status: status,
                          salaryIncome: try int("salary_income"), salaryNet: try int("salary_net"),
                          pensionIncome: try int("pension_income"), pensionNet: try int("pension_net"),
                          businessNet: try int("business_net"), otherNet: try int("other_net"),
                          totalIncome: try int("total_income"), deductionsTotal: try int("deductions_total"),
                          dependents: try int("dependents"), taxableBase: try int("taxable_base"),
                          cityIncomeLevy: try int("city_income_levy"), cityPerCapita: try int("city_per_capita"),
                          prefIncomeLevy: try int("pref_income_levy"), prefPerCapita: try int("pref_per_capita"))
        try Self.readFormat2Details(row, into: &assessment)
        return assessment
    }

    /// The linkage-format-2 columns (migration `0500_assessment_details`). A row of a format-1 batch has them all
    /// NULL and keeps the fields nil; a format-2 row has every one but `non_taxed_reason` (NULL for taxed rows).
    static func readFormat2Details(_ row: any SQLRow, into a: inout Assessment) throws {
        let table = "tax_assessments"
        guard let basic = try row.decode(column: "ded_basic", as: Int?.self) else { return }
        func int(_ c: String) throws -> Int {
            guard let v = try row.decode(column: c, as: Int?.self) else {
                throw TaxDataStoreError.corruptValue(table: table, column: c)
            }
            return v
        }
        a.deductions = IncomeDeductions(
            casualtyLoss: try int("ded_casualty_loss"), medical: try int("ded_medical"),
            socialInsurance: try int("ded_social_insurance"), smallBusinessMutualAid: try int("ded_small_business_mutual_aid"),
            lifeInsurance: try int("ded_life_insurance"), earthquakeInsurance: try int("ded_earthquake_insurance"),
            widowOrSingleParent: try int("ded_widow_single_parent"), workingStudent: try int("ded_working_student"),
            disability: try int("ded_disability"), spouse: try int("ded_spouse"), spouseSpecial: try int("ded_spouse_special"),
            dependents: try int("ded_dependents"), basic: basic)
        a.dependentsBreakdown = DependentsBreakdown(
            spouse: try int("dep_spouse"), general: try int("dep_general"), specified: try int("dep_specified"),
            elderly: try int("dep_elderly"), minor: try int("dep_minor"))
        a.taxCredits = TaxCredits(
            adjustment: try int("credit_adjustment"), dividend: try int("credit_dividend"),
            housingLoan: try int("credit_housing_loan"), donation: try int("credit_donation"),
            foreignTax: try int("credit_foreign_tax"), dividendAndStockTransfer: try int("credit_dividend_stock_transfer"))
        a.forestEnvironmentTax = try int("forest_environment_tax")
        if let code = try row.decode(column: "non_taxed_reason", as: String?.self) {
            guard let reason = NonTaxationDetail.Reason(rawValue: code) else {
                throw TaxDataStoreError.corruptValue(table: table, column: "non_taxed_reason")
            }
            a.nonTaxation = NonTaxationDetail(perCapitaExempt: try int("non_taxed_per_capita") != 0,
                                              incomeLevyExempt: try int("non_taxed_income_levy") != 0, reason: reason)
        }
    }

    public func levies(for id: AddresseeID, year: FiscalYear) async throws -> [Levy] {
        try await database.read { db in try await Self.levies(for: id, year: year, on: db) }
    }

    static func levies(for id: AddresseeID, year: FiscalYear, on db: any SQLDatabase) async throws -> [Levy] {
        return try await db.raw("""
            SELECT tax_item, notice_no, installment, assessed, paid, due_date, paid_date, payment_status
            FROM tax_levies WHERE addressee_id = \(bind: id.value) AND fiscal_year = \(bind: year.year)
            ORDER BY tax_item, notice_no, installment
            """).all().map { row in
            guard let item = TaxItem(rawValue: try row.decode(column: "tax_item", as: String.self)) else {
                throw TaxDataStoreError.corruptValue(table: "tax_levies", column: "tax_item")
            }
            return Levy(fiscalYear: year, addresseeID: id, taxItem: item,
                        noticeNo: try row.decode(column: "notice_no", as: String.self),
                        installment: try row.decode(column: "installment", as: Int.self),
                        assessed: try row.decode(column: "assessed", as: Int.self),
                        paid: try row.decode(column: "paid", as: Int.self),
                        dueDate: try Self.date(row, "due_date", "tax_levies"),
                        paidDate: try Self.optionalDate(row, "paid_date", "tax_levies"),
                        paymentStatus: try Self.paymentStatus(row, "tax_levies"))
        }
    }

    public func vehicles(for id: AddresseeID, year: FiscalYear) async throws -> [Vehicle] {
        try await database.read { db in try await Self.vehicles(for: id, year: year, on: db) }
    }

    static func vehicles(for id: AddresseeID, year: FiscalYear, on db: any SQLDatabase) async throws -> [Vehicle] {
        return try await db.raw("""
            SELECT vehicle_id, vehicle_class, plate, chassis_no, assessed, paid, paid_date, payment_status, exempt
            FROM tax_vehicles WHERE addressee_id = \(bind: id.value) AND fiscal_year = \(bind: year.year)
            """).all().sorted(by: Self.ordered("vehicle_id")).map { row in
            Vehicle(vehicleID: try row.decode(column: "vehicle_id", as: String.self), fiscalYear: year,
                    addresseeID: id,
                    vehicleClass: try row.decode(column: "vehicle_class", as: String.self),
                    plate: try row.decode(column: "plate", as: String.self),
                    chassisNo: try row.decode(column: "chassis_no", as: String.self),
                    assessed: try row.decode(column: "assessed", as: Int.self),
                    paid: try row.decode(column: "paid", as: Int.self),
                    paidDate: try Self.optionalDate(row, "paid_date", "tax_vehicles"),
                    paymentStatus: try Self.paymentStatus(row, "tax_vehicles"),
                    exempt: try row.decode(column: "exempt", as: Int.self) != 0)
        }
    }

    public func heldFiscalYears() async throws -> [FiscalYear] {
        try await database.read { db in
            try await db.raw("SELECT DISTINCT fiscal_year FROM tax_fiscal_years ORDER BY fiscal_year DESC").all().map { FiscalYear(try $0.decode(column: "fiscal_year", as: Int.self)) }
        }
    }

    public func freshness() async throws -> [DataSetFreshness] {
        try await database.read { db in
            try await db.raw("SELECT data_set, batch_id, extracted_at, loaded_at, row_count FROM tax_freshness ORDER BY data_set")
                .all().map { row in
                    guard let extracted = TaxDataTime.parse(try row.decode(column: "extracted_at", as: String.self)),
                          let loaded = TaxDataTime.parse(try row.decode(column: "loaded_at", as: String.self)) else {
                        throw TaxDataStoreError.corruptValue(table: "tax_freshness", column: "extracted_at")
                    }
                    return DataSetFreshness(dataSet: try row.decode(column: "data_set", as: String.self),
                                            batchID: try row.decode(column: "batch_id", as: String.self),
                                            extractedAt: extracted, loadedAt: loaded,
                                            rows: try row.decode(column: "row_count", as: Int.self))
                }
        }
    }

    /// The batch ids imported so far, oldest first.
    public func importedBatches() async throws -> [String] {
        try await database.read { db in
            try await db.raw("SELECT batch_id FROM tax_batches ORDER BY loaded_at, batch_id").all()
                .map { try $0.decode(column: "batch_id", as: String.self) }
        }
    }

    /// Orders a person's few rows by text columns, byte-wise as SQL's `ORDER BY` does. Sorting here instead
    /// of in SQL spares SQLite a sorter per request where no index has that order.
    private static func ordered(_ columns: String...) -> (any SQLRow, any SQLRow) -> Bool {
        { a, b in
            for column in columns {
                let x = (try? a.decode(column: column, as: String.self)) ?? ""
                let y = (try? b.decode(column: column, as: String.self)) ?? ""
                if x != y { return x.utf8.lexicographicallyPrecedes(y.utf8) }
            }
            return false
        }
    }

    private static func addressee(_ row: any SQLRow, _ table: String) throws -> AddresseeID {
        guard let id = AddresseeID(try row.decode(column: "addressee_id", as: String.self)) else {
            throw TaxDataStoreError.corruptValue(table: table, column: "addressee_id")
        }
        return id
    }

    private static func date(_ row: any SQLRow, _ column: String, _ table: String) throws -> LocalDate {
        guard let d = LocalDate(iso: try row.decode(column: column, as: String.self)) else {
            throw TaxDataStoreError.corruptValue(table: table, column: column)
        }
        return d
    }

    private static func optionalDate(_ row: any SQLRow, _ column: String, _ table: String) throws -> LocalDate? {
        guard let text = try row.decode(column: column, as: String?.self) else { return nil }
        guard let d = LocalDate(iso: text) else { throw TaxDataStoreError.corruptValue(table: table, column: column) }
        return d
    }

    private static func paymentStatus(_ row: any SQLRow, _ table: String) throws -> PaymentStatus {
        guard let s = PaymentStatus(rawValue: try row.decode(column: "payment_status", as: String.self)) else {
            throw TaxDataStoreError.corruptValue(table: table, column: "payment_status")
        }
        return s
    }
}

/// Timestamps as stored: ISO 8601 in UTC with seconds. FoundationEssentials' format style: Foundation's
/// ISO8601DateFormatter goes through ICU and was a sixth of a kiosk request's CPU when made per row.
enum TaxDataTime {
    private static let seconds = Date.ISO8601FormatStyle()
    private static let fractional = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    static func format(_ date: Date) -> String { seconds.format(date) }

    /// Japan time with its offset, as batches state `extracted_at` (`2026-11-22T02:00:00+09:00`), for messages.
    static func japan(_ date: Date) -> String { japanSeconds.format(date) }
    private static let japanSeconds = Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: TimeZone(secondsFromGMT: 9 * 3600)!)

    static func parse(_ text: String) -> Date? {
        (try? seconds.parse(text)) ?? (try? fractional.parse(text))
    }
}

extension LocalDate {
    /// Today's date in Japan (UTC+9, no daylight saving), which is what fiscal years and due dates follow.
    public static func todayInJapan(now: Date = Date()) -> LocalDate {
        let seconds = Int(now.timeIntervalSince1970.rounded(.down)) + 9 * 3600
        return LocalDate(dayNumber: seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400)
    }
}
