import Foundation
import KofuDomain
@testable import KofuRendering
import KofuTestSupport
import Testing

/// A word `pdftotext -bbox` found on a page, in millimetres from the top left.
struct PlacedWord {
    let text: String
    let xMin: Double, yMin: Double, xMax: Double, yMax: Double

    /// Every word on page `page` of `pdf`.
    static func all(_ pdf: [UInt8], page: Int) throws -> [PlacedWord] {
        let dir = try TemporaryDirectory(prefix: "kofu-bbox")
        let path = try dir.write("page.pdf", bytes: pdf)
        let r = try PDFTools.run("pdftotext", ["-bbox", "-f", String(page), "-l", String(page), "-enc", "UTF-8", path, "-"])
        guard r.status == 0 else { throw PDFToolError.toolFailed(tool: "pdftotext", status: r.status, stderr: r.stderr) }
        let mm = 25.4 / 72
        var words: [PlacedWord] = []
        for line in r.stdout.split(separator: "\n") where line.contains("<word ") {
            func attribute(_ name: String) -> Double? {
                guard let start = line.range(of: "\(name)=\"") else { return nil }
                return Double(line[start.upperBound...].prefix { $0 != "\"" })
            }
            guard let a = attribute("xMin"), let b = attribute("yMin"), let c = attribute("xMax"), let d = attribute("yMax"),
                  let open = line.range(of: ">"), let close = line.range(of: "</word>") else { continue }
            words.append(PlacedWord(text: String(line[open.upperBound..<close.lowerBound]),
                                    xMin: a * mm, yMin: b * mm, xMax: c * mm, yMax: d * mm))
        }
        return words
    }
}

@Suite("Layout")
struct LayoutTests {
    let renderer: CertificateRenderer
    init() throws { renderer = try Samples.renderer() }

    @Test("the 公印 overlaps at most a third of the mayor name's last character and none of the others",
          arguments: CertificateKind.allCases)
    func sealBesideTheName(kind: CertificateKind) throws {
        var certificate = try Samples.certificate(kind)
        certificate.municipality.mayorName = "吉住 健一"
        let doc = try renderer.render([(certificate, "KOFU")])
        let last = try PDFTools.pageCount(doc.pdf)
        let words = try PlacedWord.all(doc.pdf, page: last)
        let given = try #require(words.last { $0.text.hasSuffix("健一") })
        let family = try #require(words.last { $0.text.hasSuffix("吉住") })
        let charWidth = (given.xMax - given.xMin) / 2
        // The name as printed: family and given name parted by an ideographic space (one em), not a narrow one.
        #expect(given.xMin - family.xMax > charWidth * 0.9, "gap \(given.xMin - family.xMax) for a \(charWidth) mm em")
        // The seal's red pixels in the band of the name's glyphs, at 300 dpi.
        let dpi = 300.0
        let band = try Raster(doc.pdf, page: last, dpi: Int(dpi), xMM: 100...200, yMM: given.yMin...given.yMax, gray: false)
        var leftmostRed: Double?
        for y in 0..<band.height {
            for x in 0..<band.width {
                let p = band.rgb(x, y)
                if p.r > 150 && p.g < 120 && p.b < 120 {
                    let xMM = 100 + Double(x) * 25.4 / dpi
                    leftmostRed = min(leftmostRed ?? xMM, xMM)
                    break
                }
            }
        }
        let red = try #require(leftmostRed, "the seal is printed across the name's line")
        let overlap = given.xMax - red
        #expect(overlap <= charWidth / 3 + 0.2, "seal covers \(overlap) mm of a \(charWidth) mm character")
    }

    @Test("a long 納税証明書 uses the free space of continued pages: 5 × 12 and 4 × 12 installments on 3 pages")
    func longTaxPaymentFitsInThreePages() throws {
        for items in [5, 4] {
            let doc = try renderer.render([(try Samples.largeTaxPayment(items: items), "KOFU")])
            #expect(doc.pageCount == 3, "\(items) items")
            #expect(try PDFTools.pageCount(doc.pdf) == 3)
        }
    }

    @Test("no page starts with a lone 計 line, whatever the number of installments per item", arguments: [3, 4, 5, 6, 11, 12])
    func noLoneSubtotal(installments: Int) throws {
        let certificate = try Samples.largeTaxPayment(items: 5, installments: installments)
        let doc = try renderer.render([(certificate, "KOFU")])
        for page in 1...doc.pageCount {
            // The first row under the header: the topmost word below the 税目 header cell.
            let words = try PlacedWord.all(doc.pdf, page: page)
            let header = try #require(words.first { $0.text == "税目" })
            let firstRow = words.filter { $0.yMin > header.yMax + 1 && $0.xMin > 20 && $0.xMax < 190 }
                .min { $0.yMin < $1.yMin }
            let rowWords = words.filter { abs($0.yMin - (firstRow?.yMin ?? 0)) < 1 }
            #expect(!rowWords.contains { $0.text == "計" }, "page \(page) starts with a 計 line")
        }
        // And the rule itself, on rows cut exactly at a 計.
        var rows: [TableRow] = []
        for i in 0..<40 {
            rows.append(TableRow(taxItem: "", itemName: "税", installment: "", noticeNo: "", dueDate: "", assessed: "",
                                 paid: "", unpaid: "", paidDate: "", isSubtotal: i % 5 == 4))
        }
        let template = try #require(try CertificateRendererTemplates.taxPayment().table)
        for pageRows in Pagination.paginate(rows, table: template).dropFirst() {
            #expect(pageRows.first?.isSubtotal == false)
        }
    }

    @Test("合計 and 「以下余白」 come directly under the table's last row")
    func totalUnderTheTable() throws {
        let doc = try renderer.render([(try Samples.certificate(.taxPayment), "KOFU")])
        let words = try PlacedWord.all(doc.pdf, page: 1)
        let header = try #require(words.first { $0.text == "税目" })
        let end = try #require(words.first { $0.text == "以下余白" })
        let total = try #require(words.first { $0.text.hasPrefix("合計") })
        // The last table row: the lowest word in the table's columns above the end mark.
        let lastRow = try #require(words.filter { $0.yMin > header.yMax && $0.yMax < end.yMin }.max { $0.yMax < $1.yMax })
        #expect(end.yMin - lastRow.yMax < 6.5, "以下余白 \(end.yMin) right after the last row \(lastRow.yMax)")
        #expect(abs(total.yMin - end.yMin) < 1.5, "合計 on the line under the table")
        #expect(total.yMin - lastRow.yMax < 6.5)
    }

    @Test("the widest realistic values fit their columns at full size: 9,999,999 and 令和10年12月31日")
    func widestValuesFit() throws {
        let table = try #require(try CertificateRendererTemplates.taxPayment().table)
        let glyphs = try GlyphMap(path: TestSupport.fontPath)
        let em = PDFCanvas.mm(points: table.size)
        let widest: [String: String] = ["{row.due_date}": "令和10年12月31日", "{row.assessed}": "9,999,999",
                                        "{row.paid}": "9,999,999", "{row.unpaid}": "9,999,999",
                                        "{row.installment}": "第12期"]
        var checked = 0
        for column in table.columns {
            let header = glyphs.advance(of: column.header) * em
            #expect(header <= column.width - 2, "header \(column.header)")
            for (field, value) in widest where column.source.contains(field) {
                #expect(glyphs.advance(of: value) * em <= column.width - 2.4, "\(value) in \(column.header)")
                checked += 1
            }
        }
        #expect(checked >= 4, "the date and amount columns were found")
    }
}

/// The shipped templates, loaded as the renderer loads them.
enum CertificateRendererTemplates {
    static func taxPayment() throws -> Template {
        let glyphs = try GlyphMap(path: TestSupport.fontPath)
        let coverage = glyphs.coverage
        let path = TestSupport.templatesDirectory + "/tax_payment.yaml"
        let yaml = try String(contentsOfFile: path, encoding: .utf8)
        return try TemplateLoader(file: path, kind: .taxPayment, isPrintable: { coverage.contains($0.value) }).load(yaml: yaml)
    }
}

extension TableElement.Column {
    /// The column's value template as written (`{row.assessed}`), for matching by field.
    var source: String {
        value.pieces.map { piece -> String in
            switch piece {
            case .literal(let s): s
            case .field(let name, _): "{\(name)}"
            }
        }.joined()
    }
}
