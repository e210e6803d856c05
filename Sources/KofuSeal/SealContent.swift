import KofuCrypto
import KofuDomain

/// The canonical serialisation of everything a certificate prints (`kofu-content/1`, `docs/seal.md` §3):
/// the whole `Certificate` value plus its page count, field by field in a fixed order per kind. A KF2 seal
/// carries its SHA-256 (the content digest), and the ledger's seal registry records the same digest at
/// issuance, so a changed address, installment row or page count breaks the seal offline (signature) or
/// online (registry).
///
/// The page is a function of this value and the municipality's template (labels and wording are template
/// text, not data); binding the value binds every printed figure.
public enum SealContent {
    /// The four bytes every serialisation starts with (`K F C 1`): domain separation from any other
    /// SHA-256 input.
    public static let magic: [UInt8] = Array("KFC1".utf8)

    /// The canonical bytes of `certificate` printed on `pages` pages.
    public static func bytes(_ c: Certificate, pages: Int) throws(SealFormatError) -> [UInt8] {
        var w = ContentWriter()
        w.raw(magic)
        guard (1...0xFFFF).contains(pages) else { throw .invalidField("page_count") }
        w.u16(pages)
        guard let kindCode = SealPayload.kindCodes[c.kind] else { throw .invalidField("kind") }
        w.u8(kindCode)
        try w.text(c.number.value, "certificate_number")
        w.date(c.issueDate)
        try w.u16(c.fiscalYear.year, "fiscal_year")
        // Municipality as printed (name, mayor) and the trust anchor printed beside the QR.
        try w.text(c.municipality.code, "municipality.code")
        try w.text(c.municipality.name, "municipality.name")
        try w.text(c.municipality.mayorTitle, "municipality.mayor_title")
        try w.text(c.municipality.mayorName, "municipality.mayor_name")
        try w.text(c.municipality.verifyURL, "municipality.verify_url")
        // The person.
        let p = c.person
        try w.text(p.addresseeID.value, "person.addressee_id")
        try w.text(p.name, "person.name")
        try w.text(p.nameKana, "person.name_kana")
        w.date(p.birthDate)
        guard (0...255).contains(p.sex) else { throw .invalidField("person.sex") }
        w.u8(UInt8(p.sex))
        try w.text(p.postalCode, "person.postal_code")
        try w.text(p.address, "person.address")
        try w.text(p.addressExtra, "person.address_extra")
        try w.text(p.status.rawValue, "person.status")
        w.date(p.statusDate)
        w.amount(c.feeYen)
        switch c.issuedAt {
        case .kiosk(let chain, let store, let terminal):
            w.u8(1)
            try w.text(chain, "issued_at.store_chain"); try w.text(store, "issued_at.store_id")
            try w.text(terminal, "issued_at.terminal_id")
        case .counter:
            w.u8(2)
        }
        w.optionalDate(c.dataAsOf)
        switch c.body {
        case .taxPayment(let items):
            try w.count(items.count, "items")
            for item in items {
                w.u8(try taxItemCode(item.taxItem))
                try w.count(item.installments.count, "installments")
                for levy in item.installments {
                    try w.u16(levy.fiscalYear.year, "levy.fiscal_year")
                    try w.text(levy.addresseeID.value, "levy.addressee_id")
                    w.u8(try taxItemCode(levy.taxItem))
                    try w.text(levy.noticeNo, "levy.notice_no")
                    guard (0...255).contains(levy.installment) else { throw .invalidField("levy.installment") }
                    w.u8(UInt8(levy.installment))
                    w.amount(levy.assessed); w.amount(levy.paid)
                    w.date(levy.dueDate); w.optionalDate(levy.paidDate)
                    w.u8(levy.paymentStatus == .confirmed ? 1 : 2)
                }
            }
        case .incomeTaxation(let a), .nonTaxation(let a):
            try assessment(a, &w)
        case .vehicleInspection(let v, let validUntil):
            try w.text(v.vehicleID, "vehicle.vehicle_id")
            try w.u16(v.fiscalYear.year, "vehicle.fiscal_year")
            try w.text(v.addresseeID.value, "vehicle.addressee_id")
            try w.text(v.vehicleClass, "vehicle.vehicle_class")
            try w.text(v.plate, "vehicle.plate")
            try w.text(v.chassisNo, "vehicle.chassis_no")
            w.amount(v.assessed); w.amount(v.paid)
            w.optionalDate(v.paidDate)
            w.u8(v.paymentStatus == .confirmed ? 1 : 2)
            w.u8(v.exempt ? 1 : 0)
            w.date(validUntil)
        }
        return w.out
    }

    /// SHA-256 of `bytes(certificate, pages:)`: the `content_digest` of a KF2 seal.
    public static func digest(_ c: Certificate, pages: Int) throws(SealFormatError) -> [UInt8] {
        SHA256.hash(try bytes(c, pages: pages))
    }

    /// The linkage code of a tax item as one byte (`01` → 1 … `05` → 5).
    static func taxItemCode(_ item: TaxItem) throws(SealFormatError) -> UInt8 {
        guard let v = UInt8(item.code) else { throw .invalidField("tax_item") }
        return v
    }

    /// Codes of `NonTaxationDetail.Reason`, in the order `docs/seal.md` lists them.
    static let nonTaxationReasonCodes: [NonTaxationDetail.Reason: UInt8] = [
        .publicAssistance: 1, .disabledMinorWidowSingleParent: 2, .incomeBelowPerCapitaThreshold: 3,
        .incomeBelowIncomeLevyThreshold: 4, .other: 5,
    ]

    private static func assessment(_ a: Assessment, _ w: inout ContentWriter) throws(SealFormatError) {
        try w.u16(a.fiscalYear.year, "assessment.fiscal_year")
        try w.text(a.addresseeID.value, "assessment.addressee_id")
        w.u8(a.status == .taxed ? 1 : 2)
        for v in [a.salaryIncome, a.salaryNet, a.pensionIncome, a.pensionNet, a.businessNet, a.otherNet, a.totalIncome,
                  a.deductionsTotal, a.dependents, a.taxableBase, a.cityIncomeLevy, a.cityPerCapita, a.prefIncomeLevy,
                  a.prefPerCapita] {
            w.amount(v)
        }
        if let d = a.deductions {
            w.u8(1)
            for v in [d.casualtyLoss, d.medical, d.socialInsurance, d.smallBusinessMutualAid, d.lifeInsurance,
                      d.earthquakeInsurance, d.widowOrSingleParent, d.workingStudent, d.disability, d.spouse,
                      d.spouseSpecial, d.dependents, d.basic] { w.amount(v) }
        } else { w.u8(0) }
        if let d = a.dependentsBreakdown {
            w.u8(1)
            for v in [d.spouse, d.general, d.specified, d.elderly, d.minor] { w.amount(v) }
        } else { w.u8(0) }
        if let t = a.taxCredits {
            w.u8(1)
            for v in [t.adjustment, t.dividend, t.housingLoan, t.donation, t.foreignTax, t.dividendAndStockTransfer] {
                w.amount(v)
            }
        } else { w.u8(0) }
        if let f = a.forestEnvironmentTax { w.u8(1); w.amount(f) } else { w.u8(0) }
        if let n = a.nonTaxation {
            w.u8(1)
            w.u8(n.perCapitaExempt ? 1 : 0); w.u8(n.incomeLevyExempt ? 1 : 0)
            w.u8(nonTaxationReasonCodes[n.reason] ?? 5)
        } else { w.u8(0) }
    }
}

/// The primitives of `kofu-content/1`: big-endian fixed-width integers, 2-byte-length UTF-8 text,
/// zigzag LEB128 amounts, 4-byte dates, a presence byte before optional values.
struct ContentWriter {
    var out: [UInt8] = []
    mutating func raw(_ b: [UInt8]) { out += b }
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u16(_ v: Int) { out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v & 0xFF)) }
    mutating func u16(_ v: Int, _ field: String) throws(SealFormatError) {
        guard (0...0xFFFF).contains(v) else { throw .invalidField(field) }
        u16(v)
    }
    mutating func count(_ n: Int, _ field: String) throws(SealFormatError) { try u16(n, field) }
    mutating func text(_ s: String, _ field: String) throws(SealFormatError) {
        let b = Array(s.utf8)
        guard b.count <= 0xFFFF else { throw .invalidField(field) }
        u16(b.count); out += b
    }
    mutating func date(_ d: LocalDate) { u16(d.year); u8(UInt8(d.month)); u8(UInt8(d.day)) }
    mutating func optionalDate(_ d: LocalDate?) {
        if let d { u8(1); date(d) } else { u8(0) }
    }
    mutating func amount(_ v: Int) {
        var w = ByteWriter()
        w.amount(v)
        out += w.out
    }
}
