import Testing
@testable import KofuDomain

@Suite struct LocalDateTests {
    @Test func parsesAndRejects() {
        #expect(LocalDate(iso: "2024-02-29") != nil)
        #expect(LocalDate(iso: "2023-02-29") == nil)
        #expect(LocalDate(iso: "2024-2-29") == nil)
        #expect(LocalDate(iso: "2024-13-01") == nil)
    }

    @Test func dayNumberRoundTrips() {
        for n in stride(from: -30000, through: 30000, by: 37) {
            #expect(LocalDate(dayNumber: n).dayNumber == n)
        }
        #expect(LocalDate(iso: "1970-01-01")!.dayNumber == 0)
        #expect(LocalDate(iso: "2026-03-31")!.adding(days: 1) == LocalDate(iso: "2026-04-01"))
    }

    @Test func fiscalYear() {
        #expect(LocalDate(iso: "2026-03-31")!.fiscalYear == FiscalYear(2025))
        #expect(LocalDate(iso: "2026-04-01")!.fiscalYear == FiscalYear(2026))
    }

    @Test func municipalityCheckDigit() {
        for code in ["131041", "151009", "072036", "141003", "112224"] {
            #expect(MunicipalityCode.isValid(code), "\(code)")
        }
        #expect(!MunicipalityCode.isValid("131042"))
        #expect(!MunicipalityCode.isValid("13104"))
    }
}
