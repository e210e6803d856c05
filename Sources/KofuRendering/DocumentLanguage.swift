import Foundation

/// Sets the document language (`/Lang` on the catalog) of a PDF cairo wrote, and marks a tagged one as such. Cairo has no API for it, and a
/// screen reader needs it to read 東京都 as Japanese rather than spell it out.
///
/// The original bytes are kept as they are; the new catalog is appended as a PDF incremental update (the
/// catalog object again with `/Lang`, a cross-reference section for it, and a trailer pointing back at the
/// original one with `/Prev`). Every offset in cairo's own cross-reference table stays valid, and a later
/// incremental update (a signature) can follow this one. It costs a few microseconds: the catalog and the
/// trailer are found by searching back from the end of the file.
enum DocumentLanguage {
    enum Failure: Error, Equatable { case unrecognisedPDF(String) }

    static func set(_ language: String, in pdf: [UInt8]) throws -> [UInt8] {
        guard let startxref = lastRange(of: "startxref", in: pdf),
              let trailer = lastRange(of: "trailer", in: pdf, before: startxref.lowerBound) else {
            throw Failure.unrecognisedPDF("no trailer")
        }
        let trailerText = String(decoding: pdf[trailer.upperBound..<startxref.lowerBound], as: UTF8.self)
        let afterStart = String(decoding: pdf[startxref.upperBound...], as: UTF8.self)
        guard let previous = Int(afterStart.split(whereSeparator: \.isWhitespace).first ?? ""),
              let size = integer(after: "/Size", in: trailerText),
              let root = integer(after: "/Root", in: trailerText) else {
            throw Failure.unrecognisedPDF("trailer without /Size, /Root or startxref")
        }
        let info = integer(after: "/Info", in: trailerText)
        guard let objStart = lastRange(of: "\n\(root) 0 obj", in: pdf, before: trailer.lowerBound),
              let objEnd = firstRange(of: "endobj", in: pdf, from: objStart.upperBound) else {
            throw Failure.unrecognisedPDF("no catalog object")
        }
        let body = String(decoding: pdf[objStart.upperBound..<objEnd.lowerBound], as: UTF8.self)
        guard body.contains("/Catalog"), let close = body.range(of: ">>", options: .backwards), !body.contains("/Lang") else {
            throw Failure.unrecognisedPDF("catalog not a plain dictionary")
        }
        // Cairo 1.16 writes the structure tree and marks the content (BDC … EMC with MCIDs) but leaves out
        // /MarkInfo, without which readers treat the file as untagged.
        let markInfo = body.contains("/StructTreeRoot") && !body.contains("/MarkInfo") ? "   /MarkInfo << /Marked true >>\n" : ""
        let catalog = String(body[..<close.lowerBound]) + markInfo + "   /Lang (\(language))\n>>"
        var out = pdf
        if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        let offset = out.count
        out += Array("\(root) 0 obj\n\(catalog.trimmingLeadingNewlines())\nendobj\n".utf8)
        let xref = out.count
        let entry = String(repeating: "0", count: max(0, 10 - String(offset).count)) + String(offset)
        var trailerDict = "<< /Size \(size)\n   /Root \(root) 0 R\n"
        if let info { trailerDict += "   /Info \(info) 0 R\n" }
        trailerDict += "   /Prev \(previous)\n>>"
        out += Array("xref\n\(root) 1\n\(entry) 00000 n \ntrailer\n\(trailerDict)\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }

    private static func integer(after key: String, in text: String) -> Int? {
        guard let r = text.range(of: key) else { return nil }
        return Int(text[r.upperBound...].split(whereSeparator: \.isWhitespace).first ?? "")
    }

    private static func lastRange(of needle: String, in bytes: [UInt8], before end: Int? = nil) -> Range<Int>? {
        let n = Array(needle.utf8)
        var i = (end ?? bytes.count) - n.count
        while i >= 0 {
            if bytes[i] == n[0], bytes[i..<i + n.count].elementsEqual(n) { return i..<i + n.count }
            i -= 1
        }
        return nil
    }

    private static func firstRange(of needle: String, in bytes: [UInt8], from start: Int) -> Range<Int>? {
        let n = Array(needle.utf8)
        var i = start
        while i + n.count <= bytes.count {
            if bytes[i] == n[0], bytes[i..<i + n.count].elementsEqual(n) { return i..<i + n.count }
            i += 1
        }
        return nil
    }
}

private extension String {
    func trimmingLeadingNewlines() -> String { String(drop { $0 == "\n" || $0 == "\r" }) }
}
