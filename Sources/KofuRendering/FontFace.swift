import CCairo
import Foundation
import Synchronization

/// One FreeType library + face wrapped in a cairo font face. A FreeType face must not be used by two
/// threads at once, so each render borrows one instance exclusively from a `FontPool`.
final class FontInstance: @unchecked Sendable {
    // Safety: only the render that borrowed this instance from the pool touches it (see FontPool).
    let cairoFace: OpaquePointer

    init(path: String) throws {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw TemplateError.unreadableFont(file: path) }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face else {
            FT_Done_FreeType(library)
            throw TemplateError.unreadableFont(file: path)
        }
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

    /// Every Unicode scalar the font maps to a glyph (its cmap), read once at start-up.
    static func coverage(path: String) throws -> Set<UInt32> {
        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw TemplateError.unreadableFont(file: path) }
        defer { FT_Done_FreeType(library) }
        var face: FT_Face?
        guard FT_New_Face(library, path, 0, &face) == 0, let face else { throw TemplateError.unreadableFont(file: path) }
        defer { FT_Done_Face(face) }
        guard FT_Select_Charmap(face, FT_ENCODING_UNICODE) == 0 else { throw TemplateError.unreadableFont(file: path) }
        var set = Set<UInt32>()
        set.reserveCapacity(Int(face.pointee.num_glyphs))
        var index: FT_UInt = 0
        var code = FT_Get_First_Char(face, &index)
        while index != 0 {
            set.insert(UInt32(code))
            code = FT_Get_Next_Char(face, code, &index)
        }
        return set
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

/// A lock-protected free list of font instances. A render takes one (creating it if all are busy) and gives
/// it back when done, so no FreeType face is ever used by two threads at once while renders run in parallel.
final class FontPool: Sendable {
    private let path: String
    private let idle: Mutex<[FontInstance]>
    /// Idle instances kept for reuse; more may exist while many renders run, and are released afterwards.
    private let keep: Int

    init(path: String, keep: Int = max(2, ProcessInfo.processInfo.activeProcessorCount * 2)) throws {
        self.path = path
        self.keep = keep
        idle = Mutex([try FontInstance(path: path)])
    }

    func withInstance<T>(_ body: (FontInstance) throws -> T) throws -> T {
        let instance = try idle.withLock { $0.popLast() } ?? FontInstance(path: path)
        defer { idle.withLock { if $0.count < keep { $0.append(instance) } } }
        return try body(instance)
    }
}
