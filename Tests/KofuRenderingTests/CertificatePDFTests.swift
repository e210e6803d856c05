import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// Each kind read back as a reader would: qpdf, pdftotext, pdffonts, pdfinfo, pdftoppm + zbarimg.
@Suite("Certificate PDFs")
struct CertificatePDFTests {
    let renderer: CertificateRenderer
    init() throws { renderer = try Samples.renderer() }

    /// What must be findable in the text of each sample certificate.
    static func expectedText(_ c: Certificate) -> [String] {
        var texts = ["山田　花子", "東京都新宿区新宿六丁目14番1号", "平成元年1月8日", "令和8年11月22日", c.number.value,
                     "新宿区長", "吉住　健一", c.kind.title.replacingOccurrences(of: "（継続検査用）", with: "")]
        if c.kind != .nonTaxation { texts.append("上記のとおり相違ないことを証明します。") }
        // Templates/wording.yaml (新宿区) names the items; amounts stand under 「（単位：円）」 without 円.
        let names: [TaxItem: String] = [.residentTaxOrdinary: "特別区民税・都民税（普通徴収）", .nationalHealthInsurance: "国民健康保険料"]
        switch c.body {
        case .taxPayment(let items):
            texts.append("令和8年度")
            for item in items {
                texts.append(names[item.taxItem] ?? item.taxItem.japaneseName)
                for levy in item.installments { texts += [YenFormat.grouped(levy.assessed), levy.dueDate.japaneseEraFormatted] }
                texts.append(YenFormat.grouped(item.assessed))
            }
            texts += ["276,900", "168,900", "合計"]
        case .incomeTaxation(let a):
            texts += ["令和8年度", "令和7年分所得", "4,850,000", "3,405,000", "120,000", "35,000", "3,560,000", "1,285,000",
                      "2,275,000", "135,000", "3,000", "90,000", "1,000", YenFormat.grouped(a.totalTax), "1人", "課税"]
        case .nonTaxation:
            texts += ["令和8年度", "非課税であることを証明します", "930,000", "380,000", "600,000", "非課税"]
        case .vehicleInspection:
            texts += ["令和8年度", "軽四輪乗用(自家用)", "練馬 580 あ 12-34", "JF3-1234567", "10,800円", "令和8年5月10日",
                      "有効期限", "令和9年5月31日", "無料"]
        }
        return texts
    }

    @Test("every kind renders a clean, searchable A4 PDF with an embedded subset font and a readable QR",
          arguments: CertificateKind.allCases)
    func renders(kind: CertificateKind) throws {
        let certificate = try Samples.certificate(kind)
        let qr = Samples.qrText(seed: kind.hashValue & 0xffff, length: 600)
        let doc = try renderer.render([(certificate, qr)])
        #expect(doc.pageCount == 1)
        #expect(try PDFTools.pageCount(doc.pdf) == 1)
        #expect(try PDFTools.qpdfCheck(doc.pdf) == nil)

        let text = PDFTools.compact(try PDFTools.text(doc.pdf))
        for expected in Self.expectedText(certificate) {
            #expect(text.contains(PDFTools.compact(expected)), "missing \(expected)")
        }

        let fonts = try PDFTools.fonts(doc.pdf)
        #expect(!fonts.isEmpty)
        for font in fonts {
            #expect(font.embedded && font.subset && font.unicode, "\(font.name) \(font.type)")
            #expect(font.name.contains("BIZUDMincho"))
        }

        let sizes = try PDFTools.pageSizes(doc.pdf)
        #expect(sizes.count == 1)
        for s in sizes {
            #expect(abs(s.width - 595.28) < 0.5 && abs(s.height - 841.89) < 0.5)
        }

        #expect(try PDFTools.qrCodes(doc.pdf) == [qr])
    }

    @Test("a 納税証明書 with 5 items × 12 installments paginates; every page has the number, page x/y and the QR")
    func paginates() throws {
        let certificate = try Samples.largeTaxPayment()
        let qr = Samples.qrText(seed: 7)
        let doc = try renderer.render([(certificate, qr)])
        #expect(doc.pageCount > 1)
        #expect(try PDFTools.pageCount(doc.pdf) == doc.pageCount)
        #expect(try PDFTools.qpdfCheck(doc.pdf) == nil)
        for page in 1...doc.pageCount {
            let text = PDFTools.compact(try PDFTools.text(doc.pdf, page: page))
            #expect(text.contains("証明書番号\(certificate.number.value)"))
            #expect(text.contains("\(page)/\(doc.pageCount)頁"))
            #expect(text.contains(page == doc.pageCount ? "上記のとおり相違ないことを証明します。" : "次頁に続く"))
            #expect(try PDFTools.qrCodes(doc.pdf, page: page) == [qr])
        }
        let all = try PDFTools.text(doc.pdf)
        // Every installment's amount appears: 60 rows plus 5 subtotals, none dropped at a page break.
        for n in 1...12 { #expect(all.contains(YenFormat.grouped(10_000 + n * 100))) }
        for name in ["特別区民税・都民税（普通徴収）", "特別区民税・都民税（特別徴収）", "固定資産税・都市計画税", "軽自動車税（種別割）", "国民健康保険料"] {
            #expect(all.contains(name))
        }
        #expect(all.components(separatedBy: "第12期").count - 1 == 5)
    }

    @Test("copies: one PDF holds each certificate in order, each with its own number and QR")
    func copies() throws {
        var docs: [(certificate: Certificate, qrText: String)] = []
        for i in 0..<3 {
            var c = try Samples.certificate(.incomeTaxation)
            c.number = CertificateNumber(year: 2026, sequence: 500 + i)
            docs.append((c, Samples.qrText(seed: 100 + i)))
        }
        let doc = try renderer.render(docs)
        #expect(doc.pageCount == 3)
        for (i, d) in docs.enumerated() {
            let text = try PDFTools.text(doc.pdf, page: i + 1)
            #expect(text.contains(d.certificate.number.value))
            #expect(try PDFTools.qrCodes(doc.pdf, page: i + 1) == [d.qrText])
        }
    }

    @Test("外字: a name with 𠮷 is refused naming the field, never printed as a blank box")
    func refusesUnprintable() throws {
        var c = try Samples.certificate(.nonTaxation)
        c.person.name = "𠮷田　太郎"
        #expect(throws: RenderError.unprintableCharacter(field: "person.name", character: "U+20BB7")) {
            try renderer.render([(c, "ABC")])
        }
        var v = try Samples.certificate(.vehicleInspection)
        v.person.address = "東京都新宿区西新宿二丁目8番1号 𫗧ハイツ"
        #expect(throws: RenderError.unprintableCharacter(field: "person.address", character: "U+2B5E7")) {
            try renderer.render([(v, "ABC")])
        }
        #expect(renderer.unprintableCharacters(in: "𠮷田　太郎") == ["𠮷"])
        #expect(renderer.unprintableCharacters(in: "吉田　太郎").isEmpty)
        #expect(renderer.unprintableCharacters(in: "髙橋　﨑 𠀋").isEmpty)
        #expect(renderer.unprintableCharacters(in: "a𫗧b𠮷") == ["𫗧", "𠮷"])
    }

    @Test("the page carries the 地紋 (two dot patterns), the microtext line, and the seal as an ink mask")
    func groundPatternAndSeal() throws {
        let doc = try renderer.render([(try Samples.certificate(.taxPayment), "KOFU")])
        let pdf = String(decoding: doc.pdf, as: UTF8.self)
        // The ground is one tiling pattern nesting the fine and coarse dots (three patterns, written once per
        // document as prebuilt objects: cairo wrote the coarse one twice, for the word's fill and its outline), and
        // each microtext line is a strip filled with a pattern holding one unit of its text.
        #expect(pdf.components(separatedBy: "/PatternType 1").count - 1 == 5)
        // The seal (公印) and the QR are each a 1-bit stencil painted in one ink; no soft mask, no RGB image.
        #expect(pdf.components(separatedBy: "/ImageMask true").count - 1 == 2)
        #expect(!pdf.contains("/SMask"))
        #expect(!pdf.contains("/ColorSpace /DeviceRGB"))
        // The seal is at print resolution: at least 320 pixels across.
        #expect(pdf.contains("/Width 320"))
        // The microtext is ground, not certificate text: a text extractor does not see it...
        #expect(!(try PDFTools.text(doc.pdf)).contains("納税証明書 KOFU"))
        // ...but its grey ink runs along the top and bottom bands (x 20–190 mm), where without it only the
        // light dots are.
        func bands(_ pdf: [UInt8]) throws -> (top: Double, bottom: Double) {
            (try PDFTools.inkedColumns(pdf, xMM: 20...190, yMM: 10.8...12.7),
             try PDFTools.inkedColumns(pdf, xMM: 20...190, yMM: 284.4...286.3))
        }
        let drawn = try bands(doc.pdf)
        #expect(drawn.top > 0.25 && drawn.bottom > 0.25, "microtext ink in \(drawn)")
        // Without the microtext key the bands hold no such ink; without a ground section nothing is drawn.
        func rendererWithout(_ prefixes: [String]) throws -> CertificateRenderer { try Templates.stripped(prefixes) }
        let noMicrotext = try rendererWithout(["  microtext:"]).render([(try Samples.certificate(.taxPayment), "KOFU")])
        let dotsOnly = try bands(noMicrotext.pdf)
        #expect(dotsOnly.top < 0.02 && dotsOnly.bottom < 0.02, "no microtext ink in \(dotsOnly)")
        #expect(String(decoding: noMicrotext.pdf, as: UTF8.self).components(separatedBy: "/PatternType 1").count - 1 == 3)
        let plain = try rendererWithout(["ground:", "  warning:", "  microtext:"])
            .render([(try Samples.certificate(.taxPayment), "KOFU")])
        #expect(!String(decoding: plain.pdf, as: UTF8.self).contains("/PatternType 1"))
    }
}

/// The fixture files under Tests/Fixtures/certificates decode and behave as their README says.
@Suite("Certificate fixtures")
struct CertificateFixtureTests {
    func fixture(_ name: String) throws -> Certificate {
        try JSONDecoder().decode(Certificate.self, from: Data(contentsOf: URL(
            fileURLWithPath: TestSupport.fixturesDirectory + "/certificates/\(name).json")))
    }

    @Test("the 5 × 12 fixture paginates and the 外字 fixture is refused; an empty request is an error")
    func fixtures() throws {
        let renderer = try Samples.renderer()
        let big = try renderer.render([(try fixture("tax_payment_5x12"), "KOFU")])
        #expect(big.pageCount >= 3)
        #expect(throws: RenderError.unprintableCharacter(field: "person.name", character: "U+20BB7")) {
            try renderer.render([(try fixture("non_taxation_gaiji_name"), "KOFU")])
        }
        #expect(throws: RenderError.noCertificates) { try renderer.render([]) }
    }
}
