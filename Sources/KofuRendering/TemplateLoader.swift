import Foundation
import KofuDomain
import Yams

/// Reads `Templates/<kind>.yaml` strictly: every key must be known, every placeholder must name a field of the
/// kind, every position must lie on the page, fixed text must be printable with the font. Errors carry
/// file:line:column.
struct TemplateLoader {
    let file: String
    let kind: CertificateKind
    let isPrintable: @Sendable (Unicode.Scalar) -> Bool
    /// The municipality's words for `{wording.…}` and the tax item names (Wording.swift).
    var wording: Wording = .none

    static func fileName(for kind: CertificateKind) -> String { kind.rawValue + ".yaml" }

    func load(yaml: String) throws -> Template {
        let root = try YAMLDocument.root(yaml: yaml, file: file)
        let top = try map(root, keys: ["kind", "texts", "grids", "table", "seal", "qr", "ground", "frame"])
        let kindNode = try top.required("kind")
        guard try string(kindNode) == kind.rawValue else {
            throw invalid(kindNode, "kind", "'\(kind.rawValue)' (the file name's kind)")
        }
        var texts: [TextElement] = []
        if let list = top["texts"] { texts = try sequence(list).map(textElement) }
        var grids: [GridElement] = []
        if let list = top["grids"] { grids = try sequence(list).map(gridElement) }
        var table: TableElement?
        if let node = top["table"] {
            guard kind == .taxPayment else { throw unknownKey(top.keyNode("table")!, "table") }
            table = try tableElement(node)
        } else if kind == .taxPayment {
            throw TemplateError.missingKey(file: file, line: line(root), column: column(root), key: "table")
        }
        let seal = try sealElement(top.required("seal"))
        let qr = try qrElement(top.required("qr"))
        let ground = try top["ground"].map(groundElement)
        let frame = try top["frame"].map { try bool($0, "frame") } ?? true
        return Template(kind: kind, file: file, texts: texts, grids: grids, table: table, seal: seal, qr: qr,
                        ground: ground, frame: frame)
    }

    // MARK: Elements

    private func textElement(_ node: Node) throws -> TextElement {
        let m = try map(node, keys: ["text", "x", "y", "size", "align", "width", "line_height", "pages", "letter_spacing", "anchor",
                                     "when"])
        let size = try number(m.required("size"), "size", in: 3...48)
        let el = TextElement(
            text: try text(m.required("text"), allowRow: false),
            x: try coordinate(m.required("x"), "x", max: pageWidthMM),
            y: try coordinate(m.required("y"), "y", max: pageHeightMM),
            size: size,
            align: try m["align"].map { try choice($0, "align", Alignment.init(rawValue:)) } ?? .left,
            width: try m["width"].map { try length($0, "width") },
            lineHeight: try m["line_height"].map { try number($0, "line_height", in: 1...3) } ?? 1.6,
            pages: try pages(m["pages"], default: .all),
            letterSpacing: try m["letter_spacing"].map { try number($0, "letter_spacing", in: 0...20) } ?? 0,
            when: try m["when"].map(condition),
            anchor: try m["anchor"].map { try choice($0, "anchor", TextAnchor.init(rawValue:)) } ?? .page)
        if el.anchor == .tableEnd && kind != .taxPayment, let n = m["anchor"] {
            throw TemplateError.badGeometry(file: file, line: line(n), column: column(n),
                                            problem: "anchor table_end needs a table (納税証明書 only)")
        }
        if let w = el.width {
            let left = el.align == .left ? el.x : el.align == .center ? el.x - w / 2 : el.x - w
            try requireOnPage(node, x: left, y: el.y, width: w, height: 0)
        }
        return el
    }

    private func gridElement(_ node: Node) throws -> GridElement {
        let m = try map(node, keys: ["x", "y", "width", "label_width", "row_height", "size", "rows", "pages", "value_align", "when"])
        var rows: [GridElement.Row] = []
        for r in try sequence(m.required("rows")) {
            let rm = try map(r, keys: ["label", "value"])
            rows.append(.init(label: try text(rm.required("label"), allowRow: false),
                              value: try text(rm.required("value"), allowRow: false)))
        }
        let g = GridElement(
            x: try coordinate(m.required("x"), "x", max: pageWidthMM),
            y: try coordinate(m.required("y"), "y", max: pageHeightMM),
            width: try length(m.required("width"), "width"),
            labelWidth: try length(m.required("label_width"), "label_width"),
            rowHeight: try length(m.required("row_height"), "row_height"),
            size: try number(m.required("size"), "size", in: 3...48),
            rows: rows,
            pages: try pages(m["pages"], default: .first),
            valueAlign: try m["value_align"].map { try choice($0, "value_align", Alignment.init(rawValue:)) } ?? .left,
            when: try m["when"].map(condition))
        guard g.labelWidth < g.width else {
            throw TemplateError.badGeometry(file: file, line: line(node), column: column(node),
                                            problem: "label_width \(g.labelWidth) is not less than width \(g.width)")
        }
        try requireOnPage(node, x: g.x, y: g.y, width: g.width, height: g.rowHeight * Double(g.rows.count))
        return g
    }

    private func tableElement(_ node: Node) throws -> TableElement {
        let m = try map(node, keys: ["x", "y", "bottom", "bottom_not_last", "row_height", "header_height", "size", "columns",
                                 "subtotal_label", "end_mark"])
        var columns: [TableElement.Column] = []
        for c in try sequence(m.required("columns")) {
            let cm = try map(c, keys: ["header", "value", "width", "align"])
            let headerNode = try cm.required("header")
            let header = try string(headerNode)
            try checkPrintable(header, at: headerNode)
            columns.append(.init(header: header, value: try text(cm.required("value"), allowRow: true),
                                 width: try length(cm.required("width"), "width"),
                                 align: try cm["align"].map { try choice($0, "align", Alignment.init(rawValue:)) } ?? .left))
        }
        let subtotalNode = m["subtotal_label"]
        let subtotal = try subtotalNode.map(string) ?? "計"
        if let n = subtotalNode { try checkPrintable(subtotal, at: n) }
        let endMark = try m["end_mark"].map(string)
        if let n = m["end_mark"], let endMark { try checkPrintable(endMark, at: n) }
        let bottom = try coordinate(m.required("bottom"), "bottom", max: pageHeightMM)
        let t = TableElement(
            x: try coordinate(m.required("x"), "x", max: pageWidthMM),
            y: try coordinate(m.required("y"), "y", max: pageHeightMM),
            bottom: bottom,
            bottomNotLast: try m["bottom_not_last"].map { try coordinate($0, "bottom_not_last", max: pageHeightMM) } ?? bottom,
            rowHeight: try length(m.required("row_height"), "row_height"),
            headerHeight: try length(m.required("header_height"), "header_height"),
            size: try number(m.required("size"), "size", in: 3...48),
            columns: columns, subtotalLabel: subtotal, endMark: endMark)
        guard min(t.bottom, t.bottomNotLast) - t.y >= t.headerHeight + t.rowHeight else {
            throw TemplateError.badGeometry(file: file, line: line(node), column: column(node),
                                            problem: "bottom leaves no room for the header and one row")
        }
        try requireOnPage(node, x: t.x, y: t.y, width: t.width, height: max(t.bottom, t.bottomNotLast) - t.y)
        return t
    }

    private func sealElement(_ node: Node) throws -> SealElement {
        let m = try map(node, keys: ["x", "y", "width", "pages"])
        let s = SealElement(x: try coordinate(m.required("x"), "x", max: pageWidthMM),
                            y: try coordinate(m.required("y"), "y", max: pageHeightMM),
                            width: try length(m.required("width"), "width"),
                            pages: try pages(m["pages"], default: .last))
        try requireOnPage(node, x: s.x, y: s.y, width: s.width, height: s.width)
        return s
    }

    private func qrElement(_ node: Node) throws -> QRElement {
        let m = try map(node, keys: ["x", "y", "size"])
        let sizeNode = try m.required("size")
        let q = QRElement(x: try coordinate(m.required("x"), "x", max: pageWidthMM),
                          y: try coordinate(m.required("y"), "y", max: pageHeightMM),
                          size: try length(sizeNode, "size"))
        guard q.size >= 25 else {
            throw TemplateError.badGeometry(file: file, line: line(sizeNode), column: column(sizeNode),
                                            problem: "the QR code must be at least 25 mm wide")
        }
        try requireOnPage(node, x: q.x, y: q.y, width: q.size, height: q.size)
        return q
    }

    private func groundElement(_ node: Node) throws -> GroundElement {
        let m = try map(node, keys: ["warning", "warning_size", "microtext", "microtext_size", "gray"])
        let warnNode = try m.required("warning")
        let warning = try string(warnNode)
        try checkPrintable(warning, at: warnNode)
        return GroundElement(
            warning: warning,
            warningSize: try m["warning_size"].map { try number($0, "warning_size", in: 20...200) } ?? 48,
            microtext: try m["microtext"].map { try text($0, allowRow: false) } ?? TextTemplate(pieces: []),
            microtextSize: try m["microtext_size"].map { try number($0, "microtext_size", in: 0.8...3) } ?? 1.2,
            gray: try m["gray"].map { try number($0, "gray", in: 0.15...0.45) } ?? 0.33)
    }

    // MARK: Placeholder text

    /// Parses `{field}` placeholders; `{{` and `}}` are literal braces.
    private func text(_ node: Node, allowRow: Bool) throws -> TextTemplate {
        let s = try string(node)
        var pieces: [TextTemplate.Piece] = []
        var literal = ""
        var i = s.startIndex
        while i < s.endIndex {
            let c = s[i]
            let next = s.index(after: i)
            if c == "{", next < s.endIndex, s[next] == "{" { literal.append("{"); i = s.index(after: next); continue }
            if c == "}", next < s.endIndex, s[next] == "}" { literal.append("}"); i = s.index(after: next); continue }
            if c == "{" {
                guard let close = s[next...].firstIndex(of: "}") else {
                    throw invalid(node, "text", "balanced: '{' without '}'")
                }
                let name = String(s[next..<close])
                if let words = try wordingText(name, at: node) { literal += words; i = s.index(after: close); continue }
                guard let field = FieldCatalogue.lookup(name, kind: kind, wording: wording) else {
                    throw TemplateError.unknownField(file: file, line: line(node), column: column(node), field: name)
                }
                if case .row = field, !allowRow {
                    throw TemplateError.unknownField(file: file, line: line(node), column: column(node), field: name)
                }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.field(name: name, field))
                i = s.index(after: close)
                continue
            }
            literal.append(c)
            i = next
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        for case .literal(let l) in pieces { try checkPrintable(l, at: node) }
        return TextTemplate(pieces: pieces)
    }

    private func checkPrintable(_ s: String, at node: Node) throws {
        for scalar in s.unicodeScalars where !isPrintable(scalar) {
            throw TemplateError.unprintableText(file: file, line: line(node), column: column(node),
                                                character: RenderText.codePoint(scalar))
        }
    }

    // MARK: Scalars

    private func pages(_ node: Node?, default d: PageSelection) throws -> PageSelection {
        try node.map { try choice($0, "pages", PageSelection.init(rawValue:)) } ?? d
    }

    private func choice<T>(_ node: Node, _ key: String, _ make: (String) -> T?) throws -> T {
        guard let v = make(try string(node)) else { throw invalid(node, key, "one of the documented values") }
        return v
    }

    private func string(_ node: Node) throws -> String {
        guard case .scalar(let s) = node else { throw invalid(node, "value", "a text") }
        return s.string
    }

    private func bool(_ node: Node, _ key: String) throws -> Bool {
        switch try string(node) {
        case "true", "yes": return true
        case "false", "no": return false
        default: throw invalid(node, key, "true or false")
        }
    }

    private func number(_ node: Node, _ key: String, in range: ClosedRange<Double>) throws -> Double {
        guard case .scalar(let s) = node, let v = Double(s.string), v.isFinite else {
            throw invalid(node, key, "a number")
        }
        guard range.contains(v) else { throw invalid(node, key, "between \(range.lowerBound) and \(range.upperBound)") }
        return v
    }

    /// A position in mm that must lie on the page.
    private func coordinate(_ node: Node, _ key: String, max: Double) throws -> Double {
        guard case .scalar(let s) = node, let v = Double(s.string), v.isFinite else { throw invalid(node, key, "a number (mm)") }
        guard v >= 0, v <= max else {
            throw TemplateError.badGeometry(file: file, line: line(node), column: column(node),
                                            problem: "\(key) = \(s.string) mm is off the page (0–\(Int(max)) mm)")
        }
        return v
    }

    /// A positive size in mm.
    private func length(_ node: Node, _ key: String) throws -> Double {
        guard case .scalar(let s) = node, let v = Double(s.string), v.isFinite else { throw invalid(node, key, "a number (mm)") }
        guard v > 0, v <= pageHeightMM else {
            throw TemplateError.badGeometry(file: file, line: line(node), column: column(node),
                                            problem: "\(key) = \(s.string) mm must be positive and fit on the page")
        }
        return v
    }

    private func requireOnPage(_ node: Node, x: Double, y: Double, width: Double, height: Double) throws {
        guard x >= 0, y >= 0, x + width <= pageWidthMM + 0.001, y + height <= pageHeightMM + 0.001 else {
            throw TemplateError.badGeometry(file: file, line: line(node), column: column(node),
                                            problem: "the element reaches off the A4 page (210 × 297 mm)")
        }
    }

    // MARK: Structure

    struct Map {
        var entries: [String: (key: Node, value: Node)]
        var node: Node
        var loader: TemplateLoader
        subscript(_ key: String) -> Node? { entries[key]?.value }
        func keyNode(_ key: String) -> Node? { entries[key]?.key }
        func required(_ key: String) throws -> Node {
            guard let v = entries[key]?.value else {
                throw TemplateError.missingKey(file: loader.file, line: loader.line(node), column: loader.column(node), key: key)
            }
            return v
        }
    }

    private func map(_ node: Node, keys: Set<String>) throws -> Map {
        guard case .mapping(let mapping) = node else { throw invalid(node, "value", "a mapping (key: value)") }
        var entries: [String: (key: Node, value: Node)] = [:]
        for (k, v) in mapping {
            let name = try string(k)
            guard keys.contains(name) else { throw unknownKey(k, name) }
            entries[name] = (k, v)
        }
        return Map(entries: entries, node: node, loader: self)
    }

    private func sequence(_ node: Node) throws -> [Node] {
        guard case .sequence(let s) = node else { throw invalid(node, "value", "a list") }
        return Array(s)
    }

    func line(_ node: Node) -> Int { node.mark?.line ?? 0 }
    func column(_ node: Node) -> Int { node.mark?.column ?? 0 }

    private func unknownKey(_ node: Node, _ key: String) -> TemplateError {
        .unknownKey(file: file, line: line(node), column: column(node), key: key)
    }

    private func invalid(_ node: Node, _ key: String, _ expected: String) -> TemplateError {
        .invalidValue(file: file, line: line(node), column: column(node), key: key, expected: expected)
    }
}
