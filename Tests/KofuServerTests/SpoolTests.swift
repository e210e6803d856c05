import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuConfig
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import KofuTestSupport
import Synchronization
import Testing

/// The in-memory spool on its own: documents in, the same bytes out, wiped buffers zeroed, the byte cap.
@Suite struct SpoolMemoryTests {
    /// Bytes that differ from issuance to issuance and from zero.
    static func document(_ seed: Int, count: Int) -> [UInt8] {
        (0..<count).map { UInt8(truncatingIfNeeded: ($0 &* 31 &+ seed &* 7) | 1) }
    }

    @Test func storeLoadWipeRoundTrip() async throws {
        let spool = DocumentSpool(maxBytes: 1 << 20)
        let pdf = Self.document(1, count: 50_000)
        try await spool.store(id: "a1", pdf: pdf)
        #expect(try await spool.load(id: "a1") == pdf)
        #expect(try await spool.load(id: "a1") == pdf, "loading does not consume the document")
        #expect(spool.contains(id: "a1") && spool.count() == 1 && spool.ids() == ["a1"])
        let usage = spool.usage()
        #expect(usage.documents == 1 && usage.bytes >= pdf.count + 28 && usage.bytes % 4096 == 0, "\(usage)")
        await spool.wipe(id: "a1")
        await #expect(throws: DocumentSpool.Error.missing) { try await spool.load(id: "a1") }
        #expect(!spool.contains(id: "a1") && spool.count() == 0 && spool.usage().bytes == 0)
        await spool.wipe(id: "a1")  // no-op once gone
        await #expect(throws: DocumentSpool.Error.missing) { try await spool.load(id: "never") }
    }

    /// Every wiped buffer is all zeros before it is unmapped (read through the spool's release hook), for
    /// `wipe` and `wipeAll` alike; and it held something other than zeros before (the encrypted document).
    @Test func wipedMemoryIsZeroed() async throws {
        let seen = Shared<[(count: Int, zero: Bool)]>([])
        let spool = DocumentSpool(maxBytes: 1 << 20, beforeRelease: { region in
            let zero = region.allSatisfy { $0 == 0 }
            seen.value.withLock { $0.append((region.count, zero)) }
        })
        for i in 0..<3 { try await spool.store(id: "z\(i)", pdf: Self.document(i, count: 9_000 + i)) }
        await spool.wipe(id: "z0")
        #expect(seen.value.withLock { $0.count } == 1)
        #expect(await spool.wipeAll() == 2)
        let released = seen.value.withLock { $0 }
        #expect(released.count == 3, "one release per document")
        for r in released {
            #expect(r.count >= 9_000 + 28, "the whole buffer is handed over (\(r.count) bytes)")
            #expect(r.zero, "a wiped buffer still held document bytes")
        }
        #expect(spool.usage().bytes == 0 && spool.count() == 0)
    }

    /// The cap counts stored documents and reservations; room comes back on wipe and on release.
    @Test func capRefusesAndRoomComesBack() async throws {
        let spool = DocumentSpool(maxBytes: 3 * 4096)
        try await spool.store(id: "c1", pdf: Self.document(1, count: 5_000))  // two pages
        await #expect(throws: DocumentSpool.Error.full) { try await spool.store(id: "c2", pdf: Self.document(2, count: 5_000)) }
        #expect(!spool.contains(id: "c2"), "a refused document is not kept")
        #expect(try await spool.load(id: "c1") == Self.document(1, count: 5_000), "the stored one is untouched")
        // A reservation is as large as the largest document so far: two pages do not fit beside c1.
        #expect(throws: DocumentSpool.Error.full) { try spool.reserve() }
        await spool.wipe(id: "c1")
        let room = try spool.reserve()
        #expect(spool.usage().reservedBytes == 2 * 4096)
        #expect(throws: DocumentSpool.Error.full) { try spool.reserve() }
        try await spool.store(id: "c2", pdf: Self.document(2, count: 5_000), reservation: room)
        #expect(spool.usage().reservedBytes == 0 && spool.usage().bytes == 2 * 4096)
        spool.release(room)  // spent by the store: no-op
        #expect(spool.usage().reservedBytes == 0)
        let unused = try? spool.reserve()
        #expect(unused == nil, "c2 and a reservation of two pages do not fit in three")
        await spool.wipe(id: "c2")
        let other = try spool.reserve()
        spool.release(other)
        spool.release(other)
        #expect(spool.usage().reservedBytes == 0, "a reservation is given back once")
    }

    /// Many issuances storing, loading and wiping at once: a load returns its own issuance's bytes or
    /// `missing`, never another's.
    @Test func concurrentIssuancesNeverSeeEachOthersBytes() async throws {
        let spool = DocumentSpool(maxBytes: 256 << 20)
        let ids = (0..<300).map { "\(UUID().uuidString.lowercased())-\($0)" }
        let mixedUp = Shared(0)
        await withTaskGroup(of: Void.self) { group in
            for (i, id) in ids.enumerated() {
                group.addTask {
                    let pdf = Self.document(i, count: 3_000 + (i * 997) % 40_000)
                    try? await spool.store(id: id, pdf: pdf)
                    for _ in 0..<3 {
                        let other = ids[(i + 1) % ids.count]
                        if let mine = try? await spool.load(id: id), mine != pdf { mixedUp.value.withLock { $0 += 1 } }
                        if let theirs = try? await spool.load(id: other),
                           theirs != Self.document((i + 1) % ids.count, count: 3_000 + (((i + 1) % ids.count) * 997) % 40_000) {
                            mixedUp.value.withLock { $0 += 1 }
                        }
                    }
                    if i % 2 == 0 { await spool.wipe(id: id) }
                }
            }
        }
        #expect(mixedUp.value.withLock { $0 } == 0)
        #expect(spool.count() == 150)
        for (i, id) in ids.enumerated() where i % 2 == 1 {
            #expect(try await spool.load(id: id) == Self.document(i, count: 3_000 + (i * 997) % 40_000))
        }
        #expect(await spool.wipeAll() == 150)
        #expect(spool.usage().bytes == 0)
    }

    @Test func capIsConfigured() throws {
        func settings(_ env: [String: String]) throws -> IssuanceSettings {
            try KofuConfiguration(values: ConfigValues(file: "\(KioskHarness.packageRoot)/config/kofu.yaml", environment: env), file: nil)
                .issuanceSettings()
        }
        #expect(try settings([:]).spoolMaxBytes == 64 << 20, "config/kofu.yaml says 64 MiB")
        #expect(try settings(["KOFU_ISSUANCE_SPOOL_MAX_BYTES": "1048576"]).spoolMaxBytes == 1 << 20)
        #expect(throws: ConfigError.self) { try settings(["KOFU_ISSUANCE_SPOOL_MAX_BYTES": "100"]) }
        #expect(throws: ConfigError.self) { try settings(["KOFU_ISSUANCE_SPOOL_MAX_BYTES": "lots"]) }
    }
}

/// The spool inside issuance, over HTTP, on SQLite and PostgreSQL.
@Suite struct SpoolIssuanceTests {
    static func issue(_ client: some TestClientProtocol, _ requestID: String, card: String, year: Int) async throws -> TestResponse {
        try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                 body: Kiosk.issueBody(requestID, card: card, kind: "income_taxation", year: year))
    }

    /// A spool too small for one document: the issuance renders, cannot store, and is failed as a whole —
    /// 503 OVERLOADED with Retry-After, numbers void, nothing held, the ledger and audit say `spool_full`.
    @Test(arguments: StorageTestSupport.backends)
    func documentLargerThanTheSpoolIsShed(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer(["KOFU_ISSUANCE_SPOOL_MAX_BYTES": "4096", "KOFU_ISSUANCE_RETRY_AFTER_SECONDS": "7"]) { client, services in
            let r = try await Self.issue(client, "FULL-1", card: h.card("ordinary"), year: h.latestYear)
            #expect(r.status == .serviceUnavailable, "\(String(buffer: r.body))")
            #expect(Kiosk.errorCode(r.body) == "OVERLOADED")
            #expect(r.headers[.retryAfter] == "7")
            let record = try #require(try await services.issuance.ledger.get(requestID: "FULL-1"))
            #expect(record.status == .failed)
            #expect(!record.numbers.isEmpty)
            for n in record.numbers { #expect(try await services.issuance.ledger.numberStatus(n.value)?.status == .void) }
            #expect(services.issuance.spool.count() == 0)
            #expect(SpoolCheck.isEmpty(services.issuance.spool), "nothing stored, nothing left reserved")
            try await services.audit.flush()
            let entries = try await services.audit.entries(matching: AuditFilter(objectContains: record.id), newestFirst: false, limit: 10)
            let failure = try #require(entries.first { $0.outcome == AuditOutcome.failure.rawValue })
            #expect(failure.reason == "spool_full")
            let card = h.cards["ordinary"]!
            for e in entries { #expect(!e.reason.contains(card.cardSerial) && !e.reason.contains(card.addresseeID)) }
        }
    }

    /// A spool that fills up with ready documents sheds the next request before it draws numbers (503 with
    /// Retry-After, no ledger row), the ready documents stay fetchable, and once they are delivered the very
    /// same request (same request id) is issued.
    @Test(arguments: StorageTestSupport.backends)
    func fullSpoolShedsBeforeNumbersAndRecovers(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer(["KOFU_ISSUANCE_SPOOL_MAX_BYTES": String(1 << 20)]) { client, services in
            var ready: [String] = []
            var shed: String?
            for i in 0..<200 {
                let r = try await Self.issue(client, "FILL-\(i)", card: h.card("ordinary"), year: h.latestYear)
                if r.status == .created {
                    ready.append(try #require(Kiosk.json(r.body)["issuance_id"] as? String))
                    continue
                }
                #expect(r.status == .serviceUnavailable, "\(String(buffer: r.body))")
                #expect(Kiosk.errorCode(r.body) == "OVERLOADED")
                #expect(r.headers[.retryAfter] == "2")
                shed = "FILL-\(i)"
                break
            }
            let shedID = try #require(shed, "a 1 MiB spool filled up")
            #expect(!ready.isEmpty)
            #expect(try await services.issuance.ledger.get(requestID: shedID) == nil, "the shed request left no ledger row")
            #expect(services.issuance.spool.count() == ready.count)
            #expect(services.issuance.spool.usage().reservedBytes == 0)
            for id in ready {
                let doc = try await client.execute(uri: "/kiosk/v1/issuances/\(id)/document", method: .get)
                #expect(doc.status == .ok)
                #expect(try PDFTools.qpdfCheck(Array(buffer: doc.body)) == nil)
                #expect(try await client.execute(uri: "/kiosk/v1/issuances/\(id)/delivered", method: .post).status == .ok)
            }
            #expect(SpoolCheck.isEmpty(services.issuance.spool))
            let retried = try await Self.issue(client, shedID, card: h.card("ordinary"), year: h.latestYear)
            #expect(retried.status == .created, "\(String(buffer: retried.body))")
        }
    }

    /// Nothing of a document is written under the data directory while it waits: no spool directory, no
    /// file holding any part of it.
    @Test func readyDocumentIsNotOnDisk() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            let headers = Kiosk.pdfHeaders
            let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: headers,
                                             body: Kiosk.issueBody("DISK-1", card: h.card("ordinary"), kind: "tax_payment", year: h.latestYear))
            #expect(r.status == .created)
            let pdf = Array(buffer: r.body)
            let id = try #require(r.headers[HTTPField.Name("Kofu-Issuance-Id")!])
            #expect(services.issuance.spool.contains(id: id), "the document waits in the spool")
            try await services.audit.flush()
            let files = try FileManager.default.subpathsOfDirectory(atPath: h.dataDir)
            #expect(SpoolCheck.filesOnDisk(under: h.dataDir).isEmpty, "\(files)")
            for at in stride(from: 0, to: pdf.count - 48, by: max(1, pdf.count / 8)) {
                let chunk = Array(pdf[at..<(at + 48)])
                for file in files {
                    guard let data = FileManager.default.contents(atPath: "\(h.dataDir)/\(file)") else { continue }
                    #expect(!KioskAPITests.find(chunk, in: Array(data)), "document bytes at \(at) found in \(file)")
                }
            }
        }
    }

    /// An install that ran the file spool: its leftover directory is overwritten and removed at start.
    @Test func oldFileSpoolIsRemovedAtStart() async throws {
        let h = try await KioskHarness.make()
        defer { Task { await h.cleanUp() } }
        let old = "\(h.dataDir)/spool"
        try FileManager.default.createDirectory(atPath: old, withIntermediateDirectories: true)
        let leftover = "\(old)/\(UUID().uuidString.lowercased()).spool"
        #expect(FileManager.default.createFile(atPath: leftover, contents: Data(repeating: 0x5a, count: 10_000)))
        let services = try await h.openServices()
        #expect(!FileManager.default.fileExists(atPath: old), "the old spool directory is gone")
        try await services.audit.flush()
        let recovery = try await services.audit.entries(matching: AuditFilter(action: .spoolRecovery), newestFirst: true, limit: 1)
        #expect(recovery.first?.reason.contains("old_spool_files=1") == true, "\(recovery)")
        await services.close()
    }
}

/// Checks on the spool from outside.
enum SpoolCheck {
    /// No document held and no room reserved in `spool`.
    static func isEmpty(_ spool: DocumentSpool) -> Bool {
        let usage = spool.usage()
        return usage.documents == 0 && usage.bytes == 0 && usage.reservedBytes == 0
    }

    /// What of a spool is on disk under a data directory: a `spool` directory or `.spool` files (the file
    /// spool of earlier versions). The in-memory spool leaves none.
    static func filesOnDisk(under dataDir: String) -> [String] {
        ((try? FileManager.default.subpathsOfDirectory(atPath: dataDir)) ?? []).filter {
            $0 == "spool" || $0.hasPrefix("spool/") || $0.hasSuffix(".spool")
        }
    }
}

/// A value tasks share, behind a lock.
final class Shared<T: Sendable>: Sendable {
    let value: Mutex<T>
    init(_ initial: T) { value = Mutex(initial) }
}
