@testable import KofuStorage
import Testing

@Suite("Streaming CSV parser")
struct TaxDataCSVParserTests {
    struct Parsed: Equatable {
        var fields: [String]
        var line: Int
    }

    /// Parses `text` fed in chunks of `chunk` bytes; returns records and syntax errors as `line:column: message`.
    static func parse(_ text: String, chunk: Int) -> ([Parsed], [String]) {
        var parser = CSVParser()
        var records: [Parsed] = []
        var errors: [String] = []
        let bytes = Array(text.utf8)
        let onRecord: (CSVRecord) -> Void = { r in
            records.append(Parsed(fields: (0..<r.count).map { r.string($0)! }, line: r.lines[0]))
        }
        let onError: (CSVSyntaxError) -> Void = { errors.append("\($0.line):\($0.column): \($0.message)") }
        var i = 0
        while i < bytes.count {
            let end = min(bytes.count, i + chunk)
            bytes[i..<end].withUnsafeBufferPointer { parser.feed($0, onRecord: onRecord, onError: onError) }
            i = end
        }
        parser.finish(onRecord: onRecord, onError: onError)
        return (records, errors)
    }

    @Test("RFC 4180 quoting, LF and CRLF, any chunk size", arguments: [1, 2, 3, 7, 4096])
    func quoting(_ chunk: Int) {
        let text = "a,b,c\r\n\"x, y\",\"he said \"\"hi\"\"\",\"two\nlines\"\r\n,,\n𠮷,\"\",z"
        let (records, errors) = Self.parse(text, chunk: chunk)
        #expect(errors.isEmpty)
        #expect(records == [
            Parsed(fields: ["a", "b", "c"], line: 1),
            Parsed(fields: ["x, y", "he said \"hi\"", "two\nlines"], line: 2),
            Parsed(fields: ["", "", ""], line: 4),
            Parsed(fields: ["𠮷", "", "z"], line: 5),
        ])
    }

    @Test("columns count characters, not bytes")
    func columns() {
        var parser = CSVParser()
        var seen: [(Int, Int)] = []
        let bytes = Array("漢字,𠮷x,z\n".utf8)
        bytes.withUnsafeBufferPointer { buf in
            parser.feed(buf, onRecord: { r in
                for i in 0..<r.count { seen.append((r.lines[i], r.columns[i])) }
            }, onError: { _ in })
        }
        #expect(seen.map(\.1) == [1, 4, 7])
    }

    @Test("syntax errors point at the offending character and parsing resumes on the next line", arguments: [1, 4096])
    func errors(_ chunk: Int) {
        let text = "a,b\nx\"y,1\n\"ok\"z,2\nfine,3\n\"open,4\n"
        let (records, errors) = Self.parse(text, chunk: chunk)
        #expect(errors == [
            "2:2: a quote inside an unquoted field",
            "3:5: unexpected character after a closing quote",
            "5:1: the file ends inside the quoted field that starts here (truncated file?)",
        ])
        #expect(records.map(\.fields) == [["a", "b"], ["fine", "3"]])
    }
}

@Suite("Streaming CSV parser: line ends and broken structure")
struct TaxDataCSVParserStructureTests {
    @Test("a lone CR stops the file with one error at the CR; CRLF split across chunks and a final CR are fine",
          arguments: [1, 2, 4096])
    func loneCR(_ chunk: Int) {
        let (records, errors) = TaxDataCSVParserTests.parse("a,b\r\nc,d\re,f\rg,h\r", chunk: chunk)
        #expect(records.map(\.fields) == [["a", "b"]])
        #expect(errors == ["2:4: a line ends with a lone CR (carriage return without line feed); linkage files end lines with LF or CRLF; the rest of the file was not checked"])
        let (fine, none) = TaxDataCSVParserTests.parse("a,b\r\nc,d\r", chunk: chunk)
        #expect(none.isEmpty)
        #expect(fine.map(\.fields) == [["a", "b"], ["c", "d"]])
    }

    @Test("a quoted field that runs over lines into a broken record is reported once, at its quote", arguments: [1, 4096])
    func unclosedQuote(_ chunk: Int) {
        let text = "a,b\n\"open,1\nx,2\ny,\"z\"w\n\"p\"q,3\n"
        let (records, errors) = TaxDataCSVParserTests.parse(text, chunk: chunk)
        #expect(errors == ["2:1: unclosed quote? the quoted field that starts here runs on to line 4, where the record breaks (unexpected character after a closing quote); the rest of the file was not checked"])
        #expect(records.map(\.fields) == [["a", "b"]])
    }

    @Test("a legal line break inside quotes is kept, and positions inside a quoted field count the file's characters")
    func positionsInQuotedField() {
        var parser = CSVParser()
        var positions: [String] = []
        let bytes = Array("x,\"a\"\"b\nc\u{202E}\"\n".utf8)
        bytes.withUnsafeBufferPointer { buf in
            parser.feed(buf, onRecord: { r in
                #expect(r.multilineQuote != nil)
                let offset = Array(r.string(1)!.utf8).firstIndex(of: 0xE2)!
                let p = r.position(field: 1, byteOffset: offset)
                positions.append("\(p.line):\(p.column)")
            }, onError: { _ in })
        }
        #expect(positions == ["2:2"])
    }
}
