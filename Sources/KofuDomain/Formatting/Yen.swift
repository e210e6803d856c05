/// Yen amounts as printed: half-width digits grouped by three, followed by 円 (12,300円).
public enum YenFormat {
    /// `12300` → `12,300`; negative amounts get a leading minus (−1,000 → `-1,000`).
    public static func grouped(_ amount: Int) -> String {
        let digits = String(amount.magnitude)
        var out = ""
        out.reserveCapacity(digits.count + digits.count / 3 + 1)
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return amount < 0 ? "-" + out : out
    }

    /// `12300` → `12,300円`.
    public static func yen(_ amount: Int) -> String { grouped(amount) + "円" }
}
