import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// What a screen reader or a text extractor gets: the visual reading order, the document's language, and a
/// structure tree.
@Suite("Accessibility")
struct AccessibilityTests {
    let renderer: CertificateRenderer
    init() throws { renderer = try Samples.renderer() }

    /// The order a person reads the page in: number, title, 住所, 氏名, (生年月日), the body, the closing
    /// statement, the mayor, the fee. Each marker is looked up after the previous one.
    @Test("pdftotext -raw reads each kind in visual order", arguments: CertificateKind.allCases)
    func readingOrder(kind: CertificateKind) throws {
        let certificate = try Samples.certificate(kind)
        let doc = try renderer.render([(certificate, "KOFU")])
        let text = PDFTools.compact(try PDFTools.text(doc.pdf))
        let title = PDFTools.compact(kind == .vehicleInspection ? "納税証明書" : kind.title)
        var markers = ["証明書番号", title, "住所", "氏名"]
        if kind != .vehicleInspection { markers.append("生年月日") }
        // The 非課税証明書 certifies once, in its own sentence (issue 14); the others close with the usual one.
        let closing = kind == .nonTaxation ? "非課税であることを証明します" : "上記のとおり相違ないことを証明します"
        markers += [closing, certificate.municipality.mayorTitle, "手数料"]
        var position = text.startIndex
        for marker in markers {
            let found = text.range(of: marker, range: position..<text.endIndex)
            #expect(found != nil, "「\(marker)」 after what precedes it in:\n\(text)")
            if let found { position = found.upperBound }
        }
        // The warning word of the ground is not read out before the page's text.
        #expect(!text.hasPrefix("複写"))
    }

    @Test("the PDF is tagged, says it is Japanese, and stays a valid file", arguments: CertificateKind.allCases)
    func taggedJapanese(kind: CertificateKind) throws {
        let doc = try renderer.render([(try Samples.certificate(kind), "KOFU"), (try Samples.certificate(kind), "KOFU2")])
        let pdf = String(decoding: doc.pdf, as: UTF8.self)
        #expect(pdf.contains("/Lang (ja)"))
        #expect(pdf.contains("/StructTreeRoot"))
        #expect(try PDFTools.qpdfCheck(doc.pdf) == nil)
        let dir = try TemporaryDirectory(prefix: "kofu-info")
        let info = try PDFTools.run("pdfinfo", [try dir.write("doc.pdf", bytes: doc.pdf)])
        #expect(info.stdout.contains("Tagged:          yes"))
        // The structure: a heading, paragraphs and tables with header and data cells.
        for tag in ["/S /H1", "/S /P", "/S /Table", "/S /TR", "/S /TH", "/S /TD"] {
            #expect(try Self.uncompressed(doc.pdf).contains(tag), "\(tag)")
        }
    }

    /// The PDF with its object streams expanded (qpdf), to read the structure tree.
    static func uncompressed(_ pdf: [UInt8]) throws -> String {
        let dir = try TemporaryDirectory(prefix: "kofu-qdf")
        let input = try dir.write("in.pdf", bytes: pdf)
        let output = dir.file("out.pdf")
        _ = try PDFTools.run("qpdf", ["--qdf", "--object-streams=disable", input, output])
        return String(decoding: try Data(contentsOf: URL(fileURLWithPath: output)), as: UTF8.self)
    }
}
