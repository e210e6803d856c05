import Yams

/// A template that cannot be used, found when the server or CLI loads the templates (never at a resident's
/// request). Every case names the file and, where there is one, the line and column (1-based).
public enum TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A template file is missing from the templates directory.
    case missingTemplate(file: String)
    /// The file is not valid YAML.
    case yamlSyntax(file: String, line: Int, column: Int, problem: String)
    /// A key the template format does not know (a misspelling, usually).
    case unknownKey(file: String, line: Int, column: Int, key: String)
    /// A required key is absent from the mapping that starts at line:column.
    case missingKey(file: String, line: Int, column: Int, key: String)
    /// A `{placeholder}` names a field that does not exist for this certificate kind.
    case unknownField(file: String, line: Int, column: Int, field: String)
    /// A value of the wrong type or out of its allowed set.
    case invalidValue(file: String, line: Int, column: Int, key: String, expected: String)
    /// A position or size outside the page, a non-positive size, or columns wider than their table.
    case badGeometry(file: String, line: Int, column: Int, problem: String)
    /// An image (the 公印 seal) that is missing or not a readable PNG.
    case missingImage(file: String)
    /// A font file that is missing or not readable by FreeType.
    case unreadableFont(file: String)
    /// Fixed template text with a character the font cannot draw (外字).
    case unprintableText(file: String, line: Int, column: Int, character: String)

    public var description: String {
        switch self {
        case .missingTemplate(let f): "\(f): template file missing"
        case .yamlSyntax(let f, let l, let c, let p): "\(f):\(l):\(c): YAML error: \(p)"
        case .unknownKey(let f, let l, let c, let k): "\(f):\(l):\(c): unknown key '\(k)'"
        case .missingKey(let f, let l, let c, let k): "\(f):\(l):\(c): missing key '\(k)'"
        case .unknownField(let f, let l, let c, let k): "\(f):\(l):\(c): unknown field '{\(k)}' for this certificate kind"
        case .invalidValue(let f, let l, let c, let k, let e): "\(f):\(l):\(c): '\(k)' must be \(e)"
        case .badGeometry(let f, let l, let c, let p): "\(f):\(l):\(c): bad geometry: \(p)"
        case .missingImage(let f): "\(f): image missing or not a PNG"
        case .unreadableFont(let f): "\(f): font missing or unreadable"
        case .unprintableText(let f, let l, let c, let ch): "\(f):\(l):\(c): the font cannot draw \(ch)"
        }
    }

    /// The file the error is about.
    public var file: String {
        switch self {
        case .missingTemplate(let f), .missingImage(let f), .unreadableFont(let f): f
        case .yamlSyntax(let f, _, _, _), .unknownKey(let f, _, _, _), .missingKey(let f, _, _, _),
             .unknownField(let f, _, _, _), .invalidValue(let f, _, _, _, _), .badGeometry(let f, _, _, _),
             .unprintableText(let f, _, _, _): f
        }
    }
}

/// A certificate that cannot be rendered. Messages carry no personal data: a character is given as its
/// code point, a field by its template name.
public enum RenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 外字: `field` (e.g. `person.name`) holds a character the font cannot draw, given as `U+20BB7`.
    case unprintableCharacter(field: String, character: String)
    /// The QR text cannot be encoded (too long for a version 40 symbol at level M).
    case qrEncodingFailed(length: Int)
    /// cairo reported an error while drawing.
    case cairo(status: String)
    /// `render` was called with no certificates.
    case noCertificates

    public var description: String {
        switch self {
        case .unprintableCharacter(let f, let c): "field '\(f)' contains \(c), which the certificate font cannot print"
        case .qrEncodingFailed(let n): "QR text of \(n) characters cannot be encoded"
        case .cairo(let s): "cairo error: \(s)"
        case .noCertificates: "no certificates to render"
        }
    }
}

/// The one way a template or the wording file is read as YAML: the document's root node, or a `TemplateError`
/// naming file:line:column (an empty file, a syntax error, a key given twice).
enum YAMLDocument {
    static func root(yaml: String, file: String) throws -> Node {
        do {
            guard let node = try Yams.compose(yaml: yaml) else {
                throw TemplateError.yamlSyntax(file: file, line: 1, column: 1, problem: "the file is empty")
            }
            return node
        } catch let error as YamlError {
            switch error {
            case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
                throw TemplateError.yamlSyntax(file: file, line: mark.line, column: mark.column, problem: problem)
            case .duplicatedKeysInMapping(let dups, let context):
                throw TemplateError.yamlSyntax(file: file, line: context.mark.line, column: context.mark.column,
                                               problem: "duplicate keys: \(dups.joined(separator: ", "))")
            default:
                throw TemplateError.yamlSyntax(file: file, line: 1, column: 1, problem: String(describing: error))
            }
        }
    }
}
