import Foundation
@testable import KofuRendering
import Testing

/// The QR symbol with the mask chosen by Kofu (`QRSymbol`) is module for module the one libqrencode's own
/// `QRcode_encodeString` makes: same version, same mask, same format information.
@Suite("QR symbol")
struct QRSymbolTests {
    @Test("Kofu's mask choice gives libqrencode's symbol, over 400 texts of every length a seal can have")
    func sameAsLibrary() throws {
        #expect(QRSymbol.choosesMask, "libqrencode's unmasked-symbol entry points were not found")
        var generator = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
        var masks = Set<Int>()
        for i in 0..<400 {
            let length = i < 20 ? i + 1 : Int.random(in: 1...600, using: &generator)
            var text = String((0..<length).map { _ in alphabet.randomElement(using: &generator)! })
            if i % 10 == 9 { text += "kofu://verify?日本" }   // byte and kanji segments as well
            let ours = try QRSymbol.encode(text)
            let theirs = try QRSymbol.libraryEncode(text)
            #expect(ours == theirs, "text of \(text.count) characters: \(text)")
            masks.insert(Self.mask(of: ours))
        }
        // Not one mask always: the scoring decides (all eight turn up over this many texts).
        #expect(masks.count >= 6, "masks chosen: \(masks.sorted())")
    }

    /// The mask a symbol carries, read from its format information beside the top-left finder.
    static func mask(of s: QRSymbol.Modules) -> Int {
        var bits = 0
        for i in 0..<8 { bits |= Int(s.dark[s.width * 8 + s.width - 1 - i]) << i }
        for i in 0..<7 { bits |= Int(s.dark[s.width * (s.width - 7 + i) + 8]) << (8 + i) }
        return ((bits ^ 0x5412) >> 10) & 0b111
    }
}
