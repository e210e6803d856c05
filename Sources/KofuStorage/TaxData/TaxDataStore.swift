import KofuDomain

/// When and from which batch a data set (one linkage file kind) was last loaded.
public struct DataSetFreshness: Sendable, Hashable, Codable {
    /// `residents`, `cards`, `restrictions`, `assessments`, `levies`, `vehicles`.
    public var dataSet: String
    public var batchID: String
    /// The batch's `extracted_at`.
    public var extractedAt: Date
    /// When Kofu applied it.
    public var loadedAt: Date
    public var rows: Int
    public init(dataSet: String, batchID: String, extractedAt: Date, loadedAt: Date, rows: Int) {
        self.dataSet = dataSet; self.batchID = batchID; self.extractedAt = extractedAt; self.loadedAt = loadedAt; self.rows = rows
    }
}

/// What one certificate request needs about the holder of the card it names: the card, and when it is known,
/// the person, their restrictions and the data of the kind and year asked for (the assessment for 所得・課税 and
/// 非課税, the levies for 納税, the vehicles for 継続検査用). Read together from one snapshot, so that an import
/// committing meanwhile cannot give the card of one batch and the person of the next.
public struct HolderData: Sendable {
    public var card: Card?
    public var person: Person?
    public var restrictions: [Restriction] = []
    public var assessment: Assessment?
    public var levies: [Levy] = []
    public var vehicles: [Vehicle] = []
    public init() {}
}

/// Kofu's copy of tax and resident data, as the issuance service reads it.
public protocol TaxDataStore: Sendable {
    func card(serial: String) async throws -> Card?
    func person(_ id: AddresseeID) async throws -> Person?
    func restrictions(for id: AddresseeID) async throws -> [Restriction]
    func assessment(for id: AddresseeID, year: FiscalYear) async throws -> Assessment?
    func levies(for id: AddresseeID, year: FiscalYear) async throws -> [Levy]
    func vehicles(for id: AddresseeID, year: FiscalYear) async throws -> [Vehicle]
    /// Everything one certificate request needs about its card's holder, read from one snapshot.
    func holder(cardSerial: String, kind: CertificateKind, year: FiscalYear) async throws -> HolderData
    /// The fiscal years held (at most the retention window), newest first.
    func heldFiscalYears() async throws -> [FiscalYear]
    /// Last load per data set.
    func freshness() async throws -> [DataSetFreshness]
}

import Foundation
