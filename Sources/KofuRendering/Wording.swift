import Foundation
import KofuDomain
import Yams

/// The municipality's own words (`Templates/wording.yaml`): the residents' tax's name (特別区民税・都民税 in a
/// 特別区, 市民税・県民税 in a city), each tax item's printed name (国民健康保険税 or 国民健康保険料) and the
/// grid labels. Templates print them as `{wording.<key>}`; they are resolved when the templates load, so a
/// municipality changes them without recompiling and a missing key is a load error, never a blank on a page.
///
/// Keys: `resident_tax`, `city_tax`, `pref_tax`, `tax_items.<code>` (every code of `TaxItem`) and
/// `labels.<name>` (any name the templates use).
public struct Wording: Sendable, Hashable {
    /// The file it was read from (for error messages).
    public var file: String
    /// Every entry by its dotted key (`resident_tax`, `tax_items.05`, `labels.salary_income`).
    public var entries: [String: String]

    public init(file: String, entries: [String: String]) { self.file = file; self.entries = entries }

    /// No wording: `{wording.…}` is unknown, tax items print their built-in names. For loaders used without
    /// a wording file (a template checked alone).
    static let none = Wording(file: "", entries: [:])

    /// The printed name of a tax item: the wording's, or the built-in name when there is no wording.
    public func taxItemName(_ item: TaxItem) -> String { entries["tax_items." + item.code] ?? item.japaneseName }

    /// The value for a `{wording.<key>}` placeholder.
    func value(_ key: String) -> String? { entries[key] }

    /// The file name looked for in the templates directory.
    public static let fileName = "wording.yaml"

    /// Reads and checks a wording file: only known keys, every tax item named, every text non-empty and
    /// printable with the font. Errors are `TemplateError`s with file:line:column.
    static func load(path: String, isPrintable: @escaping @Sendable (Unicode.Scalar) -> Bool) throws -> Wording {
        guard let data = FileManager.default.contents(atPath: path), let yaml = String(data: data, encoding: .utf8) else {
            throw TemplateError.missingTemplate(file: path)
        }
        return try WordingLoader(file: path, isPrintable: isPrintable).load(yaml: yaml)
    }
}

/// The strict reader behind `Wording.load`.
struct WordingLoader {
    let file: String
    let isPrintable: @Sendable (Unicode.Scalar) -> Bool

    static let scalarKeys = ["resident_tax", "city_tax", "pref_tax"]

    func load(yaml: String) throws -> Wording {
        let root = try YAMLDocument.root(yaml: yaml, file: file)
        let top = try mapping(root)
        var entries: [String: String] = [:]
        for (key, value) in top {
            let name = try scalar(key)
            switch name {
            case _ where Self.scalarKeys.contains(name):
                entries[name] = try text(value, key: name)
            case "tax_items":
                for (k, v) in try mapping(value) {
                    let code = try scalar(k)
                    guard TaxItem(rawValue: code) != nil else {
                        throw TemplateError.unknownKey(file: file, line: line(k), column: column(k), key: "tax_items.\(code)")
                    }
                    entries["tax_items." + code] = try text(v, key: "tax_items.\(code)")
                }
                for item in TaxItem.allCases where entries["tax_items." + item.code] == nil {
                    throw TemplateError.missingKey(file: file, line: line(value), column: column(value), key: "tax_items.\(item.code)")
                }
            case "labels":
                for (k, v) in try mapping(value) {
                    let label = try scalar(k)
                    guard !label.isEmpty, label.unicodeScalars.allSatisfy({ $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0)) }) else {
                        throw TemplateError.invalidValue(file: file, line: line(k), column: column(k), key: "labels",
                                                         expected: "keyed by names of ASCII letters, digits and '_'")
                    }
                    entries["labels." + label] = try text(v, key: "labels.\(label)")
                }
            default:
                throw TemplateError.unknownKey(file: file, line: line(key), column: column(key), key: name)
            }
        }
        for key in Self.scalarKeys + ["tax_items"] where !top.contains(where: { (try? scalar($0.key)) == key }) {
            throw TemplateError.missingKey(file: file, line: line(root), column: column(root), key: key)
        }
        return Wording(file: file, entries: entries)
    }

    private func text(_ node: Node, key: String) throws -> String {
        guard case .scalar(let s) = node, !s.string.isEmpty else {
            throw TemplateError.invalidValue(file: file, line: line(node), column: column(node), key: key, expected: "a non-empty text")
        }
        for c in s.string.unicodeScalars where !isPrintable(c) {
            throw TemplateError.unprintableText(file: file, line: line(node), column: column(node), character: RenderText.codePoint(c))
        }
        return s.string
    }

    private func scalar(_ node: Node) throws -> String {
        guard case .scalar(let s) = node else {
            throw TemplateError.invalidValue(file: file, line: line(node), column: column(node), key: "key", expected: "a text")
        }
        return s.string
    }

    private func mapping(_ node: Node) throws -> [(key: Node, value: Node)] {
        guard case .mapping(let m) = node else {
            throw TemplateError.invalidValue(file: file, line: line(node), column: column(node), key: "value",
                                             expected: "a mapping (key: value)")
        }
        return m.map { ($0.key, $0.value) }
    }

    private func line(_ node: Node) -> Int { node.mark?.line ?? 0 }
    private func column(_ node: Node) -> Int { node.mark?.column ?? 0 }
}

/// When a text or grid is printed (`when:` in a template): a condition on the certificate's data, such as
/// `assessment.deductions` (the batch gave the 所得控除 breakdown) or `not payment.levies` (課税なし).
/// Checked by name at load time like a field; evaluated once per certificate.
struct Condition: Sendable {
    var name: String
    var negated: Bool
    var test: @Sendable (Certificate) -> Bool

    func holds(for certificate: Certificate) -> Bool { test(certificate) != negated }

    /// Conditions by name and the kinds they apply to.
    static let catalogue: [String: (kinds: Set<CertificateKind>, test: @Sendable (Certificate) -> Bool)] = [
        "assessment.deductions": (FieldCatalogue.assessmentKinds, { assessment($0)?.deductions != nil }),
        "assessment.dependents_breakdown": (FieldCatalogue.assessmentKinds, { assessment($0)?.dependentsBreakdown != nil }),
        "assessment.tax_credits": (FieldCatalogue.assessmentKinds, { assessment($0)?.taxCredits != nil }),
        "assessment.forest_environment_tax": (FieldCatalogue.assessmentKinds, { assessment($0)?.forestEnvironmentTax != nil }),
        "assessment.non_taxation": (FieldCatalogue.assessmentKinds, { assessment($0)?.nonTaxation != nil }),
        "payment.levies": ([.taxPayment], { c in
            if case .taxPayment(let items) = c.body { return items.contains { !$0.installments.isEmpty } }
            return false
        }),
        "municipality.verify_url": (FieldCatalogue.all, { !$0.municipality.verifyURL.isEmpty }),
    ]

    private static func assessment(_ c: Certificate) -> Assessment? {
        switch c.body {
        case .incomeTaxation(let a), .nonTaxation(let a): a
        default: nil
        }
    }

    /// `name` or `not name`, or nil when the name is unknown for `kind`.
    static func parse(_ text: String, kind: CertificateKind) -> Condition? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let negated = trimmed.hasPrefix("not ")
        let name = negated ? String(trimmed.dropFirst(4)).trimmingCharacters(in: .whitespaces) : trimmed
        guard let entry = catalogue[name], entry.kinds.contains(kind) else { return nil }
        return Condition(name: name, negated: negated, test: entry.test)
    }
}

extension Template {
    /// The template with only the texts and grids whose `when:` holds for `certificate`.
    func specialized(for certificate: Certificate) -> Template {
        guard texts.contains(where: { $0.when != nil }) || grids.contains(where: { $0.when != nil }) else { return self }
        var t = self
        t.texts = texts.filter { $0.when?.holds(for: certificate) ?? true }
        t.grids = grids.filter { $0.when?.holds(for: certificate) ?? true }
        return t
    }
}

extension TemplateLoader {
    /// A `when:` value: a known condition for the kind, else `invalidValue` at its position.
    func condition(_ node: Node) throws -> Condition {
        guard case .scalar(let s) = node, let c = Condition.parse(s.string, kind: kind) else {
            let names = Condition.catalogue.filter { $0.value.kinds.contains(kind) }.keys.sorted().joined(separator: ", ")
            throw TemplateError.invalidValue(file: file, line: line(node), column: column(node), key: "when",
                                             expected: "one of \(names) (optionally after 'not')")
        }
        return c
    }

    /// The text of a `{wording.<key>}` placeholder, or nil when `name` is not a wording key.
    func wordingText(_ name: String, at node: Node) throws -> String? {
        guard name.hasPrefix("wording.") else { return nil }
        guard let value = wording.value(String(name.dropFirst("wording.".count))) else {
            throw TemplateError.unknownField(file: file, line: line(node), column: column(node), field: name)
        }
        return value
    }
}
