import KofuDomain

/// Why bytes are not a seal payload (all of them make the outcome `malformed`).
public enum SealFormatError: Error, Equatable, Sendable {
    /// The text does not start with a known prefix (`KF1:` or `KF2:`).
    case missingPrefix
    /// The prefix names another format version than the payload's first byte.
    case prefixMismatch
    /// A KF1 seal whose issue date is on or after the day KF1 was retired (`docs/seal.md` §7).
    case retiredFormat
    /// The part after the prefix is not Base45.
    case notBase45
    /// Fewer bytes than the fixed fields and the signature need, or a field runs past the end.
    case truncated
    /// Bytes left over after the last field.
    case trailingBytes
    /// The payload's format version is not one this verifier knows.
    case unsupportedVersion(UInt8)
    /// A field holds a value the format does not allow (named by the field).
    case invalidField(String)
}

/// The signed content of a seal (証明書の電子署名付きQRの内容): who issued what to whom, and the
/// figures a reader can compare with the printed page. `docs/seal.md` defines the bytes.
public struct SealPayload: Sendable, Equatable {
    /// The format version this code writes (byte 0 of the payload; also the `2` in `KF2:`).
    public static let currentVersion: UInt8 = 2
    /// Format versions this code reads.
    public static let readableVersions: ClosedRange<UInt8> = 1...2

    /// 所得割・均等割 by city and prefecture, as a 所得・課税証明書 prints them (KF2 only).
    public struct IncomeLevies: Sendable, Equatable {
        /// 市町村民税 所得割
        public var cityIncomeLevy: Int
        /// 市町村民税 均等割
        public var cityPerCapita: Int
        /// 道府県民税 所得割
        public var prefIncomeLevy: Int
        /// 道府県民税 均等割
        public var prefPerCapita: Int
        public init(cityIncomeLevy: Int, cityPerCapita: Int, prefIncomeLevy: Int, prefPerCapita: Int) {
            self.cityIncomeLevy = cityIncomeLevy; self.cityPerCapita = cityPerCapita
            self.prefIncomeLevy = prefIncomeLevy; self.prefPerCapita = prefPerCapita
        }
        public var total: Int { cityIncomeLevy + cityPerCapita + prefIncomeLevy + prefPerCapita }
    }

    /// One line of a 納税証明書: a tax item (税目) with its year's totals.
    public struct TaxLine: Sendable, Equatable {
        public var taxItem: TaxItem
        /// 税額 (調定額)
        public var assessed: Int
        /// 納付済額
        public var paid: Int
        /// 未納額
        public var unpaid: Int
        public init(taxItem: TaxItem, assessed: Int, paid: Int, unpaid: Int) {
            self.taxItem = taxItem; self.assessed = assessed; self.paid = paid; self.unpaid = unpaid
        }
    }

    /// The key figures, kind by kind.
    public enum Figures: Sendable, Equatable {
        /// 納税証明書: per tax item, assessed / paid / unpaid.
        case taxPayment([TaxLine])
        /// 所得・課税証明書: 合計所得金額 and 年税額.
        case incomeTaxation(totalIncome: Int, totalTax: Int)
        /// 非課税証明書: whether the person was non-taxed (非課税), and 合計所得金額.
        case nonTaxation(nonTaxed: Bool, totalIncome: Int)
        /// 継続検査用: 標識番号, the amount paid, and 有効期限.
        case vehicleInspection(plate: String, paid: Int, validUntil: LocalDate)

        public var kind: CertificateKind {
            switch self {
            case .taxPayment: .taxPayment
            case .incomeTaxation: .incomeTaxation
            case .nonTaxation: .nonTaxation
            case .vehicleInspection: .vehicleInspection
            }
        }
    }

    public var version: UInt8
    /// 全国地方公共団体コード, six digits.
    public var municipalityCode: String
    /// The signing key's id: the first 8 bytes of SHA-256 of its SubjectPublicKeyInfo DER.
    public var keyID: [UInt8]
    /// 証明書番号
    public var certificateNumber: String
    /// 年度
    public var fiscalYear: Int
    /// 交付日
    public var issueDate: LocalDate
    /// 氏名 as printed.
    public var name: String
    /// 生年月日
    public var birthDate: LocalDate
    public var figures: Figures
    /// KF2: when the seal was signed, Unix seconds (UTC). Nil in KF1.
    public var signedAt: UInt32?
    /// KF2: how many pages the certificate prints on. Nil in KF1.
    public var pageCount: Int?
    /// KF2: SHA-256 of the certificate's canonical content (`SealContent`). Nil in KF1.
    public var contentDigest: [UInt8]?
    /// KF2 所得・課税証明書: the levies as printed. Nil otherwise.
    public var incomeLevies: IncomeLevies?

    public var kind: CertificateKind { figures.kind }

    public init(version: UInt8 = SealPayload.currentVersion, municipalityCode: String, keyID: [UInt8],
                certificateNumber: String, fiscalYear: Int, issueDate: LocalDate, name: String,
                birthDate: LocalDate, figures: Figures, signedAt: UInt32? = nil, pageCount: Int? = nil,
                contentDigest: [UInt8]? = nil, incomeLevies: IncomeLevies? = nil) {
        self.version = version; self.municipalityCode = municipalityCode; self.keyID = keyID
        self.certificateNumber = certificateNumber; self.fiscalYear = fiscalYear; self.issueDate = issueDate
        self.name = name; self.birthDate = birthDate; self.figures = figures
        self.signedAt = signedAt; self.pageCount = pageCount; self.contentDigest = contentDigest
        self.incomeLevies = incomeLevies
    }

    /// The KF2 payload for `certificate` printed on `pages` pages, signed at `signedAt` by the key `keyID`.
    public init(certificate c: Certificate, pages: Int, signedAt: UInt32, keyID: [UInt8]) throws(SealFormatError) {
        self.init(certificate: c, keyID: keyID)
        version = 2
        self.signedAt = signedAt
        pageCount = pages
        contentDigest = try SealContent.digest(c, pages: pages)
        if case .incomeTaxation(let a) = c.body {
            incomeLevies = IncomeLevies(cityIncomeLevy: a.cityIncomeLevy, cityPerCapita: a.cityPerCapita,
                                        prefIncomeLevy: a.prefIncomeLevy, prefPerCapita: a.prefPerCapita)
        }
    }

    /// The KF1 payload for `certificate` (kept for KF1 compatibility tests and vectors).
    public init(certificate c: Certificate, keyID: [UInt8]) {
        let figures: Figures
        switch c.body {
        case .taxPayment(let items):
            figures = .taxPayment(items.map {
                TaxLine(taxItem: $0.taxItem, assessed: $0.assessed, paid: $0.paid, unpaid: $0.unpaid)
            })
        case .incomeTaxation(let a):
            figures = .incomeTaxation(totalIncome: a.totalIncome, totalTax: a.totalTax)
        case .nonTaxation(let a):
            figures = .nonTaxation(nonTaxed: a.status == .nonTaxed, totalIncome: a.totalIncome)
        case .vehicleInspection(let vehicle, let validUntil):
            figures = .vehicleInspection(plate: vehicle.plate, paid: vehicle.paid, validUntil: validUntil)
        }
        self.init(version: 1, municipalityCode: c.municipality.code, keyID: keyID, certificateNumber: c.number.value,
                  fiscalYear: c.fiscalYear.year, issueDate: c.issueDate, name: c.person.name,
                  birthDate: c.person.birthDate, figures: figures)
    }

    // MARK: - Bytes

    static let kindCodes: [CertificateKind: UInt8] = [
        .taxPayment: 1, .incomeTaxation: 2, .nonTaxation: 3, .vehicleInspection: 4,
    ]

    /// The payload bytes that get signed (everything before the signature). Throws
    /// `invalidField` when a value cannot be represented (a text over 255 UTF-8 bytes, a bad code).
    public func encoded() throws(SealFormatError) -> [UInt8] {
        var w = ByteWriter()
        w.u8(version)
        let code = Array(municipalityCode.utf8)
        guard code.count == 6, code.allSatisfy({ $0 >= 48 && $0 <= 57 }), let codeValue = Int(municipalityCode) else {
            throw .invalidField("municipality_code")
        }
        w.u24(codeValue)
        guard keyID.count == 8 else { throw .invalidField("key_id") }
        w.bytes(keyID)
        if version >= 2 {
            guard let signedAt, let pageCount, (1...255).contains(pageCount), let contentDigest, contentDigest.count == 32 else {
                throw .invalidField("signed_at/page_count/content_digest")
            }
            w.u32(signedAt); w.u8(UInt8(pageCount)); w.bytes(contentDigest)
        }
        try w.text(certificateNumber, field: "certificate_number")
        w.u8(Self.kindCodes[kind]!)
        guard (0...0xFFFF).contains(fiscalYear) else { throw .invalidField("fiscal_year") }
        w.u16(fiscalYear)
        w.date(issueDate)
        try w.text(name, field: "name")
        w.date(birthDate)
        switch figures {
        case .taxPayment(let lines):
            guard lines.count <= 255 else { throw .invalidField("tax_lines") }
            w.u8(UInt8(lines.count))
            for line in lines {
                w.u8(UInt8(Int(line.taxItem.code)!))
                w.amount(line.assessed); w.amount(line.paid); w.amount(line.unpaid)
            }
        case .incomeTaxation(let totalIncome, let totalTax):
            if version >= 2 {
                guard let l = incomeLevies else { throw .invalidField("income_levies") }
                w.amount(totalIncome)
                w.amount(l.cityIncomeLevy); w.amount(l.cityPerCapita); w.amount(l.prefIncomeLevy); w.amount(l.prefPerCapita)
            } else {
                w.amount(totalIncome); w.amount(totalTax)
            }
        case .nonTaxation(let nonTaxed, let totalIncome):
            w.u8(nonTaxed ? 1 : 0); w.amount(totalIncome)
        case .vehicleInspection(let plate, let paid, let validUntil):
            try w.text(plate, field: "plate"); w.amount(paid); w.date(validUntil)
        }
        return w.out
    }

    /// Parses payload bytes (without the signature), strictly: every field must be in range and
    /// no byte may be left over.
    public init(decoding bytes: [UInt8]) throws(SealFormatError) {
        var r = ByteReader(bytes)
        let version = try r.u8()
        guard Self.readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        let codeValue = try r.u24()
        guard codeValue <= 999_999 else { throw .invalidField("municipality_code") }
        let codeDigits = String(codeValue)
        let code = String(repeating: "0", count: 6 - codeDigits.count) + codeDigits
        let keyID = try r.bytes(8)
        var signedAt: UInt32?, pageCount: Int?, contentDigest: [UInt8]?
        if version >= 2 {
            signedAt = try r.u32()
            let pages = Int(try r.u8())
            guard pages >= 1 else { throw .invalidField("page_count") }
            pageCount = pages
            contentDigest = try r.bytes(32)
        }
        let number = try r.text(field: "certificate_number")
        let kindCode = try r.u8()
        guard let kind = Self.kindCodes.first(where: { $0.value == kindCode })?.key else { throw .invalidField("kind") }
        let fiscalYear = try r.u16()
        let issueDate = try r.date(field: "issue_date")
        let name = try r.text(field: "name")
        let birthDate = try r.date(field: "birth_date")
        let figures: Figures
        var incomeLevies: IncomeLevies?
        switch kind {
        case .taxPayment:
            let n = Int(try r.u8())
            var lines: [TaxLine] = []
            for _ in 0..<n {
                let item = try r.u8()
                let codeText = item < 10 ? "0\(item)" : "\(item)"
                guard let taxItem = TaxItem(rawValue: codeText) else { throw .invalidField("tax_item") }
                lines.append(TaxLine(taxItem: taxItem, assessed: try r.amount(), paid: try r.amount(), unpaid: try r.amount()))
            }
            figures = .taxPayment(lines)
        case .incomeTaxation:
            if version >= 2 {
                let total = try r.amount()
                let l = IncomeLevies(cityIncomeLevy: try r.amount(), cityPerCapita: try r.amount(),
                                     prefIncomeLevy: try r.amount(), prefPerCapita: try r.amount())
                incomeLevies = l
                figures = .incomeTaxation(totalIncome: total, totalTax: l.total)
            } else {
                figures = .incomeTaxation(totalIncome: try r.amount(), totalTax: try r.amount())
            }
        case .nonTaxation:
            let flag = try r.u8()
            guard flag <= 1 else { throw .invalidField("non_taxed") }
            figures = .nonTaxation(nonTaxed: flag == 1, totalIncome: try r.amount())
        case .vehicleInspection:
            figures = .vehicleInspection(plate: try r.text(field: "plate"), paid: try r.amount(),
                                         validUntil: try r.date(field: "valid_until"))
        }
        guard r.atEnd else { throw .trailingBytes }
        self.init(version: version, municipalityCode: code, keyID: keyID, certificateNumber: number,
                  fiscalYear: fiscalYear, issueDate: issueDate, name: name, birthDate: birthDate, figures: figures,
                  signedAt: signedAt, pageCount: pageCount, contentDigest: contentDigest, incomeLevies: incomeLevies)
    }
}

/// Big-endian fixed-width integers, length-prefixed UTF-8, zigzag LEB128 amounts.
struct ByteWriter {
    var out: [UInt8] = []
    mutating func u8(_ v: UInt8) { out.append(v) }
    mutating func u16(_ v: Int) { out.append(UInt8(v >> 8 & 0xFF)); out.append(UInt8(v & 0xFF)) }
    mutating func u24(_ v: Int) { out.append(UInt8(v >> 16 & 0xFF)); u16(v & 0xFFFF) }
    mutating func u32(_ v: UInt32) { u16(Int(v >> 16)); u16(Int(v & 0xFFFF)) }
    mutating func bytes(_ b: [UInt8]) { out += b }
    mutating func date(_ d: LocalDate) { u16(d.year); u8(UInt8(d.month)); u8(UInt8(d.day)) }
    mutating func text(_ s: String, field: String) throws(SealFormatError) {
        let b = Array(s.utf8)
        guard b.count <= 255 else { throw .invalidField(field) }
        u8(UInt8(b.count)); bytes(b)
    }
    /// Zigzag (0→0, −1→1, 1→2, …) then unsigned LEB128, least significant 7 bits first.
    mutating func amount(_ v: Int) {
        var z = UInt64(bitPattern: Int64(v) << 1 ^ Int64(v) >> 63)
        while z >= 0x80 {
            out.append(UInt8(z & 0x7F) | 0x80)
            z >>= 7
        }
        out.append(UInt8(z))
    }
}

struct ByteReader {
    let b: [UInt8]
    var i = 0
    init(_ b: [UInt8]) { self.b = b }
    var atEnd: Bool { i == b.count }
    mutating func u8() throws(SealFormatError) -> UInt8 {
        guard i < b.count else { throw .truncated }
        defer { i += 1 }
        return b[i]
    }
    mutating func u16() throws(SealFormatError) -> Int { Int(try u8()) << 8 | Int(try u8()) }
    mutating func u24() throws(SealFormatError) -> Int { Int(try u8()) << 16 | (try u16()) }
    mutating func u32() throws(SealFormatError) -> UInt32 { UInt32(try u16()) << 16 | UInt32(try u16()) }
    mutating func bytes(_ n: Int) throws(SealFormatError) -> [UInt8] {
        guard b.count - i >= n else { throw .truncated }
        defer { i += n }
        return Array(b[i..<(i + n)])
    }
    mutating func date(field: String) throws(SealFormatError) -> LocalDate {
        let y = try u16(), m = Int(try u8()), d = Int(try u8())
        guard let date = LocalDate(year: y, month: m, day: d) else { throw .invalidField(field) }
        return date
    }
    mutating func text(field: String) throws(SealFormatError) -> String {
        let n = Int(try u8())
        let raw = try bytes(n)
        guard let s = String(validating: raw, as: UTF8.self) else { throw .invalidField(field) }
        return s
    }
    /// Accepts only the shortest LEB128 form of a value that fits in 64 bits, so that each amount has
    /// exactly one encoding.
    mutating func amount() throws(SealFormatError) -> Int {
        var z: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try u8()
            guard shift < 64, !(shift == 63 && byte > 1) else { throw .invalidField("amount") }
            z |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else { throw .invalidField("amount") }
                break
            }
            shift += 7
        }
        return Int(Int64(bitPattern: z >> 1) ^ -Int64(bitPattern: z & 1))
    }
}
