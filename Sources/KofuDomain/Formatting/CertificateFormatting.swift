extension TaxPaymentItem {
    /// 期別 label: 全期 for installment 0, else 第n期.
    public static func installmentLabel(_ installment: Int) -> String {
        installment == 0 ? "全期" : "第\(installment)期"
    }
}

extension Person {
    /// 住所 with 方書 as printed (one space between them when there is a 方書).
    public var printedAddress: String {
        let extra = addressExtra.trimmingSpaces
        return Width.normalizedForPrint(extra.isEmpty ? address : address + "　" + extra)
    }

    /// 〒 and the postal code as 123-4567 when seven digits are given.
    public var printedPostalCode: String {
        let digits = Width.toHalfWidthASCII(postalCode).filter(\.isNumber)
        guard digits.count == 7 else { return Width.normalizedForPrint(postalCode) }
        return "〒" + digits.prefix(3) + "-" + digits.suffix(4)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\u{3000}" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\u{3000}" { s = s.dropLast() }
        return String(s)
    }
}
