import KofuDomain
import Testing

@Suite("Japanese formatting")
struct FormattingTests {
    private func d(_ s: String) -> LocalDate { LocalDate(iso: s)! }

    @Test("era boundaries are exact", arguments: [
        ("1989-01-07", "昭和64年1月7日"), ("1989-01-08", "平成元年1月8日"), ("1989-12-31", "平成元年12月31日"),
        ("1990-01-01", "平成2年1月1日"), ("2019-04-30", "平成31年4月30日"), ("2019-05-01", "令和元年5月1日"),
        ("2020-01-01", "令和2年1月1日"), ("2026-11-22", "令和8年11月22日"), ("1926-12-24", "大正15年12月24日"),
        ("1926-12-25", "昭和元年12月25日"), ("1912-07-29", "明治45年7月29日"), ("1912-07-30", "大正元年7月30日"),
    ])
    func eraDates(iso: String, expected: String) {
        #expect(d(iso).japaneseEraFormatted == expected)
    }

    @Test("era parts")
    func eraParts() throws {
        let e = try #require(EraDate(d("2019-05-01")))
        #expect(e.era == .reiwa && e.eraYear == 1 && e.month == 5 && e.day == 1)
        #expect(EraDate(d("1868-01-01")) == nil)
        #expect(d("1868-01-01").japaneseEraFormatted == "1868年1月1日")
    }

    @Test("fiscal-year labels", arguments: [
        (2026, "令和8年度"), (2019, "令和元年度"), (2020, "令和2年度"), (2018, "平成30年度"), (1989, "平成元年度"), (1988, "昭和63年度"),
    ])
    func fiscalYears(year: Int, expected: String) {
        #expect(FiscalYear(year).japaneseLabel == expected)
    }

    @Test("income year of a fiscal year")
    func incomeYear() {
        #expect(FiscalYear(2026).incomeYearLabel == "令和7年分")
        #expect(FiscalYear(2020).incomeYearLabel == "令和元年分")
        #expect(FiscalYear(2019).incomeYearLabel == "平成30年分")
    }

    @Test("yen", arguments: [
        (0, "0円"), (7, "7円"), (999, "999円"), (1000, "1,000円"), (12300, "12,300円"), (1_234_567, "1,234,567円"),
        (100_000_000, "100,000,000円"), (-1500, "-1,500円"),
    ])
    func yen(amount: Int, expected: String) {
        #expect(YenFormat.yen(amount) == expected)
    }

    @Test("full-width and half-width conversion")
    func width() {
        #expect(Width.toFullWidth("ABC 123") == "ＡＢＣ　１２３")
        #expect(Width.toHalfWidthASCII("ＡＢＣ　１２３－") == "ABC 123-")
        #expect(Width.toFullWidth("ｶﾞｷﾞﾊﾟｱｲｳﾞ") == "ガギパアイヴ")
        #expect(Width.toFullWidth("ﾔﾏﾀﾞ ﾊﾅｺ") == "ヤマダ　ハナコ")
        #expect(Width.normalizedForPrint("ＪＦ３－１２３　ﾔﾏﾀﾞ") == "JF3-123　ヤマダ")
        #expect(Width.normalizedForPrint("山田　花子") == "山田　花子")
    }

    @Test("printed address and postal code")
    func personFields() {
        let p = Person(addresseeID: AddresseeID("1")!, name: "山田　花子", nameKana: "", birthDate: d("1980-01-01"), sex: 2,
                       postalCode: "１６０００２２", address: "東京都新宿区新宿六丁目１４番１号", addressExtra: "コーポ１０１ ",
                       status: .resident, statusDate: d("2000-01-01"))
        #expect(p.printedAddress == "東京都新宿区新宿六丁目14番1号　コーポ101")
        #expect(p.printedPostalCode == "〒160-0022")
    }

    @Test("installment labels")
    func installments() {
        #expect(TaxPaymentItem.installmentLabel(0) == "全期")
        #expect(TaxPaymentItem.installmentLabel(3) == "第3期")
    }
}
