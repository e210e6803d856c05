import Foundation
import KofuDomain

/// Draws one certificate (one or more pages) onto a canvas (`PDFWriter`, or cairo's `PDFCanvas` as the reference).
struct CertificatePage<Canvas: PageCanvas> {
    let template: Template
    let certificate: Certificate
    let qrText: String
    let canvas: Canvas
    /// The outline of the ground's warning word, prepared by the renderer.
    var groundWord: WordOutline?
    /// The same ground as finished PDF objects (see `PrebuiltGround`), for the writer.
    var prebuiltGround: PrebuiltGround?

    /// Draws every page and returns how many there were.
    ///
    /// Each page is drawn in reading order (top to bottom, left to right, a heading with the grid under it), each
    /// element inside a structure tag, so text extraction and screen readers get 番号, title, 住所, 氏名, … in the
    /// order a person reads them. The ground, frame, 公印 and QR are decoration and carry no tag.
    func draw() throws -> Int {
        try checkPrintable()
        let pages: [[TableRow]] = template.table.map { table in
            Pagination.paginate(FieldCatalogue.taxPaymentRows(certificate, subtotalLabel: table.subtotalLabel), table: table)
        } ?? [[]]
        let pageCount = pages.count
        for (index, pageRows) in pages.enumerated() {
            let page = index + 1
            if let ground = template.ground, let word = groundWord { try drawGround(ground, word: word, page: page, of: pageCount) }
            if template.frame { drawFrame() }
            var tableEnd: Double?
            for block in blocks(page: page, of: pageCount) {
                switch block {
                case .text(let e):
                    try drawText(e, page: page, of: pageCount, tableEnd: tableEnd)
                case .grid(let g, let caption):
                    if let caption { try drawText(caption, page: page, of: pageCount, tableEnd: nil) }
                    try drawGrid(g, page: page, of: pageCount)
                case .table(let t):
                    tableEnd = try drawTable(t, rows: pageRows, isLastPage: page == pageCount)
                }
            }
            if template.seal.pages.includes(page: page, of: pageCount) {
                try canvas.seal(at: PrebuiltSeal.Placement(x: template.seal.x, y: template.seal.y, width: template.seal.width))
            }
            try canvas.qr(qrText, x: template.qr.x, y: template.qr.y, size: template.qr.size)
            try canvas.showPage()
        }
        return pageCount
    }

    /// One page's elements in reading order.
    private enum Block {
        case text(TextElement)
        /// A grid and the heading printed just above it (「所得の状況」), read together.
        case grid(GridElement, caption: TextElement?)
        case table(TableElement)
    }

    private func blocks(page: Int, of count: Int) -> [Block] {
        let grids = template.grids.filter { $0.pages.includes(page: page, of: count) }
        var captions: [Int: TextElement] = [:]
        var keyed: [(y: Double, x: Double, order: Int, block: Block)] = []
        for (i, e) in template.texts.enumerated() where e.pages.includes(page: page, of: count) {
            if e.anchor == .tableEnd, let t = template.table {
                // After the table, in their own order.
                keyed.append((t.y + 0.001, e.x, i, .text(e)))
                continue
            }
            if let g = grids.firstIndex(where: { abs($0.x - e.x) < 1 && $0.y - e.y >= 0 && $0.y - e.y < 8 }), captions[g] == nil {
                captions[g] = e
                continue
            }
            keyed.append((e.y, e.x, i, .text(e)))
        }
        for (i, g) in grids.enumerated() {
            keyed.append((captions[i]?.y ?? g.y, g.x, 1000 + i, .grid(g, caption: captions[i])))
        }
        if let t = template.table { keyed.append((t.y, t.x, 2000, .table(t))) }
        return keyed.sorted { a, b in
            if a.y != b.y { return a.y < b.y }
            if a.x != b.x { return a.x < b.x }
            return a.order < b.order
        }.map(\.block)
    }

    // MARK: Values

    /// Refuses 外字 before anything is drawn: every certificate field the template prints is checked.
    private func checkPrintable() throws {
        var seen = Set<String>()
        var templates: [TextTemplate] = template.texts.map(\.text)
        for g in template.grids { for r in g.rows { templates.append(r.label); templates.append(r.value) } }
        if let m = template.ground?.microtext { templates.append(m) }
        for t in templates {
            for case .field(let name, .certificate(let value)) in t.pieces where seen.insert(name).inserted {
                try check(value(certificate), field: name)
            }
        }
        if let table = template.table {
            for row in FieldCatalogue.taxPaymentRows(certificate, subtotalLabel: table.subtotalLabel) {
                for column in table.columns {
                    for case .field(let name, .row(let value)) in column.value.pieces { try check(value(row), field: name) }
                }
            }
        }
    }

    private func check(_ value: String, field: String) throws {
        for scalar in value.unicodeScalars where !canvas.glyphs.covers(scalar) {
            throw RenderError.unprintableCharacter(field: field, character: RenderText.codePoint(scalar))
        }
    }

    private func resolve(_ t: TextTemplate, page: Int, of count: Int, row: TableRow? = nil) throws -> String {
        var out = ""
        for piece in t.pieces {
            switch piece {
            case .literal(let s): out += s
            case .field(let name, let field):
                let value: String = switch field {
                case .certificate(let f):
                    // A name is printed with an ideographic space between family and given name, as residents'
                    // names are; a mayor configured as "吉住 健一" would otherwise print a narrow gap.
                    name == "municipality.mayor_name" ? f(certificate).replacingOccurrences(of: " ", with: "\u{3000}")
                        : f(certificate)
                case .page(.number): String(page)
                case .page(.count): String(count)
                case .row(let f): row.map(f) ?? ""
                }
                try check(value, field: name)
                out += value
            }
        }
        return out
    }

    // MARK: Elements

    private func drawText(_ e: TextElement, page: Int, of count: Int, tableEnd: Double?) throws {
        let s = try resolve(e.text, page: page, of: count)
        guard !s.isEmpty else { return }
        let y = e.anchor == .tableEnd ? (tableEnd ?? template.table?.bottom ?? 0) + e.y : e.y
        // The largest text on the page is its title.
        canvas.tagged(e.size >= 16 ? "H1" : "P") {
            canvas.setColor(0, 0, 0)
            guard let width = e.width else {
                canvas.text(s, x: e.x, y: y, points: e.size, align: e.align, letterSpacing: e.letterSpacing)
                return
            }
            let step = PDFCanvas.mm(points: e.size) * e.lineHeight
            for (i, line) in canvas.wrap(s, width: width, points: e.size).enumerated() {
                canvas.text(line, x: e.x, y: y + Double(i) * step, points: e.size, align: e.align, maxWidth: width)
            }
        }
    }

    /// The label column is a translucent tint (see `PDFCanvas.tint`), so the 地紋 shows through it.
    private func drawGrid(_ g: GridElement, page: Int, of count: Int) throws {
        let height = g.rowHeight * Double(g.rows.count)
        canvas.tint(g.x, g.y, g.labelWidth, height, shade: 0.07)
        let sizeMM = PDFCanvas.mm(points: g.size)
        try canvas.tagged("Table") {
            for (i, row) in g.rows.enumerated() {
                let top = g.y + Double(i) * g.rowHeight
                let baseline = top + g.rowHeight / 2 + sizeMM * 0.36
                canvas.beginTag("TR")
                canvas.setColor(0, 0, 0)
                let label = try resolve(row.label, page: page, of: count)
                canvas.tagged("TH") {
                    canvas.text(label, x: g.x + g.labelWidth / 2, y: baseline, points: g.size, align: .center,
                                maxWidth: g.labelWidth - 2)
                }
                let value = try resolve(row.value, page: page, of: count)
                let valueWidth = g.width - g.labelWidth - 4
                let vx: Double = switch g.valueAlign {
                case .left: g.x + g.labelWidth + 2
                case .center: g.x + g.labelWidth + 2 + valueWidth / 2
                case .right: g.x + g.width - 2
                }
                canvas.tagged("TD") {
                    canvas.text(value, x: vx, y: baseline, points: g.size, align: g.valueAlign, maxWidth: valueWidth)
                }
                canvas.endTag("TR")
                if i > 0 { canvas.line(g.x, top, g.x + g.width, top, points: 0.4) }
            }
        }
        canvas.line(g.x + g.labelWidth, g.y, g.x + g.labelWidth, g.y + height, points: 0.4)
        canvas.rect(g.x, g.y, g.width, height, stroke: 0.8, fill: nil)
    }

    /// Draws the page's rows and returns the y of the table's bottom edge (where anchored texts are measured
    /// from). On the last page the end mark (「以下余白」) follows directly under the last row.
    private func drawTable(_ t: TableElement, rows: [TableRow], isLastPage: Bool) throws -> Double {
        let sizeMM = PDFCanvas.mm(points: t.size)
        let height = t.headerHeight + t.rowHeight * Double(rows.count)
        canvas.tint(t.x, t.y, t.width, t.headerHeight, shade: 0.07)
        try canvas.tagged("Table") {
            var x = t.x
            canvas.setColor(0, 0, 0)
            canvas.beginTag("TR")
            for c in t.columns {
                canvas.tagged("TH") {
                    canvas.text(c.header, x: x + c.width / 2, y: t.y + t.headerHeight / 2 + sizeMM * 0.36, points: t.size,
                                align: .center, maxWidth: c.width - 2)
                }
                x += c.width
            }
            canvas.endTag("TR")
            for (i, pageRow) in rows.enumerated() {
                var row = pageRow
                if i == 0 && row.taxItem.isEmpty { row.taxItem = row.itemName }
                let top = t.y + t.headerHeight + Double(i) * t.rowHeight
                if row.isSubtotal { canvas.tint(t.x, top, t.width, t.rowHeight, shade: 0.04) }
                canvas.setColor(0, 0, 0)
                let baseline = top + t.rowHeight / 2 + sizeMM * 0.36
                var cx = t.x
                canvas.beginTag("TR")
                for c in t.columns {
                    let value = try resolve(c.value, page: 0, of: 0, row: row)
                    let tx: Double = switch c.align {
                    case .left: cx + 1.2
                    case .center: cx + c.width / 2
                    case .right: cx + c.width - 1.2
                    }
                    canvas.tagged("TD") {
                        canvas.text(value, x: tx, y: baseline, points: t.size, align: c.align, maxWidth: c.width - 2.4)
                    }
                    cx += c.width
                }
                canvas.endTag("TR")
                canvas.line(t.x, top, t.x + t.width, top, points: row.isSubtotal || i == 0 ? 0.6 : 0.25)
            }
        }
        var x = t.x
        for c in t.columns.dropLast() {
            x += c.width
            canvas.line(x, t.y, x, t.y + height, points: 0.4)
        }
        canvas.rect(t.x, t.y, t.width, height, stroke: 0.8, fill: nil)
        let end = t.y + height
        if isLastPage, let mark = t.endMark {
            canvas.tagged("P") {
                canvas.setColor(0, 0, 0)
                canvas.text(mark, x: t.x + 1.2, y: end + t.rowHeight / 2 + sizeMM * 0.36 + 0.6, points: t.size)
            }
        }
        return end
    }

    private func drawFrame() {
        canvas.rect(8, 8, pageWidthMM - 16, pageHeightMM - 16, stroke: 1.2, fill: nil)
        canvas.rect(9.2, 9.2, pageWidthMM - 18.4, pageHeightMM - 18.4, stroke: 0.3, fill: nil)
    }

    /// 地紋 (see `Ground`): one rectangle filled with the document's ground pattern inside the frame, then the
    /// microtext lines along the top and bottom. Drawn first, under everything, and untagged (decoration).
    private func drawGround(_ g: GroundElement, word: WordOutline, page: Int, of count: Int) throws {
        try canvas.ground(g, word: word, prebuilt: prebuiltGround)

        if !g.microtext.isEmpty {
            let unit = try resolve(g.microtext, page: page, of: count) + " "
            let unitWidth = canvas.width(of: unit, points: g.microtextSize)
            guard unitWidth > 0 else { return }
            let units = max(1, Int((pageWidthMM - 24) / unitWidth))
            canvas.setColor(0.35, 0.35, 0.45)
            canvas.repeatedText(unit, count: units, x: pageWidthMM / 2 - unitWidth * Double(units) / 2,
                                baselines: [12.2, pageHeightMM - 11.2], points: g.microtextSize)
        }
    }
}

/// How a 納税証明書's table rows spread over pages.
enum Pagination {
    /// Splits the table's rows over pages. Every page but the last may fill down to `bottomNotLast` (it has no
    /// closing statement, mayor or 公印); the last stops at `bottom`. A 計 line is never the first row of a
    /// page: the installment above it moves along with it.
    static func paginate(_ rows: [TableRow], table: TableElement) -> [[TableRow]] {
        let lastCapacity = table.rows(above: table.bottom)
        let capacity = table.rows(above: table.bottomNotLast)
        var pages: [[TableRow]] = []
        var start = 0
        while rows.count - start > lastCapacity {
            var take = min(capacity, rows.count - start - 1)
            if take > 1, rows[start + take].isSubtotal { take -= 1 }
            pages.append(Array(rows[start..<start + take]))
            start += take
        }
        pages.append(Array(rows[start...]))
        return pages
    }
}
