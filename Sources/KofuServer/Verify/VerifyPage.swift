import Foundation
import HTTPTypes
import Hummingbird
import KofuDomain
import KofuRendering
import KofuSeal
import Mustache

/// The `/verify` templates (`<paths.templates>/verify/*.mustache`), read once at start; a missing or broken one
/// stops the start, naming the file.
struct VerifyPages: Sendable {
    static let required = ["page"]
    let library: MustacheLibrary

    init(directory: String) throws {
        var templates: [String: MustacheTemplate] = [:]
        for name in Self.required {
            let path = (directory as NSString).appendingPathComponent(name + ".mustache")
            guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
                throw StaffTemplateError.missing(path)
            }
            do { templates[name] = try MustacheTemplate(string: text) } catch let error as MustacheTemplate.ParserError {
                throw StaffTemplateError.invalid(file: path, line: error.context.lineNumber, column: error.context.columnNumber,
                                                 problem: "\(error.error)")
            }
        }
        library = MustacheLibrary(templates: templates)
    }

    func render(_ view: VerifyPageView, status: HTTPResponse.Status) -> Response {
        let html = library.render(view, withTemplate: "page") ?? ""
        return Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
            HTTPField.Name("Referrer-Policy")!: "no-referrer",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// One printed line: the label and the value as the paper prints them (和暦, 円 with separators).
struct PrintedRow: Sendable, Encodable {
    var label: String
    var value: String
}

/// One tax item line of a 納税証明書 as printed.
struct PrintedTaxLine: Sendable, Encodable {
    var item: String
    var assessed: String
    var paid: String
    var unpaid: String
}

/// What the paper prints, from a verified seal, in its own words.
struct PrintedContent: Sendable {
    var title: String
    var rows: [PrintedRow]
    var taxLines: [PrintedTaxLine]

    init(_ p: SealPayload, municipality: Municipality, wording: Wording) {
        func label(_ key: String, _ fallback: String) -> String { wording.entries["labels." + key] ?? fallback }
        title = p.kind.title
        var rows: [PrintedRow] = [
            PrintedRow(label: "証明書の種類", value: p.kind.title),
            PrintedRow(label: "発行者", value: municipality.code == p.municipalityCode ? municipality.name : p.municipalityCode),
            PrintedRow(label: "証明書番号", value: p.certificateNumber),
            PrintedRow(label: "年度", value: FiscalYear(p.fiscalYear).japaneseLabel),
            PrintedRow(label: "交付日", value: p.issueDate.japaneseEraFormatted),
            PrintedRow(label: "氏名", value: p.name),
            PrintedRow(label: "生年月日", value: p.birthDate.japaneseEraFormatted),
        ]
        if let pages = p.pageCount { rows.append(PrintedRow(label: "頁数", value: "全\(pages)頁")) }
        var lines: [PrintedTaxLine] = []
        switch p.figures {
        case .taxPayment(let items):
            lines = items.map {
                PrintedTaxLine(item: wording.taxItemName($0.taxItem), assessed: YenFormat.yen($0.assessed),
                               paid: YenFormat.yen($0.paid), unpaid: YenFormat.yen($0.unpaid))
            }
        case .incomeTaxation(let income, let tax):
            rows.append(PrintedRow(label: label("total_income", "合計所得金額"), value: YenFormat.yen(income)))
            if let l = p.incomeLevies {
                rows += [PrintedRow(label: label("city_income_levy", "市町村民税所得割"), value: YenFormat.yen(l.cityIncomeLevy)),
                         PrintedRow(label: label("city_per_capita", "市町村民税均等割"), value: YenFormat.yen(l.cityPerCapita)),
                         PrintedRow(label: label("pref_income_levy", "道府県民税所得割"), value: YenFormat.yen(l.prefIncomeLevy)),
                         PrintedRow(label: label("pref_per_capita", "道府県民税均等割"), value: YenFormat.yen(l.prefPerCapita))]
            }
            rows.append(PrintedRow(label: label("total_tax", "年税額"), value: YenFormat.yen(tax)))
        case .nonTaxation(let nonTaxed, let income):
            rows.append(PrintedRow(label: label("status", "課税区分"), value: nonTaxed ? "非課税" : "課税"))
            rows.append(PrintedRow(label: label("total_income", "合計所得金額"), value: YenFormat.yen(income)))
        case .vehicleInspection(let plate, let paid, let validUntil):
            rows.append(PrintedRow(label: "標識番号", value: plate))
            rows.append(PrintedRow(label: "納付済額", value: YenFormat.yen(paid)))
            rows.append(PrintedRow(label: "有効期限", value: validUntil.japaneseEraFormatted))
        }
        self.rows = rows
        taxLines = lines
    }
}

/// The values `verify/page.mustache` sees.
struct VerifyPageView: Sendable {
    struct Outcome: Sendable {
        var statusCode: String
        var headline: String
        var explanation: String
        var genuine: Bool
        var warning: Bool
        var title: String?
        var rows: [PrintedRow]
        var taxLines: [PrintedTaxLine]
        var hasTaxLines: Bool
        var keyID: String?
        var signedAt: String?
        var format: String?
    }
    var municipalityName: String
    var municipalityCode: String
    var queryRefused: Bool
    var outcome: Outcome?

    init(municipality: Municipality, wording: Wording, result: VerifyResult?, queryRefused: Bool) {
        municipalityName = municipality.name
        municipalityCode = municipality.code
        self.queryRefused = queryRefused
        guard let r = result else { outcome = nil; return }
        let content = r.status.showsContent ? r.payload.map { PrintedContent($0, municipality: municipality, wording: wording) } : nil
        outcome = Outcome(
            statusCode: r.status.rawValue, headline: r.status.headline, explanation: r.status.explanation,
            genuine: r.status.isGenuine, warning: !r.status.isGenuine, title: content?.title,
            rows: content?.rows ?? [], taxLines: content?.taxLines ?? [], hasTaxLines: !(content?.taxLines.isEmpty ?? true),
            keyID: r.keyID,
            signedAt: r.status.showsContent ? r.payload?.signedAt.map { VerifyFormat.dateTime(Double($0)) } : nil,
            format: r.status.showsContent ? r.payload.map { "KF\($0.version)" } : nil)
    }
}

/// `POST /verify/api/v1`'s answer (docs/verify-openapi.yaml).
struct VerifyAPIAnswer: Encodable {
    struct TaxLine: Encodable {
        var tax_item: String
        var assessed: Int
        var paid: Int
        var unpaid: Int
    }
    struct Content: Encodable {
        var format_version: Int
        var kind: String
        var title: String
        var municipality_code: String
        var certificate_number: String
        var fiscal_year: Int
        var issue_date: String
        var name: String
        var birth_date: String
        var page_count: Int?
        var signed_at: String?
        var content_digest: String?
        var tax_items: [TaxLine]?
        var total_income: Int?
        var total_tax: Int?
        var city_income_levy: Int?
        var city_per_capita: Int?
        var pref_income_levy: Int?
        var pref_per_capita: Int?
        var non_taxed: Bool?
        var plate: String?
        var paid: Int?
        var valid_until: String?
        /// The same fields as the paper prints them.
        var printed: [PrintedRow]
        var printed_tax_items: [PrintedTaxLine]?
    }
    var status: String
    var genuine: Bool
    var headline: String
    var message: String
    var offline_outcome: String
    var detail: String?
    var key_id: String?
    var municipality_code: String
    var municipality_name: String
    var certificate: Content?

    init(_ r: VerifyResult, municipality: Municipality, wording: Wording) {
        status = r.status.rawValue
        genuine = r.status.isGenuine
        headline = r.status.headline
        message = r.status.explanation
        offline_outcome = r.offline.rawValue
        detail = r.detail
        key_id = r.keyID
        municipality_code = municipality.code
        municipality_name = municipality.name
        guard r.status.showsContent, let p = r.payload else { certificate = nil; return }
        let printed = PrintedContent(p, municipality: municipality, wording: wording)
        var c = Content(format_version: Int(p.version), kind: p.kind.rawValue, title: p.kind.title,
                        municipality_code: p.municipalityCode, certificate_number: p.certificateNumber,
                        fiscal_year: p.fiscalYear, issue_date: p.issueDate.iso, name: p.name, birth_date: p.birthDate.iso,
                        page_count: p.pageCount, signed_at: p.signedAt.map { VerifyFormat.iso(Double($0)) },
                        content_digest: p.contentDigest.map { $0.map { String(format: "%02x", $0) }.joined() },
                        printed: printed.rows, printed_tax_items: printed.taxLines.isEmpty ? nil : printed.taxLines)
        switch p.figures {
        case .taxPayment(let lines):
            c.tax_items = lines.map { TaxLine(tax_item: $0.taxItem.code, assessed: $0.assessed, paid: $0.paid, unpaid: $0.unpaid) }
        case .incomeTaxation(let income, let tax):
            c.total_income = income; c.total_tax = tax
            c.city_income_levy = p.incomeLevies?.cityIncomeLevy; c.city_per_capita = p.incomeLevies?.cityPerCapita
            c.pref_income_levy = p.incomeLevies?.prefIncomeLevy; c.pref_per_capita = p.incomeLevies?.prefPerCapita
        case .nonTaxation(let nonTaxed, let income):
            c.non_taxed = nonTaxed; c.total_income = income
        case .vehicleInspection(let plate, let paid, let until):
            c.plate = plate; c.paid = paid; c.valid_until = until.iso
        }
        certificate = c
    }
}

/// Times as the page and the API show them (Japan time).
enum VerifyFormat {
    static func dateTime(_ seconds: Double) -> String {
        let date = Date(timeIntervalSince1970: seconds)
        let minute = JapanTime.minuteOfDay(date)
        let mm = minute % 60
        return JapanTime.localDate(date).japaneseEraFormatted + " \(minute / 60)時" + (mm < 10 ? "0" : "") + "\(mm)分"
    }

    static func iso(_ seconds: Double) -> String { JapanTime.iso8601(Date(timeIntervalSince1970: seconds)) }
}
