import Foundation
import KofuDomain
import KofuRendering
import KofuTestSupport
import Testing

/// A broken template is reported with file:line:column when the renderer loads, never at render time.
@Suite("Template errors")
struct TemplateErrorTests {
    static let valid = """
        kind: non_taxation
        seal: { x: 170, y: 231, width: 20 }
        qr: { x: 156, y: 252, size: 32 }
        """

    /// Copies the shipped templates to a temp dir, replaces `non_taxation.yaml` with `yaml`, and loads.
    func load(_ yaml: String?, seal: String = TestSupport.sealImagePath) throws -> (TemplateError?, String) {
        let dir = try TemporaryDirectory(prefix: "kofu-templates")
        for kind in CertificateKind.allCases {
            try FileManager.default.copyItem(atPath: "\(TestSupport.templatesDirectory)/\(kind.rawValue).yaml",
                                             toPath: dir.file("\(kind.rawValue).yaml"))
        }
        try FileManager.default.copyItem(atPath: "\(TestSupport.templatesDirectory)/wording.yaml", toPath: dir.file("wording.yaml"))
        let file = dir.file("non_taxation.yaml")
        try FileManager.default.removeItem(atPath: file)
        if let yaml { try dir.write("non_taxation.yaml", text: yaml) }
        do {
            _ = try Samples.renderer(templates: dir.path, seal: seal)
            return (nil, file)
        } catch let error as TemplateError {
            return (error, file)
        }
    }

    @Test("a minimal template loads")
    func minimalLoads() throws {
        let (error, _) = try load(Self.valid)
        #expect(error == nil)
    }

    @Test("an unknown key is named with its position")
    func unknownKey() throws {
        let (error, file) = try load(Self.valid + "\ncolour: red\n")
        #expect(error == .unknownKey(file: file, line: 4, column: 1, key: "colour"))
        #expect(error?.description == "\(file):4:1: unknown key 'colour'")
    }

    @Test("an unknown key inside an element is named with its position")
    func unknownNestedKey() throws {
        let (error, file) = try load(Self.valid + "\ntexts:\n  - { text: \"x\", x: 10, y: 10, size: 9, colour: red }\n")
        #expect(error == .unknownKey(file: file, line: 5, column: 41, key: "colour"))
    }

    @Test("a misspelt field is refused")
    func unknownField() throws {
        let (error, file) = try load(Self.valid + "\ntexts:\n  - { text: \"氏名 {person.nmae}\", x: 10, y: 10, size: 9 }\n")
        #expect(error == .unknownField(file: file, line: 5, column: 13, field: "person.nmae"))
    }

    @Test("a field of another kind, or a table row field outside a table, is refused")
    func fieldOfAnotherKind() throws {
        let (e1, file) = try load(Self.valid + "\ntexts:\n  - { text: \"{vehicle.plate}\", x: 10, y: 10, size: 9 }\n")
        #expect(e1 == .unknownField(file: file, line: 5, column: 13, field: "vehicle.plate"))
        let (e2, file2) = try load(Self.valid + "\ntexts:\n  - { text: \"{row.paid}\", x: 10, y: 10, size: 9 }\n")
        #expect(e2 == .unknownField(file: file2, line: 5, column: 13, field: "row.paid"))
    }

    @Test("an element reaching off the page is bad geometry")
    func offPage() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: 170, y: 231, width: 20 }\nqr: { x: 190, y: 252, size: 32 }\n")
        #expect(error == .badGeometry(file: file, line: 3, column: 5, problem: "the element reaches off the A4 page (210 × 297 mm)"))
    }

    @Test("a negative position is bad geometry at that value")
    func negative() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: -5, y: 231, width: 20 }\nqr: { x: 156, y: 252, size: 32 }\n")
        #expect(error == .badGeometry(file: file, line: 2, column: 12, problem: "x = -5 mm is off the page (0–210 mm)"))
    }

    @Test("a QR code narrower than 25 mm is refused")
    func smallQR() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: 170, y: 231, width: 20 }\nqr: { x: 156, y: 252, size: 20 }\n")
        #expect(error == .badGeometry(file: file, line: 3, column: 29, problem: "the QR code must be at least 25 mm wide"))
    }

    @Test("columns wider than the page are bad geometry")
    func gridLabelWidth() throws {
        let yaml = Self.valid + "\ngrids:\n  - { x: 20, y: 40, width: 50, label_width: 60, row_height: 8, size: 10, rows: [] }\n"
        let (error, file) = try load(yaml)
        #expect(error == .badGeometry(file: file, line: 5, column: 5, problem: "label_width 60.0 is not less than width 50.0"))
    }

    @Test("a YAML syntax error carries its position")
    func yamlSyntax() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: 170, y: 231, width: 20\nqr: { x: 156, y: 252, size: 32 }\n")
        guard case .yamlSyntax(let f, let line, let column, _) = error else {
            Issue.record("expected a YAML error, got \(String(describing: error))"); return
        }
        #expect(f == file)
        #expect(line == 3 && column == 3)
    }

    @Test("a missing required key is named")
    func missingKey() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: 170, y: 231, width: 20 }\n")
        #expect(error == .missingKey(file: file, line: 1, column: 1, key: "qr"))
    }

    @Test("a wrong value type is named with its position")
    func invalidValue() throws {
        let (error, file) = try load("kind: non_taxation\nseal: { x: 170, y: 231, width: 20 }\nqr: { x: 156, y: 252, size: 32 }\nframe: maybe\n")
        #expect(error == .invalidValue(file: file, line: 4, column: 8, key: "frame", expected: "true or false"))
    }

    @Test("fixed text the font cannot print is refused at load")
    func unprintableTemplateText() throws {
        let (error, file) = try load(Self.valid + "\ntexts:\n  - { text: \"𠮷\", x: 10, y: 10, size: 9 }\n")
        #expect(error == .unprintableText(file: file, line: 5, column: 13, character: "U+20BB7"))
    }

    @Test("a missing template file and a missing seal image are reported")
    func missingFiles() throws {
        let (e1, file) = try load(nil)
        #expect(e1 == .missingTemplate(file: file))
        let (e2, _) = try load(Self.valid, seal: "/nonexistent/seal.png")
        #expect(e2 == .missingImage(file: "/nonexistent/seal.png"))
        let dir = try TemporaryDirectory()
        let notPNG = try dir.write("seal.png", text: "not a png")
        let (e3, _) = try load(Self.valid, seal: notPNG)
        #expect(e3 == .missingImage(file: notPNG))
    }

    @Test("the kind in the file must match its name")
    func wrongKind() throws {
        let (error, file) = try load("kind: tax_payment\nseal: { x: 170, y: 231, width: 20 }\nqr: { x: 156, y: 252, size: 32 }\n")
        #expect(error == .invalidValue(file: file, line: 1, column: 7, key: "kind", expected: "'non_taxation' (the file name's kind)"))
    }
}
