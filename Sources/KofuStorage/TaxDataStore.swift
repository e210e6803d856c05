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

/// Kofu's copy of tax and resident data, as the issuance service reads it.
public protocol TaxDataStore: Sendable {
    func card(serial: String) async throws -> Card?
    func person(_ id: AddresseeID) async throws -> Person?
    func restrictions(for id: AddresseeID) async throws -> [Restriction]
    func assessment(for id: AddresseeID, year: FiscalYear) async throws -> Assessment?
    func levies(for id: AddresseeID, year: FiscalYear) async throws -> [Levy]
    func vehicles(for id: AddresseeID, year: FiscalYear) async throws -> [Vehicle]
    /// The fiscal years held (at most the retention window), newest first.
    func heldFiscalYears() async throws -> [FiscalYear]
    /// Last load per data set.
    func freshness() async throws -> [DataSetFreshness]
}

import Foundation
