import Foundation

/// Sets the document language (`/Lang` on the catalog) of a PDF cairo wrote (the reference drawing,
/// `PDFCanvas`), and marks a tagged one as such. Cairo has no API for it, and a screen reader needs it to read
/// 東京都 as Japanese rather than spell it out. (`PDFWriter` writes both itself.)
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
        let xref = CrossReference(pdf: pdf, at: previous, size: size)
        func objectBody(_ number: Int) throws -> String {
            guard let objStart = xref.objectStart(number) ?? lastRange(of: "\n\(number) 0 obj", in: pdf, before: trailer.lowerBound)?.upperBound,
                  let objEnd = firstRange(of: "endobj", in: pdf, from: objStart) else {
                throw Failure.unrecognisedPDF("no object \(number)")
            }
            return String(decoding: pdf[objStart..<objEnd.lowerBound], as: UTF8.self)
        }
        let body = try objectBody(root)
        guard body.contains("/Catalog"), let close = body.range(of: ">>", options: .backwards), !body.contains("/Lang") else {
            throw Failure.unrecognisedPDF("catalog not a plain dictionary")
        }
        // Cairo 1.16 writes the structure tree and marks the content (BDC … EMC with MCIDs) but leaves out
        // /MarkInfo, without which readers treat the file as untagged.
        let markInfo = body.contains("/StructTreeRoot") && !body.contains("/MarkInfo") ? "   /MarkInfo << /Marked true >>\n" : ""
        let catalog = String(body[..<close.lowerBound]) + markInfo + "   /Lang (\(language))\n>>"
        let objects: [(number: Int, bytes: [UInt8])] = [(root, Array(catalog.trimmingLeadingNewlines().utf8))]
        let nextNumber = size
        var out = pdf
        out.reserveCapacity(pdf.count + objects.reduce(0) { $0 + $1.bytes.count + 40 } + 64)
        if out.last != UInt8(ascii: "\n") { out.append(UInt8(ascii: "\n")) }
        var entries: [(number: Int, offset: Int)] = []
        for object in objects {
            entries.append((object.number, out.count))
            out += Array("\(object.number) 0 obj\n".utf8)
            out += object.bytes
            out += Array("\nendobj\n".utf8)
        }
        let xrefOffset = out.count
        var section = "xref\n"
        for e in entries.sorted(by: { $0.number < $1.number }) {
            section += "\(e.number) 1\n" + String(repeating: "0", count: max(0, 10 - String(e.offset).count)) + "\(e.offset) 00000 n \n"
        }
        var trailerDict = "<< /Size \(nextNumber)\n   /Root \(root) 0 R\n"
        if let info { trailerDict += "   /Info \(info) 0 R\n" }
        trailerDict += "   /Prev \(previous)\n>>"
        out += Array((section + "trailer\n\(trailerDict)\nstartxref\n\(xrefOffset)\n%%EOF\n").utf8)
        return out
    }

    /// Cairo's classic cross-reference table (`xref`, `0 n`, then 20-byte entries): an object's offset without
    /// searching the file.
    private struct CrossReference {
        let pdf: [UInt8]
        let entries: Int?
        let size: Int
        init(pdf: [UInt8], at offset: Int, size: Int) {
            self.pdf = pdf
            self.size = size
            let header = Array("xref\n0 \(size)\n".utf8)
            if offset >= 0, offset + header.count <= pdf.count, pdf[offset..<offset + header.count].elementsEqual(header),
               offset + header.count + 20 * size <= pdf.count {
                entries = offset + header.count
            } else {
                entries = nil
            }
        }
        /// Where object `number`'s body starts (just after `n 0 obj`), if the table has it in use.
        func objectStart(_ number: Int) -> Int? {
            guard let entries, number > 0, number < size else { return nil }
            let e = entries + 20 * number
            guard pdf[e + 17] == UInt8(ascii: "n") else { return nil }
            var offset = 0
            for b in pdf[e..<e + 10] {
                guard b >= 48, b <= 57 else { return nil }
                offset = offset * 10 + Int(b - 48)
            }
            let head = Array("\(number) 0 obj".utf8)
            guard offset + head.count <= pdf.count, pdf[offset..<offset + head.count].elementsEqual(head) else { return nil }
            return offset + head.count
        }
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
