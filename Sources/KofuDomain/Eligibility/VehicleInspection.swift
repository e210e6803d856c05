/// 車検 (継続検査) by vehicle class: only a vehicle that goes through it needs a 継続検査用 納税証明書.
///
/// 軽四輪・軽三輪 and 二輪 over 250cc have 車検; 原付 (up to 125cc), 二輪 of 125–250cc (軽二輪) and 小型特殊 do not
/// (道路運送車両法 §58, §61). The linkage gives the class as text (`vehicle_class`, e.g. 軽四輪乗用(自家用),
/// 二輪(125cc超250cc以下)), in either width.
public enum VehicleInspection {
    /// Whether a vehicle of `vehicleClass` has 車検. An unknown class counts as without: the kiosk sends the
    /// resident to the counter rather than certify for an inspection the vehicle may not have.
    public static func required(forClass vehicleClass: String) -> Bool {
        let c = Width.toHalfWidthASCII(vehicleClass).lowercased()
        if c.contains("原付") || c.contains("原動機付") || c.contains("小型特殊") { return false }
        if c.contains("二輪") { return c.contains("250cc超") }
        return ["四輪", "三輪", "軽自動車", "軽乗用", "軽貨物"].contains { c.contains($0) }
    }
}
