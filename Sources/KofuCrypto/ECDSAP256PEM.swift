import Foundation

extension ECDSAP256.PublicKey {
    /// The key as a PEM `PUBLIC KEY` block (SubjectPublicKeyInfo, RFC 7468 §13), which `openssl pkey -pubin`
    /// and other tools read, so a key can be handed to an auditor as a text file.
    public var pemRepresentation: String {
        let base64 = Array(Data(spkiDER).base64EncodedString().utf8)
        var lines: [String] = ["-----BEGIN PUBLIC KEY-----"]
        var i = 0
        while i < base64.count {
            lines.append(String(decoding: base64[i..<min(i + 64, base64.count)], as: UTF8.self))
            i += 64
        }
        lines.append("-----END PUBLIC KEY-----")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Reads a PEM `PUBLIC KEY` block; throws unless it holds a P-256 key.
    public init(pem: String) throws {
        let lines = pem.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let begin = lines.firstIndex(of: "-----BEGIN PUBLIC KEY-----"),
              let end = lines[begin...].firstIndex(of: "-----END PUBLIC KEY-----"),
              let der = Data(base64Encoded: lines[(begin + 1)..<end].joined()) else {
            throw ECDSAP256.Error.invalidPublicKeyDER
        }
        try self.init(spkiDER: [UInt8](der))
    }
}
