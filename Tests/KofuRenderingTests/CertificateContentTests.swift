import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// Issue 14's content, read back from the rendered PDFs with pdftotext: 未納 against 納期未到来, 滞納の有無, the
/// as-of date, 「課税なし」, the income breakdowns, one certification sentence on the 非課税証明書, the
/// municipality's own wording, 「以下余白」, the issuance point and the usage notes.
@Suite("Certificate content")
struct CertificateContentTests {
    let renderer: CertificateRenderer
    init() throws { renderer = try Samples.renderer() }

    static var cityWording: String { TestSupport.packageRoot + "/config/wording-city.example.yaml" }

    func text(_ certificate: Certificate, renderer: CertificateRenderer? = nil) throws -> String {
        let doc = try (renderer ?? self.renderer).render([(certificate, Samples.qrText(seed: 14))])
        return PDFTools.compact(try PDFTools.text(doc.pdf))
    }

    func occurrences(of needle: String, in text: String) -> Int { text.components(separatedBy: needle).count - 1 }

    // MARK: 納税証明書

    @Test("the paid-so-far sample: 未納額 0, the unpaid installments not yet due as 納期未到来額, 滞納なし, 現在 date")
    func paidSoFar() throws {
        let c = try Samples.certificate(.taxPayment)
        #expect(c.dataAsOf == LocalDate(iso: "2026-11-21"))
        let t = try text(c)
        #expect(t.contains("未納額0納期未到来額108,000"))
        #expect(t.contains("滞納の有無滞納なし"))
        #expect(t.contains("令和8年11月21日現在"))
        #expect(t.contains("納期未到来額"))
        // No 円 in the cells under 「（単位：円）」.
        #expect(t.contains("（単位：円）"))
        #expect(!t.contains("30,800円") && t.contains("30,800"))
    }

    @Test("after the due dates pass (as of the data, not the issue date), the unpaid installments are 未納 and 滞納あり shows")
    func overdueAsOfData() throws {
        var c = try Samples.certificate(.taxPayment)
        c.dataAsOf = LocalDate(iso: "2027-02-15")
        let t = try text(c)
        // 01 第4期 (due 2027-01-31) 30,000 + 国保 第6–8期 46,800 past due; 第9–10期 31,200 not yet.
        #expect(t.contains("未納額76,800納期未到来額31,200"))
        #expect(t.contains("滞納の有無滞納あり"))
        #expect(t.contains("令和9年2月15日現在"))
    }

    @Test("without an as-of date the issue date is used")
    func asOfFallsBackToIssueDate() throws {
        var c = try Samples.certificate(.taxPayment)
        c.dataAsOf = nil
        #expect(try text(c).contains("令和8年11月22日現在"))
    }

    @Test("a person with no levies gets 「課税なし」, not a table of zeros")
    func noLevies() throws {
        var c = try Samples.certificate(.taxPayment)
        c.body = .taxPayment(items: [])
        let t = try text(c)
        #expect(t.contains("課税なし"))
        #expect(t.contains("課税されていないことを証明します"))
        #expect(t.contains("以下余白"))
        #expect(!t.contains("合計"))
        #expect(!t.contains("上記のとおり相違ないことを証明します"))
    }

    // MARK: 所得・課税証明書

    @Test("所得控除, 扶養 and 税額控除 breakdowns and 森林環境税 print on one page")
    func incomeBreakdowns() throws {
        let c = try Samples.certificate(.incomeTaxation)
        let doc = try renderer.render([(c, Samples.qrText(seed: 3))])
        #expect(doc.pageCount == 1)
        let t = PDFTools.compact(try PDFTools.text(doc.pdf))
        for expected in ["所得控除の内訳", "社会保険料控除600,000", "医療費控除160,000", "生命保険料控除70,000", "地震保険料控除25,000",
                         "基礎控除430,000", "小規模企業共済等掛金控除0", "寡婦・ひとり親控除0", "配偶者特別控除0", "所得控除合計1,285,000",
                         "扶養の内訳", "控除対象配偶者0人", "年少扶養親族1人", "税額控除", "調整控除2,500", "住宅借入金等特別税額控除0",
                         "寄附金税額控除0", "森林環境税1,000", "特別区民税・都民税", "特別区民税所得割135,000", "都民税均等割1,000",
                         "以下余白"] {
            #expect(t.contains(PDFTools.compact(expected)), "missing \(expected)")
        }
    }

    @Test("format-1 data (no breakdowns) prints what exists and leaves the breakdowns out")
    func incomeFormatOne() throws {
        var c = try Samples.certificate(.incomeTaxation)
        guard case .incomeTaxation(var a) = c.body else { Issue.record("not income"); return }
        a.deductions = nil; a.dependentsBreakdown = nil; a.taxCredits = nil; a.forestEnvironmentTax = nil
        c.body = .incomeTaxation(a)
        let t = try text(c)
        #expect(t.contains("所得控除合計1,285,000"))
        #expect(t.contains("以下余白"))
        for absent in ["所得控除の内訳", "扶養の内訳", "調整控除", "森林環境税", "社会保険料控除"] {
            #expect(!t.contains(absent), "unexpected \(absent)")
        }
    }

    // MARK: 非課税証明書

    @Test("非課税証明書: one certification sentence naming the 非課税 part, and the reason")
    func nonTaxationOneSentence() throws {
        let c = try Samples.certificate(.nonTaxation)
        let t = try text(c)
        #expect(occurrences(of: "証明します", in: t) == 1)
        #expect(t.contains("特別区民税・都民税について、均等割及び所得割が非課税であることを証明します。"))
        #expect(t.contains("前年の合計所得金額が条例で定める額以下であるため"))
        #expect(t.contains("以下余白"))
    }

    @Test("非課税証明書 for 所得割 only, because of 生活保護; and format-1 data without the detail")
    func nonTaxationVariants() throws {
        var c = try Samples.certificate(.nonTaxation)
        guard case .nonTaxation(var a) = c.body else { Issue.record("not non-taxation"); return }
        a.nonTaxation = NonTaxationDetail(perCapitaExempt: false, incomeLevyExempt: true, reason: .publicAssistance)
        c.body = .nonTaxation(a)
        var t = try text(c)
        #expect(t.contains("所得割が非課税であることを証明します"))
        #expect(!t.contains("均等割及び所得割"))
        #expect(t.contains("生活保護法による生活扶助を受けているため"))
        a.nonTaxation = nil
        c.body = .nonTaxation(a)
        t = try text(c)
        #expect(occurrences(of: "証明します", in: t) == 1)
        #expect(t.contains("特別区民税・都民税について、非課税であることを証明します。"))
    }

    // MARK: Wording

    @Test("a city's wording file prints 市民税・県民税 and 国民健康保険料 without recompiling")
    func cityWording() throws {
        let city = try CertificateRenderer(templatesDirectory: TestSupport.templatesDirectory, fontPath: TestSupport.fontPath,
                                           sealImagePath: TestSupport.sealImagePath, wordingPath: Self.cityWording)
        let payment = try text(try Samples.certificate(.taxPayment), renderer: city)
        #expect(payment.contains("市民税・県民税（普通徴収）"))
        #expect(payment.contains("国民健康保険料"))
        #expect(!payment.contains("特別区"))
        let income = try text(try Samples.certificate(.incomeTaxation), renderer: city)
        #expect(income.contains("市民税・県民税"))
        #expect(income.contains("市民税所得割135,000"))
        #expect(income.contains("県民税均等割1,000"))
        #expect(!income.contains("特別区") && !income.contains("都民税"))
    }

    @Test("the ward default prints its names in the table, not TaxItem's built-in ones")
    func wardWording() throws {
        let t = try text(try Samples.certificate(.taxPayment))
        #expect(t.contains("特別区民税・都民税（普通徴収）"))
        #expect(t.contains("国民健康保険料"))
        #expect(!t.contains("市民税・県民税"))
        #expect(!t.contains("国民健康保険税"))
    }

    /// Copies the shipped templates and a wording file with `yaml` into a temp dir and loads the renderer.
    func loadWording(_ yaml: String) throws -> (TemplateError?, String) {
        let dir = try TemporaryDirectory(prefix: "kofu-wording")
        for kind in CertificateKind.allCases {
            try FileManager.default.copyItem(atPath: "\(TestSupport.templatesDirectory)/\(kind.rawValue).yaml",
                                             toPath: dir.file("\(kind.rawValue).yaml"))
        }
        try dir.write("wording.yaml", text: yaml)
        do {
            _ = try Samples.renderer(templates: dir.path)
            return (nil, dir.file("wording.yaml"))
        } catch let error as TemplateError {
            return (error, dir.file("wording.yaml"))
        }
    }

    static var shippedWording: String {
        get throws { try String(contentsOfFile: TestSupport.templatesDirectory + "/wording.yaml", encoding: .utf8) }
    }

    @Test("the shipped wording loads; a malformed one is refused with file:line:column")
    func malformedWording() throws {
        #expect(try loadWording(Self.shippedWording).0 == nil)

        let (unknown, file) = try loadWording("resident_tax: 市民税・県民税\ncity_tax: 市民税\npref_tax: 県民税\ncolour: red\n")
        #expect(unknown == .unknownKey(file: file, line: 4, column: 1, key: "colour"))
        #expect(unknown?.description == "\(file):4:1: unknown key 'colour'")

        let noItem = try Self.shippedWording.replacingOccurrences(of: "  \"05\": 国民健康保険料\n", with: "")
        let (missing, _) = try loadWording(noItem)
        guard case .missingKey(_, let line, _, "tax_items.05") = missing else { Issue.record("\(String(describing: missing))"); return }
        #expect(line > 1)

        let (syntax, syntaxFile) = try loadWording("resident_tax: [unclosed\n")
        guard case .yamlSyntax(let f, let l, _, _) = syntax else { Issue.record("\(String(describing: syntax))"); return }
        #expect(f == syntaxFile && l == 2, "\(String(describing: syntax))")

        let (badCode, _) = try loadWording(try Self.shippedWording.replacingOccurrences(of: "\"05\":", with: "\"09\":"))
        guard case .unknownKey(_, _, _, "tax_items.09") = badCode else { Issue.record("\(String(describing: badCode))"); return }

        let (empty, _) = try loadWording(try Self.shippedWording.replacingOccurrences(of: "city_tax: 特別区民税", with: "city_tax: \"\""))
        guard case .invalidValue(_, let emptyLine, _, "city_tax", _) = empty else { Issue.record("\(String(describing: empty))"); return }
        #expect(emptyLine == 8)
    }

    @Test("a template naming a wording key the file lacks is refused at load, at the template's line")
    func unknownWordingKey() throws {
        let dir = try TemporaryDirectory(prefix: "kofu-wording")
        for kind in CertificateKind.allCases {
            try FileManager.default.copyItem(atPath: "\(TestSupport.templatesDirectory)/\(kind.rawValue).yaml",
                                             toPath: dir.file("\(kind.rawValue).yaml"))
        }
        try dir.write("wording.yaml", text: try Self.shippedWording.replacingOccurrences(of: "  credits_total: 税額控除合計\n", with: ""))
        do {
            _ = try Samples.renderer(templates: dir.path)
            Issue.record("loaded")
        } catch let error as TemplateError {
            guard case .unknownField(let file, let line, _, "wording.labels.credits_total") = error else { Issue.record("\(error)"); return }
            #expect(file.hasSuffix("income_taxation.yaml") && line > 1)
        }
    }

    @Test("an unknown `when:` condition is refused at load with its position")
    func unknownCondition() throws {
        let dir = try Templates.strippedCopy()
        try FileManager.default.removeItem(atPath: dir.file("non_taxation.yaml"))
        try dir.write("non_taxation.yaml", text: """
            kind: non_taxation
            texts:
              - { text: "x", x: 10, y: 10, size: 9, when: payment.levies }
            seal: { x: 170, y: 231, width: 20 }
            qr: { x: 156, y: 252, size: 32 }
            """)
        do {
            _ = try Samples.renderer(templates: dir.path)
            Issue.record("loaded")
        } catch let error as TemplateError {
            guard case .invalidValue(_, 3, 47, "when", _) = error else { Issue.record("\(error.description)"); return }
        }
    }

    // MARK: Every page

    @Test("every kind: 以下余白, the issuance point, the usage notes, full-width brackets", arguments: CertificateKind.allCases)
    func everyPage(kind: CertificateKind) throws {
        var c = try Samples.certificate(kind)
        c.issuedAt = .kiosk(storeChain: "SEJ", storeID: "123456", terminalID: "03")
        var t = try text(c)
        #expect(t.contains("コンビニ交付（SEJ店舗123456端末03）"))
        #expect(t.contains("改ざんを防止するため"))
        #expect(t.contains("この証明書は"))
        #expect(t.contains("右の二次元コードで発行内容を確認できます。"))
        #expect(!t.contains("(種別割)") && !t.contains("(継続検査用)"))
        #expect(!t.contains("真偽確認"))
        if kind != .taxPayment { #expect(t.contains("以下余白")) }
        c.issuedAt = .counter
        c.municipality.verifyURL = "https://www.city.example.lg.jp/kofu/verify"
        t = try text(c)
        #expect(t.contains("窓口交付"))
        #expect(!t.contains("コンビニ交付"))
        #expect(t.contains("真偽確認:https://www.city.example.lg.jp/kofu/verify"))
    }

    @Test("each copy states its own fee (per copy), with its own number")
    func copiesStateTheirFee() throws {
        var first = try Samples.certificate(.incomeTaxation)
        first.feeYen = 300
        var second = first
        second.number = CertificateNumber("2026-0000999")
        let doc = try renderer.render([(first, Samples.qrText(seed: 1)), (second, Samples.qrText(seed: 2))])
        #expect(doc.pageCount == 2)
        for page in 1...2 {
            let t = PDFTools.compact(try PDFTools.text(doc.pdf, page: page))
            #expect(t.contains("手数料300円（1通につき）"))
            #expect(!t.contains("600円"))
        }
    }

    @Test("the vehicle certificate's title and amounts")
    func vehicle() throws {
        let t = try text(try Samples.certificate(.vehicleInspection))
        #expect(t.contains("軽自動車税（種別割）納税証明書"))
        #expect(t.contains("（継続検査用）"))
        #expect(t.contains("10,800円"))
        #expect(t.contains("手数料無料"))
    }

    /// Not a check: writes each sample to $KOFU_CONTENT_PDF_DIR for a look (pdftoppm -r 150).
    @Test("export samples when asked", .enabled(if: ProcessInfo.processInfo.environment["KOFU_CONTENT_PDF_DIR"] != nil))
    func export() throws {
        let dir = ProcessInfo.processInfo.environment["KOFU_CONTENT_PDF_DIR"]!
        for kind in CertificateKind.allCases {
            let doc = try renderer.render([(try Samples.certificate(kind), Samples.qrText(seed: 5))])
            try Data(doc.pdf).write(to: URL(fileURLWithPath: "\(dir)/\(kind.rawValue).pdf"))
        }
    }
}
