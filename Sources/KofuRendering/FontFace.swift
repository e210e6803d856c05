import CCairo
import Foundation
import Synchronization

/// One FreeType library + face wrapped in a cairo font face. A FreeType face must not be used by two
/// threads at once, so each render borrows one instance exclusively from a `Pool`.
final class FontInstance: @unchecked Sendable {
    // Safety: only the render that borrowed this instance from the pool touches it (see Pool).
    let cairoFace: OpaquePointer

    init(path: String) throws {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw TemplateError.unreadableFont(file: path) }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face else {
            FT_Done_FreeType(library)
            throw TemplateError.unreadableFont(file: path)
        }
        // Kofu maps text to glyphs itself (`GlyphMap`), so cairo never needs this face's charmap. Without one,
        // cairo 1.16's per-document reverse lookup of each new glyph's character (which otherwise scans the
        // font's format 4 cmap, or walks the whole active charmap when the font has none) ends at once; the
        // text passed to cairo_show_text_glyphs supplies the PDF's ToUnicode mapping instead.
        face.pointee.charmap = nil
        guard let cf = cairo_ft_font_face_create_for_ft_face(face, 0) else {
            FT_Done_Face(face); FT_Done_FreeType(library)
            throw TemplateError.unreadableFont(file: path)
        }
        // cairo may keep the font face alive in its caches after we release it; the FreeType face and library
        // are released by cairo's destroy callback, when cairo drops its last reference.
        let status = cairo_font_face_set_user_data(cf, fontFaceKey.pointer, UnsafeMutableRawPointer(face)) { raw in
            guard let raw else { return }
            let face = raw.assumingMemoryBound(to: FT_FaceRec.self)
            let library = face.pointee.glyph.pointee.library
            FT_Done_Face(face)
            FT_Done_FreeType(library)
        }
        guard status == CAIRO_STATUS_SUCCESS else {
            cairo_font_face_destroy(cf); FT_Done_Face(face); FT_Done_FreeType(library)
            throw TemplateError.unreadableFont(file: path)
        }
        cairoFace = cf
    }

    deinit { cairo_font_face_destroy(cairoFace) }
}

/// The font's Unicode → glyph mapping and advance widths, read once at start-up and shared by every render.
///
/// Text is drawn with `cairo_show_text_glyphs` from this table rather than with `cairo_show_text`, which keeps
/// the FreeType faces cairo uses free of a charmap (see `FontInstance`) and spares cairo's own UTF-8 → glyph
/// conversion and text extents on every string.
struct GlyphMap: Sendable {
    struct Glyph: Sendable {
        let index: UInt32
        /// Horizontal advance in ems (unhinted, as cairo computes it with hint metrics off).
        let advance: Double
    }

    private let glyphs: [UInt32: Glyph]
    /// The Basic Multilingual Plane as a flat table (1 MB), so the common lookup is an index, not a hash.
    private let bmp: [Glyph]
    /// `.notdef`, drawn for a scalar the font lacks (never on a certificate: 外字 are refused before drawing).
    let missing: Glyph

    init(path: String) throws {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw TemplateError.unreadableFont(file: path) }
        defer { FT_Done_FreeType(library) }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face else { throw TemplateError.unreadableFont(file: path) }
        defer { FT_Done_Face(face) }
        guard FT_Select_Charmap(face, FT_ENCODING_UNICODE) == 0 else { throw TemplateError.unreadableFont(file: path) }
        let unitsPerEm = Double(face.pointee.units_per_EM)
        guard unitsPerEm > 0 else { throw TemplateError.unreadableFont(file: path) }
        func advance(_ index: FT_UInt) -> Double {
            var units: FT_Fixed = 0
            guard FT_Get_Advance(face, index, FT_Int32(FT_LOAD_NO_SCALE), &units) == 0 else { return 0 }
            return Double(units) / unitsPerEm
        }
        var map = [UInt32: Glyph]()
        map.reserveCapacity(Int(face.pointee.num_glyphs))
        var index: FT_UInt = 0
        var code = FT_Get_First_Char(face, &index)
        while index != 0 {
            map[UInt32(code)] = Glyph(index: UInt32(index), advance: advance(index))
            code = FT_Get_Next_Char(face, code, &index)
        }
        glyphs = map
        let notdef = Glyph(index: 0, advance: advance(0))
        missing = notdef
        var table = [Glyph](repeating: notdef, count: 0x10000)
        for (code, glyph) in map where code < 0x10000 { table[Int(code)] = glyph }
        bmp = table
    }

    /// Every Unicode scalar the font maps to a glyph (its cmap).
    var coverage: Set<UInt32> { Set(glyphs.keys) }

    /// Whether the font draws `scalar` (the same answer as `coverage.contains`, without hashing).
    func covers(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x10000 ? bmp[Int(scalar.value)].index != 0 : glyphs[scalar.value] != nil
    }

    subscript(scalar: Unicode.Scalar) -> Glyph {
        scalar.value < 0x10000 ? bmp[Int(scalar.value)] : glyphs[scalar.value] ?? missing
    }

    /// The advance of `text` in ems.
    func advance(of text: String) -> Double {
        var sum = 0.0
        for scalar in text.unicodeScalars { sum += self[scalar].advance }
        return sum
    }
}

/// The key for cairo user data: only its address matters, it is allocated once and never written.
private final class UserDataKey: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<cairo_user_data_key_t> = {
        let p = UnsafeMutablePointer<cairo_user_data_key_t>.allocate(capacity: 1)
        p.initialize(to: cairo_user_data_key_t(unused: 0))
        return p
    }()
}

private let fontFaceKey = UserDataKey()

/// A lock-protected free list of per-render resources (FreeType font instances, deflate states). A render takes
/// one (creating it if all are busy) and gives it back when done, so none is ever used by two threads at once
/// while renders run in parallel.
final class Pool<Item: Sendable>: Sendable {
    private let make: @Sendable () throws -> Item
    private let idle: Mutex<[Item]>
    /// Idle items kept for reuse; more may exist while many renders run, and are released afterwards.
    private let keep: Int

    init(keep: Int = max(2, ProcessInfo.processInfo.activeProcessorCount * 2), make: @escaping @Sendable () throws -> Item) throws {
        self.make = make
        self.keep = keep
        idle = Mutex([try make()])
    }

    func with<T>(_ body: (Item) throws -> T) throws -> T {
        let item = try idle.withLock { $0.popLast() } ?? make()
        defer { idle.withLock { if $0.count < keep { $0.append(item) } } }
        return try body(item)
    }
}
