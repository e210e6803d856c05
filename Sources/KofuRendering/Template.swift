import KofuDomain

/// Millimetres on an A4 page, origin at the top left.
let pageWidthMM = 210.0
let pageHeightMM = 297.0

/// A text with `{field}` placeholders, parsed and checked at load time.
struct TextTemplate: Sendable {
    enum Piece: Sendable {
        case literal(String)
        case field(name: String, Field)
    }
    var pieces: [Piece]
    var isEmpty: Bool { pieces.isEmpty }
}

/// Which pages of a certificate an element appears on.
enum PageSelection: String, Sendable {
    case all, first, last
    /// Every page but the last (e.g. 「次頁に続く」).
    case notLast = "not_last"

    func includes(page: Int, of count: Int) -> Bool {
        switch self {
        case .all: true
        case .first: page == 1
        case .last: page == count
        case .notLast: page < count
        }
    }
}

enum Alignment: String, Sendable { case left, center, right }

/// A positioned line (or wrapped paragraph) of text. `y` is the baseline of the first line.
struct TextElement: Sendable {
    var text: TextTemplate
    var x: Double
    var y: Double
    /// Font size in points.
    var size: Double
    var align: Alignment
    /// When set, the text wraps within this width (kinsoku rules applied).
    var width: Double?
    var lineHeight: Double
    var pages: PageSelection
    var letterSpacing: Double
    /// Printed only when this holds for the certificate (`when:`; see Wording.swift).
    var when: Condition? = nil
    /// With `.tableEnd`, `y` is measured from the bottom of the table as drawn on that page (the 合計 line
    /// directly under the table, 「次頁に続く」 under a continued one), not from the top of the page.
    var anchor: TextAnchor = .page
}

/// What a text element's `y` is measured from.
enum TextAnchor: String, Sendable {
    case page
    case tableEnd = "table_end"
}

/// A label/value grid with ruled cells (宛名 block, income figures, vehicle details).
struct GridElement: Sendable {
    struct Row: Sendable { var label: TextTemplate; var value: TextTemplate }
    var x: Double
    var y: Double
    var width: Double
    var labelWidth: Double
    var rowHeight: Double
    var size: Double
    var rows: [Row]
    var pages: PageSelection
    var valueAlign: Alignment
    /// Printed only when this holds for the certificate (`when:`; see Wording.swift).
    var when: Condition? = nil
}

/// The paginated table of a 納税証明書.
struct TableElement: Sendable {
    struct Column: Sendable { var header: String; var value: TextTemplate; var width: Double; var align: Alignment }
    var x: Double
    var y: Double
    /// The lowest y a row may reach on the last page; rows beyond it go to the next page.
    var bottom: Double
    /// The lowest y a row may reach on a page that continues (the closing statement, mayor and 公印 are on the
    /// last page only, so the others have room for more rows). `bottom` when not set.
    var bottomNotLast: Double
    var rowHeight: Double
    var headerHeight: Double
    var size: Double
    var columns: [Column]
    var subtotalLabel: String
    /// Printed under the last row of the last page (「以下余白」), so nothing can be added after it.
    var endMark: String?
    var width: Double { columns.reduce(0) { $0 + $1.width } }
    /// Rows that fit on a page above `limit`.
    func rows(above limit: Double) -> Int { max(1, Int(((limit - y - headerHeight) / rowHeight + 1e-9).rounded(.down))) }
}

/// The 公印 image: its left edge, top, width (height follows the image's aspect ratio).
struct SealElement: Sendable { var x: Double; var y: Double; var width: Double; var pages: PageSelection }

/// The QR code: its top-left corner (including the 4-module quiet zone) and its width.
struct QRElement: Sendable { var x: Double; var y: Double; var size: Double }

/// 地紋: the anti-copy ground pattern with its hidden warning word, and the microtext lines.
struct GroundElement: Sendable {
    var warning: String
    var warningSize: Double
    var microtext: TextTemplate
    var microtextSize: Double
    /// The dots' ink, as a grey level (0 black – 1 white): dark, so the coarse dots survive a copy.
    var gray: Double
}

/// One certificate kind's layout, loaded from `Templates/<kind>.yaml`.
struct Template: Sendable {
    var kind: CertificateKind
    var file: String
    var texts: [TextElement]
    var grids: [GridElement]
    var table: TableElement?
    var seal: SealElement
    var qr: QRElement
    var ground: GroundElement?
    var frame: Bool
}

extension Template {
    /// Every character the template prints as it stands (its literal text, headers, labels, end mark): the
    /// characters of the kind's prebuilt font subset (`PrebuiltFont`).
    var literalScalars: Set<Unicode.Scalar> {
        var out = Set<Unicode.Scalar>()
        func add(_ t: TextTemplate) {
            for case .literal(let s) in t.pieces { out.formUnion(s.unicodeScalars) }
        }
        for e in texts { add(e.text) }
        for g in grids { for r in g.rows { add(r.label); add(r.value) } }
        if let t = table {
            for c in t.columns { out.formUnion(c.header.unicodeScalars); add(c.value) }
            out.formUnion(t.subtotalLabel.unicodeScalars)
            if let m = t.endMark { out.formUnion(m.unicodeScalars) }
        }
        if let g = ground { add(g.microtext) }
        return out
    }
}
