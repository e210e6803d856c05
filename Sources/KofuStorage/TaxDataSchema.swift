/// Tables for residents, cards, restrictions, assessments, levies, vehicles and batch bookkeeping (issue #4).
public enum TaxDataSchema {
    public static var migrations: [Migration] { [] }
}
