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

extension NonTaxationDetail.Reason {
    /// Why, as the 非課税証明書 says it (「…ため」).
    public var japaneseText: String {
        switch self {
        case .publicAssistance: "生活保護法による生活扶助を受けているため"
        case .disabledMinorWidowSingleParent: "障害者、未成年者、寡婦又はひとり親であり、前年の合計所得金額が135万円以下であるため"
        case .incomeBelowPerCapitaThreshold: "前年の合計所得金額が条例で定める額以下であるため"
        case .incomeBelowIncomeLevyThreshold: "前年の総所得金額等が政令で定める額以下であるため"
        case .other: "地方税法に定めるその他の事由によるため"
        }
    }
}

extension NonTaxationDetail {
    /// The part that is 非課税: 「均等割及び所得割」, 「所得割」 or 「均等割」 (empty when the data names neither).
    public var exemptParts: String {
        switch (perCapitaExempt, incomeLevyExempt) {
        case (true, true): "均等割及び所得割"
        case (false, true): "所得割"
        case (true, false): "均等割"
        case (false, false): ""
        }
    }
}

extension IssuancePoint {
    /// The line every page carries: 「コンビニ交付（店舗 … 端末 …）」 or 「窓口交付」.
    public var printed: String {
        switch self {
        case .counter: return "窓口交付"
        case .kiosk(let chain, let store, let terminal):
            var parts: [String] = []
            if !chain.isEmpty { parts.append(chain) }
            if !store.isEmpty { parts.append("店舗 " + store) }
            if !terminal.isEmpty { parts.append("端末 " + terminal) }
            return parts.isEmpty ? "コンビニ交付" : "コンビニ交付（" + parts.joined(separator: "　") + "）"
        }
    }

    /// A kiosk point from the ledger's `store_chain/store_id/terminal_id` text (the kiosk request's
    /// `terminal`); missing parts stay empty.
    public static func kiosk(terminal: String?) -> IssuancePoint {
        let parts = (terminal ?? "").split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        func part(_ i: Int) -> String { i < parts.count ? parts[i] : "" }
        return .kiosk(storeChain: part(0), storeID: part(1), terminalID: part(2))
    }
}
