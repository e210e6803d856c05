/// Full-width / half-width conversion (全角・半角). Kofu prints one consistent form: Latin letters,
/// digits and ASCII symbols half-width; katakana full-width; the ideographic space kept as is.
public enum Width {
    /// Half-width ASCII (U+0021–U+007E) and space to full-width (U+FF01–U+FF5E, U+3000); half-width
    /// katakana to full-width katakana (with a following ﾞ/ﾟ merged into the voiced form).
    public static func toFullWidth(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        let scalars = Array(text.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let s = scalars[i]
            let v = s.value
            if v == 0x20 {
                out.append("\u{3000}")
            } else if (0x21...0x7E).contains(v) {
                out.append(Unicode.Scalar(v + 0xFEE0)!)
            } else if let full = halfKana[v] {
                let next = i + 1 < scalars.count ? scalars[i + 1].value : 0
                if next == 0xFF9E, let voiced = Unicode.Scalar(full.value + 1), voicedBases.contains(full.value) {
                    out.append(voiced); i += 1
                } else if next == 0xFF9E, full.value == 0x30A6 {
                    out.append("\u{30F4}"); i += 1
                } else if next == 0xFF9F, let semi = Unicode.Scalar(full.value + 2), semiVoicedBases.contains(full.value) {
                    out.append(semi); i += 1
                } else {
                    out.append(full)
                }
            } else {
                out.append(s)
            }
            i += 1
        }
        return String(out)
    }

    /// Full-width ASCII variants (U+FF01–U+FF5E) and U+3000 to half-width; everything else unchanged
    /// (kana stay full-width).
    public static func toHalfWidthASCII(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if (0xFF01...0xFF5E).contains(s.value) { out.append(Unicode.Scalar(s.value - 0xFEE0)!) }
            else if s.value == 0x3000 { out.append(" ") }
            else { out.append(s) }
        }
        return String(out)
    }

    /// The printed form: full-width alphanumerics and symbols become half-width, half-width katakana become
    /// full-width, the ideographic space is kept (it separates family and given names).
    public static func normalizedForPrint(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        for s in toFullWidthKanaOnly(text).unicodeScalars {
            if (0xFF01...0xFF5E).contains(s.value) { out.append(Unicode.Scalar(s.value - 0xFEE0)!) } else { out.append(s) }
        }
        return String(out)
    }

    private static func toFullWidthKanaOnly(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: { (0xFF61...0xFF9F).contains($0.value) }) else { return text }
        var out = String.UnicodeScalarView()
        var pending = ""
        for s in text.unicodeScalars {
            if (0xFF61...0xFF9F).contains(s.value) { pending.unicodeScalars.append(s); continue }
            if !pending.isEmpty { out.append(contentsOf: toFullWidth(pending).unicodeScalars); pending = "" }
            out.append(s)
        }
        if !pending.isEmpty { out.append(contentsOf: toFullWidth(pending).unicodeScalars) }
        return String(out)
    }

    private static let voicedBases: Set<UInt32> = Set(
        [0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD,
         0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB])
    private static let semiVoicedBases: Set<UInt32> = Set([0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB])

    /// U+FF61–U+FF9F → full-width forms.
    private static let halfKana: [UInt32: Unicode.Scalar] = {
        let full: [UInt32] = [
            0x3002, 0x300C, 0x300D, 0x3001, 0x30FB, 0x30F2,
            0x30A1, 0x30A3, 0x30A5, 0x30A7, 0x30A9, 0x30E3, 0x30E5, 0x30E7, 0x30C3, 0x30FC,
            0x30A2, 0x30A4, 0x30A6, 0x30A8, 0x30AA,
            0x30AB, 0x30AD, 0x30AF, 0x30B1, 0x30B3, 0x30B5, 0x30B7, 0x30B9, 0x30BB, 0x30BD,
            0x30BF, 0x30C1, 0x30C4, 0x30C6, 0x30C8, 0x30CA, 0x30CB, 0x30CC, 0x30CD, 0x30CE,
            0x30CF, 0x30D2, 0x30D5, 0x30D8, 0x30DB, 0x30DE, 0x30DF, 0x30E0, 0x30E1, 0x30E2,
            0x30E4, 0x30E6, 0x30E8, 0x30E9, 0x30EA, 0x30EB, 0x30EC, 0x30ED, 0x30EF, 0x30F3,
            0x309B, 0x309C,
        ]
        var map: [UInt32: Unicode.Scalar] = [:]
        for (i, f) in full.enumerated() { map[0xFF61 + UInt32(i)] = Unicode.Scalar(f)! }
        return map
    }()
}
