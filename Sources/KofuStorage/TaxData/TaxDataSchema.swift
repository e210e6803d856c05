/// Tables for residents, cards, restrictions, assessments, levies, vehicles and batch bookkeeping (issue #4).
///
/// The same SQL runs on SQLite and PostgreSQL: dates are `TEXT` in `YYYY-MM-DD` (they sort and compare
/// correctly as text), amounts and counts are `BIGINT`, flags are `BIGINT` 0/1. There is deliberately no
/// column anywhere for My Number (個人番号): everything is keyed on the addressee number (宛名番号).
public enum TaxDataSchema {
    /// The linkage tables, in the order a batch is applied (residents first: the others refer to them).
    public static let dataSetTables: [(dataSet: String, table: String)] = [
        ("residents", "tax_residents"), ("cards", "tax_cards"), ("restrictions", "tax_restrictions"),
        ("assessments", "tax_assessments"), ("levies", "tax_levies"), ("vehicles", "tax_vehicles"),
    ]

    /// Tables that hold per-fiscal-year rows, erased by the rollover.
    public static let fiscalYearTables = ["tax_assessments", "tax_levies", "tax_vehicles"]

    public static var migrations: [Migration] {
        [
            Migration(name: "0100_tax_data") { _ in
                [
                    """
                    CREATE TABLE tax_residents (
                        addressee_id TEXT PRIMARY KEY, name TEXT NOT NULL, name_kana TEXT NOT NULL,
                        birth_date TEXT NOT NULL, sex BIGINT NOT NULL, postal_code TEXT NOT NULL,
                        address TEXT NOT NULL, address_extra TEXT NOT NULL, status TEXT NOT NULL,
                        status_date TEXT NOT NULL)
                    """,
                    """
                    CREATE TABLE tax_cards (
                        card_serial TEXT PRIMARY KEY, addressee_id TEXT NOT NULL, valid_until TEXT NOT NULL,
                        revoked BIGINT NOT NULL)
                    """,
                    "CREATE INDEX tax_cards_addressee ON tax_cards (addressee_id)",
                    """
                    CREATE TABLE tax_restrictions (
                        addressee_id TEXT NOT NULL, kind TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT,
                        PRIMARY KEY (addressee_id, kind, valid_from))
                    """,
                    """
                    CREATE TABLE tax_assessments (
                        addressee_id TEXT NOT NULL, fiscal_year BIGINT NOT NULL, status TEXT NOT NULL,
                        salary_income BIGINT NOT NULL, salary_net BIGINT NOT NULL,
                        pension_income BIGINT NOT NULL, pension_net BIGINT NOT NULL,
                        business_net BIGINT NOT NULL, other_net BIGINT NOT NULL, total_income BIGINT NOT NULL,
                        deductions_total BIGINT NOT NULL, dependents BIGINT NOT NULL, taxable_base BIGINT NOT NULL,
                        city_income_levy BIGINT NOT NULL, city_per_capita BIGINT NOT NULL,
                        pref_income_levy BIGINT NOT NULL, pref_per_capita BIGINT NOT NULL,
                        PRIMARY KEY (addressee_id, fiscal_year))
                    """,
                    """
                    CREATE TABLE tax_levies (
                        addressee_id TEXT NOT NULL, fiscal_year BIGINT NOT NULL, tax_item TEXT NOT NULL,
                        notice_no TEXT NOT NULL, installment BIGINT NOT NULL, assessed BIGINT NOT NULL,
                        paid BIGINT NOT NULL, due_date TEXT NOT NULL, paid_date TEXT, payment_status TEXT NOT NULL,
                        PRIMARY KEY (addressee_id, fiscal_year, tax_item, notice_no, installment))
                    """,
                    """
                    CREATE TABLE tax_vehicles (
                        vehicle_id TEXT NOT NULL, fiscal_year BIGINT NOT NULL, addressee_id TEXT NOT NULL,
                        vehicle_class TEXT NOT NULL, plate TEXT NOT NULL, chassis_no TEXT NOT NULL,
                        assessed BIGINT NOT NULL, paid BIGINT NOT NULL, paid_date TEXT, payment_status TEXT NOT NULL,
                        exempt BIGINT NOT NULL, PRIMARY KEY (vehicle_id, fiscal_year))
                    """,
                    "CREATE INDEX tax_vehicles_addressee ON tax_vehicles (addressee_id, fiscal_year)",
                    """
                    CREATE TABLE tax_batches (
                        batch_id TEXT PRIMARY KEY, municipality_code TEXT NOT NULL, extracted_at TEXT NOT NULL,
                        loaded_at TEXT NOT NULL, files TEXT NOT NULL)
                    """,
                    """
                    CREATE TABLE tax_freshness (
                        data_set TEXT PRIMARY KEY, batch_id TEXT NOT NULL, extracted_at TEXT NOT NULL,
                        loaded_at TEXT NOT NULL, row_count BIGINT NOT NULL)
                    """,
                ]
            },
            // Which fiscal years each per-year data set holds, kept by the import (which replaces a data set
            // whole) and the rollover (which erases old years), so that the held years are a read of a few rows
            // instead of a scan of every per-year table (213 ms at 20,000 people, seconds at a million).
            Migration(name: "0101_tax_fiscal_years") { _ in
                [
                    """
                    CREATE TABLE tax_fiscal_years (
                        data_set TEXT NOT NULL, fiscal_year BIGINT NOT NULL, PRIMARY KEY (data_set, fiscal_year))
                    """,
                    "INSERT INTO tax_fiscal_years SELECT DISTINCT 'assessments', fiscal_year FROM tax_assessments",
                    "INSERT INTO tax_fiscal_years SELECT DISTINCT 'levies', fiscal_year FROM tax_levies",
                    "INSERT INTO tax_fiscal_years SELECT DISTINCT 'vehicles', fiscal_year FROM tax_vehicles",
                ]
            },
            // Linkage format 2 (issue 14): the 所得控除・扶養・税額控除 breakdowns, 森林環境税 and which part is 非課税
            // and why. Nullable: rows of a format-1 batch have none of them (NULL), and read back as nil.
            // The list is written out, not derived from the importer's columns: an applied migration never changes.
            Migration(name: "0500_assessment_details") { _ in
                let integers = [
                    "ded_casualty_loss", "ded_medical", "ded_social_insurance", "ded_small_business_mutual_aid",
                    "ded_life_insurance", "ded_earthquake_insurance", "ded_widow_single_parent", "ded_working_student",
                    "ded_disability", "ded_spouse", "ded_spouse_special", "ded_dependents", "ded_basic",
                    "dep_spouse", "dep_general", "dep_specified", "dep_elderly", "dep_minor",
                    "credit_adjustment", "credit_dividend", "credit_housing_loan", "credit_donation", "credit_foreign_tax",
                    "credit_dividend_stock_transfer", "forest_environment_tax", "non_taxed_per_capita", "non_taxed_income_levy",
                ]
                return integers.map { "ALTER TABLE tax_assessments ADD COLUMN \($0) BIGINT" }
                    + ["ALTER TABLE tax_assessments ADD COLUMN non_taxed_reason TEXT"]
            },
        ]
    }
}
