import CCairo
import Foundation
import KofuDomain

/// Draws one certificate (one or more pages) onto a canvas.
struct CertificatePage {
    let template: Template
    let certificate: Certificate
    let qrText: String
    let canvas: PDFCanvas
    let coverage: Set<UInt32>
    let seal: (surface: OpaquePointer, pixelWidth: Int, ink: (red: Double, green: Double, blue: Double))

    /// Draws every page and returns how many there were.
    func draw() throws -> Int {
        try checkPrintable()
        let rows = template.table.map { FieldCatalogue.taxPaymentRows(certificate, subtotalLabel: $0.subtotalLabel) } ?? []
        let perPage = template.table?.rowsPerPage ?? 1
        let pageCount = template.table == nil ? 1 : max(1, (rows.count + perPage - 1) / perPage)
        for page in 1...pageCount {
            if let ground = template.ground { try drawGround(ground, page: page, of: pageCount) }
            if template.frame { drawFrame() }
            for element in template.texts where element.pages.includes(page: page, of: pageCount) {
                try drawText(element, page: page, of: pageCount)
            }
            for grid in template.grids where grid.pages.includes(page: page, of: pageCount) {
                try drawGrid(grid, page: page, of: pageCount)
            }
            if let table = template.table {
                let start = (page - 1) * perPage
                try drawTable(table, rows: Array(rows[min(start, rows.count)..<min(start + perPage, rows.count)]))
            }
            if template.seal.pages.includes(page: page, of: pageCount) {
                canvas.stamp(seal.surface, pixelWidth: seal.pixelWidth, ink: seal.ink, x: template.seal.x,
                             y: template.seal.y, width: template.seal.width)
            }
            try canvas.qr(qrText, x: template.qr.x, y: template.qr.y, size: template.qr.size)
            try canvas.check()
            canvas.showPage()
        }
        return pageCount
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
        for scalar in value.unicodeScalars where !coverage.contains(scalar.value) {
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
                case .certificate(let f): f(certificate)
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

    private func drawText(_ e: TextElement, page: Int, of count: Int) throws {
        let s = try resolve(e.text, page: page, of: count)
        canvas.setColor(0, 0, 0)
        guard let width = e.width else {
            canvas.text(s, x: e.x, y: e.y, points: e.size, align: e.align, letterSpacing: e.letterSpacing)
            return
        }
        let step = PDFCanvas.mm(points: e.size) * e.lineHeight
        for (i, line) in canvas.wrap(s, width: width, points: e.size).enumerated() {
            canvas.text(line, x: e.x, y: e.y + Double(i) * step, points: e.size, align: e.align, maxWidth: width)
        }
    }

    private func drawGrid(_ g: GridElement, page: Int, of count: Int) throws {
        let height = g.rowHeight * Double(g.rows.count)
        canvas.rect(g.x, g.y, g.labelWidth, height, fill: (0.93, 0.93, 0.93))
        let sizeMM = PDFCanvas.mm(points: g.size)
        for (i, row) in g.rows.enumerated() {
            let top = g.y + Double(i) * g.rowHeight
            let baseline = top + g.rowHeight / 2 + sizeMM * 0.36
            canvas.setColor(0, 0, 0)
            let label = try resolve(row.label, page: page, of: count)
            canvas.text(label, x: g.x + g.labelWidth / 2, y: baseline, points: g.size, align: .center, maxWidth: g.labelWidth - 2)
            let value = try resolve(row.value, page: page, of: count)
            let valueWidth = g.width - g.labelWidth - 4
            let vx: Double = switch g.valueAlign {
            case .left: g.x + g.labelWidth + 2
            case .center: g.x + g.labelWidth + 2 + valueWidth / 2
            case .right: g.x + g.width - 2
            }
            canvas.text(value, x: vx, y: baseline, points: g.size, align: g.valueAlign, maxWidth: valueWidth)
            if i > 0 { canvas.line(g.x, top, g.x + g.width, top, points: 0.4) }
        }
        canvas.line(g.x + g.labelWidth, g.y, g.x + g.labelWidth, g.y + height, points: 0.4)
        canvas.rect(g.x, g.y, g.width, height, stroke: 0.8)
    }

    private func drawTable(_ t: TableElement, rows: [TableRow]) throws {
        let sizeMM = PDFCanvas.mm(points: t.size)
        let height = t.headerHeight + t.rowHeight * Double(rows.count)
        canvas.rect(t.x, t.y, t.width, t.headerHeight, fill: (0.93, 0.93, 0.93))
        var x = t.x
        canvas.setColor(0, 0, 0)
        for c in t.columns {
            canvas.text(c.header, x: x + c.width / 2, y: t.y + t.headerHeight / 2 + sizeMM * 0.36, points: t.size,
                        align: .center, maxWidth: c.width - 2)
            x += c.width
        }
        for (i, pageRow) in rows.enumerated() {
            var row = pageRow
            if i == 0 && row.taxItem.isEmpty { row.taxItem = row.itemName }
            let top = t.y + t.headerHeight + Double(i) * t.rowHeight
            if row.isSubtotal { canvas.rect(t.x, top, t.width, t.rowHeight, fill: (0.96, 0.96, 0.96)) }
            canvas.setColor(0, 0, 0)
            let baseline = top + t.rowHeight / 2 + sizeMM * 0.36
            var cx = t.x
            for c in t.columns {
                let value = try resolve(c.value, page: 0, of: 0, row: row)
                let tx: Double = switch c.align {
                case .left: cx + 1.2
                case .center: cx + c.width / 2
                case .right: cx + c.width - 1.2
                }
                canvas.text(value, x: tx, y: baseline, points: t.size, align: c.align, maxWidth: c.width - 2.4)
                cx += c.width
            }
            canvas.line(t.x, top, t.x + t.width, top, points: row.isSubtotal || i == 0 ? 0.6 : 0.25)
        }
        x = t.x
        for c in t.columns.dropLast() {
            x += c.width
            canvas.line(x, t.y, x, t.y + height, points: 0.4)
        }
        canvas.rect(t.x, t.y, t.width, height, stroke: 0.8)
    }

    private func drawFrame() {
        canvas.rect(8, 8, pageWidthMM - 16, pageHeightMM - 16, stroke: 1.2)
        canvas.rect(9.2, 9.2, pageWidthMM - 18.4, pageHeightMM - 18.4, stroke: 0.3)
    }

    /// 地紋: fine dots over the whole page, and inside the outline of the warning word (「複写」) coarser dots of
    /// the same average tone. On the original the word is barely visible; a copier drops the fine dots and keeps
    /// the coarse ones, so the word stands out on a copy. The microtext lines run along the top and bottom.
    private func drawGround(_ g: GroundElement, page: Int, of count: Int) throws {
        let cr = canvas.cr
        let tint = (g.gray - 0.06, g.gray - 0.01, min(1, g.gray + 0.06))
        let fine = dotPattern(pitch: 0.5, radius: 0.09, tint: tint)
        let coarse = dotPattern(pitch: 1.0, radius: 0.18, tint: tint, paper: true)
        defer { cairo_pattern_destroy(fine); cairo_pattern_destroy(coarse) }

        cairo_save(cr)
        cairo_rectangle(cr, 10, 10, pageWidthMM - 20, pageHeightMM - 20)
        cairo_clip(cr)
        cairo_set_source(cr, fine)
        cairo_paint(cr)
        // The word, twice diagonally over the page, as glyphs filled with the coarse dots on white: a few text
        // operators in the PDF rather than the outlines as a clipping path (10 KB of coordinates per page).
        canvas.setFont(points: g.warningSize)
        let wordWidth = canvas.width(of: g.warning)
        let sizeMM = PDFCanvas.mm(points: g.warningSize)
        // Both copies in one call (one pattern resource): in the frame rotated about the page origin, a centre
        // (x, y) of the page lies at R(+angle)·(x, y).
        let angle = -Double.pi / 7
        cairo_set_source(cr, coarse)
        cairo_rotate(cr, angle)
        let origins = [(pageWidthMM / 2, 95.0), (pageWidthMM / 2, 215.0)].map { x, y in
            (x * cos(angle) + y * sin(angle) - wordWidth / 2, -x * sin(angle) + y * cos(angle) + sizeMM * 0.36)
        }
        canvas.glyphsOnly(g.warning, at: origins)
        cairo_restore(cr)

        if !g.microtext.isEmpty {
            let unit = try resolve(g.microtext, page: page, of: count) + " "
            canvas.setFont(points: g.microtextSize)
            let unitWidth = canvas.width(of: unit)
            guard unitWidth > 0 else { return }
            let units = max(1, Int((pageWidthMM - 24) / unitWidth))
            canvas.setColor(0.35, 0.35, 0.45)
            canvas.repeatedText(unit, count: units, x: pageWidthMM / 2 - unitWidth * Double(units) / 2,
                                baselines: [12.2, pageHeightMM - 11.2], points: g.microtextSize)
        }
    }

    /// A repeating tile with one dot, as a vector pattern (PDF tiling pattern).
    /// With `paper`, the tile is white around the dot, so the pattern hides what lies under it.
    private func dotPattern(pitch: Double, radius: Double, tint: (Double, Double, Double),
                            paper: Bool = false) -> OpaquePointer {
        var extents = cairo_rectangle_t(x: 0, y: 0, width: pitch, height: pitch)
        let tile = cairo_recording_surface_create(paper ? CAIRO_CONTENT_COLOR : CAIRO_CONTENT_COLOR_ALPHA, &extents)
        let tcr = cairo_create(tile)
        if paper {
            cairo_set_source_rgb(tcr, 1, 1, 1)
            cairo_paint(tcr)
        }
        cairo_set_source_rgb(tcr, tint.0, tint.1, tint.2)
        cairo_arc(tcr, pitch / 2, pitch / 2, radius, 0, 2 * Double.pi)
        cairo_fill(tcr)
        cairo_destroy(tcr)
        let pattern = cairo_pattern_create_for_surface(tile)!
        cairo_surface_destroy(tile)
        cairo_pattern_set_extend(pattern, CAIRO_EXTEND_REPEAT)
        return pattern
    }
}
