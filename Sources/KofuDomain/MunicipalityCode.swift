/// 全国地方公共団体コード check digit: weights 6,5,4,3,2 over the first five digits, check = (11 − sum % 11) % 10.
public enum MunicipalityCode {
    /// True when `code` is six ASCII digits whose last digit is the check digit of the first five.
    public static func isValid(_ code: String) -> Bool {
        let d = Array(code.utf8)
        guard d.count == 6, d.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        let weights = [6, 5, 4, 3, 2]
        let sum = (0..<5).reduce(0) { $0 + Int(d[$1] - 48) * weights[$1] }
        return (11 - sum % 11) % 10 == Int(d[5] - 48)
    }
}
