import Foundation
import HTTPTypes
import Hummingbird
import KofuCrypto
import KofuDomain
import KofuRendering
import KofuSeal
import KofuStorage

/// Public verification of a printed seal (`docs/seal.md` §8): a page for people (`/verify`, a form that posts
/// the seal so it never lands in an access log), JSON for programs (`POST /verify/api/v1`), and the published,
/// signed keyring (`/verify/keys.json` and its detached signature `/verify/keys.json.sig`; the unsigned copy at
/// `/.well-known/kofu/seal-keys.json` stays for KF1-era verifiers). It checks the seal offline, then the ledger,
/// and never shows more than the paper prints.
struct VerificationController: Sendable {
    /// The keys in force, read per request so a rotation shows without a restart.
    let keys: SealKeys
    let ledger: LedgerStore
    let clock: any KofuClock
    let pages: VerifyPages
    /// The municipality as the paper prints it (name beside the code on the page).
    let municipality: Municipality
    /// The municipality's wording: the labels and tax item names as its certificates print them.
    let wording: Wording

    /// The largest seal text accepted (a KF2 seal of the largest certificate is about 350 characters).
    static let maxSealLength = 2048

    func addRoutes(to router: Router<KofuRequestContext>) {
        router.get(".well-known/kofu/seal-keys.json") { _, _ in keyringResponse() }
        router.get("verify/keys.json") { _, _ in keyringResponse() }
        router.get("verify/keys.json.sig") { _, _ in
            let signature = try KeyringSignature.sign(keys.keyring.json(), with: keys.signer)
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"],
                            body: .init(byteBuffer: ByteBuffer(bytes: signature.json())))
        }
        router.get("verify") { request, _ in
            // A seal in the query string would be logged by every proxy on the way: it is never read or shown.
            let refused = request.uri.query.map { !$0.isEmpty } ?? false
            return pages.render(VerifyPageView(municipality: municipality, wording: wording, result: nil, queryRefused: refused),
                                status: refused ? .badRequest : .ok)
        }
        router.post("verify") { request, context in
            let body = try await request.body.collect(upTo: RequestBodyPolicy.staffLimit)
            let form = FormFields(String(buffer: body))
            let result = try await check(form.first("seal") ?? "")
            return pages.render(VerifyPageView(municipality: municipality, wording: wording, result: result, queryRefused: false), status: .ok)
        }
        router.get("verify.json") { _, _ in
            KioskJSON.error(.gone, code: "USE_POST", message: "POST /verify/api/v1 に {\"seal\": \"KF2:…\"} を送ってください")
        }
        router.post("verify/api/v1") { request, _ in
            let body = try await request.body.collect(upTo: RequestBodyPolicy.staffLimit)
            guard let object = try? JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any],
                  let seal = object["seal"] as? String else {
                return KioskJSON.error(.badRequest, code: "INVALID_REQUEST", message: "seal: 文字列で指定してください")
            }
            let result = try await check(seal)
            return KioskJSON.response(.ok, VerifyAPIAnswer(result, municipality: municipality, wording: wording))
        }
    }

    private func keyringResponse() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "max-age=300"],
                 body: .init(byteBuffer: ByteBuffer(bytes: keys.keyring.json())))
    }

    /// The offline check, then (for a genuine seal) the ledger and the seal registry.
    func check(_ raw: String) async throws -> VerifyResult {
        let text = SealText.trimmingLineEnd(raw.trimmingCharacters(in: .whitespacesAndNewlines.subtracting(.init(charactersIn: " "))))
        guard !text.isEmpty, text.utf8.count <= Self.maxSealLength else {
            return VerifyResult(status: .malformed, offline: .malformed, payload: nil, keyID: nil, standing: nil)
        }
        let now = clock.now()
        let v = keys.verifier.verify(text, at: JapanTime.localDate(now), now: now)
        let keyID = v.payload.map { Hex.encode($0.keyID) }
        guard v.isValid, let p = v.payload else {
            return VerifyResult(status: VerifyStatus(offline: v.outcome), offline: v.outcome, payload: nil, keyID: keyID,
                                standing: nil, detail: v.implausibility?.rawValue ?? (v.highS ? "high_s" : nil))
        }
        guard let standing = try await ledger.sealStanding(p.certificateNumber), standing.kind == p.kind.rawValue else {
            return VerifyResult(status: .unknownNumber, offline: v.outcome, payload: nil, keyID: keyID, standing: nil)
        }
        // A KF2 seal must be the one registered for its number (its content digest, and every byte it signs, so
        // that figures in clear cannot be changed around the original digest); KF1 seals predate the registry.
        if let digest = p.contentDigest {
            let payloadDigest = (try? SealText.split(text)).map { Hex.encode(SHA256.hash($0.payload)) }
            guard let registered = standing.seal, registered.contentDigest == Hex.encode(digest),
                  registered.payloadDigest == payloadDigest else {
                return VerifyResult(status: .contentMismatch, offline: v.outcome, payload: nil, keyID: keyID, standing: standing)
            }
        } else if standing.seal != nil {
            // A KF1 seal for a number that was issued with a KF2 seal can only be a downgrade.
            return VerifyResult(status: .contentMismatch, offline: v.outcome, payload: nil, keyID: keyID, standing: standing)
        }
        let status: VerifyStatus
        switch standing.numberStatus {
        case .void: status = .void
        case .superseded: status = .superseded
        case .issued: status = standing.issuanceStatus == .delivered ? .genuine : .notDelivered
        }
        return VerifyResult(status: status, offline: v.outcome, payload: p, keyID: keyID, standing: standing)
    }
}

/// What `/verify` concluded, in the order a reader needs it.
enum VerifyStatus: String, Sendable {
    /// Signature valid, registered, delivered.
    case genuine = "valid_delivered"
    /// Signature valid and registered, but the kiosk has not confirmed printing (or the counter not handed it over).
    case notDelivered = "not_delivered"
    case void
    case superseded
    case keyRevoked = "key_revoked"
    case keyExpired = "key_expired"
    case keyNotYetValid = "key_not_yet_valid"
    case unknownKey = "unknown_key"
    case badSignature = "bad_signature"
    case otherMunicipality = "other_municipality"
    case implausible
    case malformed
    /// Signature valid, but the ledger has no such number (or of another kind).
    case unknownNumber = "unknown_number"
    /// Signature valid, but its content digest is not the one recorded for the number at issuance.
    case contentMismatch = "content_mismatch"

    init(offline: SealVerification.Outcome) {
        switch offline {
        case .valid: self = .genuine
        case .malformed: self = .malformed
        case .unknownKey: self = .unknownKey
        case .keyExpired: self = .keyExpired
        case .keyNotYetValid: self = .keyNotYetValid
        case .badSignature: self = .badSignature
        case .otherMunicipality: self = .otherMunicipality
        case .keyRevoked: self = .keyRevoked
        case .implausible: self = .implausible
        }
    }

    /// The headline, in plain Japanese.
    var headline: String {
        switch self {
        case .genuine: "真正・交付済み"
        case .notDelivered: "未交付"
        case .void: "無効（取消）"
        case .superseded: "再交付により失効"
        case .keyRevoked: "失効した鍵"
        case .keyExpired: "有効期限切れの鍵"
        case .keyNotYetValid: "有効期間前の鍵"
        case .unknownKey: "確認できない鍵"
        case .badSignature: "改ざんの疑い"
        case .otherMunicipality: "他の自治体の証明書"
        case .implausible: "内容の誤り"
        case .malformed: "形式エラー"
        case .unknownNumber: "交付記録なし"
        case .contentMismatch: "記録と不一致"
        }
    }

    /// What the reader should do or know.
    var explanation: String {
        switch self {
        case .genuine:
            "電子署名が正しく、交付記録と一致し、交付済みです。下の内容が証明書の印字と同じであることを確認してください。"
        case .notDelivered:
            "電子署名は正しいですが、交付（印刷の完了）が確認されていません。交付を受けた証明書ではない可能性があります。"
        case .void:
            "この証明書番号は取り消されています（印刷の中止・期限切れなど）。この証明書は使えません。"
        case .superseded:
            "この証明書は窓口で再交付され、新しい証明書に置き換えられています。新しい証明書の提出を求めてください。"
        case .keyRevoked:
            "署名に使われた鍵は失効しています。この証明書は確認できません。発行した市区町村にお問い合わせください。"
        case .keyExpired:
            "署名に使われた鍵の有効期限が過ぎています。この証明書は確認できません。"
        case .keyNotYetValid:
            "署名に使われた鍵はまだ有効期間前です。この証明書は確認できません。"
        case .unknownKey:
            "署名に使われた鍵が公開鍵一覧にありません。この証明書は確認できません。"
        case .badSignature:
            "電子署名が内容と一致しません。内容が書き換えられている可能性があります。"
        case .otherMunicipality:
            "他の市区町村が発行した証明書です。発行した市区町村の確認ページで確認してください。"
        case .implausible:
            "署名された内容に誤り（未来の日付、負の金額など）があります。この証明書は確認できません。"
        case .malformed:
            "入力された文字列は証明書の二次元コードとして読み取れません。読み取り直すか、入力内容を確認してください。"
        case .unknownNumber:
            "この証明書番号の交付記録がありません。発行した市区町村にお問い合わせください。"
        case .contentMismatch:
            "電子署名はありますが、交付時に記録された内容と一致しません。偽造の疑いがあります。"
        }
    }

    /// Whether the certificate can be relied on.
    var isGenuine: Bool { self == .genuine }
    /// Whether the signed content may be shown (a genuine signature whose number is known and matches).
    var showsContent: Bool { [.genuine, .notDelivered, .void, .superseded].contains(self) }
}

/// One check's result.
struct VerifyResult: Sendable {
    var status: VerifyStatus
    var offline: SealVerification.Outcome
    /// The signed content, only when it may be shown.
    var payload: SealPayload?
    var keyID: String?
    var standing: SealStanding?
    var detail: String? = nil
}

/// HTML escaping for the few pages still written by hand (the operator charts use it).
enum VerificationPage {
    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
