import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuDomain
import KofuServer
import KofuStorage
import KofuStorageTestSupport
import Testing

/// `demo-cards.md` is a promise to whoever demos Kofu: every listed card, asked for every certificate kind,
/// gets the answer the list states. This asks the real server, over HTTP, on the sample batch.
@Suite struct DemoCardsTests {
    @Test("every demo card gets the stated answer for every certificate kind", arguments: StorageTestSupport.backends)
    func everyCardEveryKind(_ backend: TestBackend) async throws {
        let h = try await KioskHarness.make(backend: backend)
        defer { Task { await h.cleanUp() } }
        let cards = h.cards.values.sorted { $0.caseName < $1.caseName }
        // The list covers every kind, in the latest fiscal year, for every card.
        for card in cards {
            let latest = Set(card.expectations.filter { $0.fiscalYear == h.latestYear }.map(\.kind))
            #expect(latest == Set(CertificateKind.allCases), "\(card.caseName) lists \(latest.map(\.rawValue).sorted()) for \(h.latestYear)")
        }
        #expect(cards.count == 23)

        try await h.withLiveServer { client, _ in
            var asked = 0
            for card in cards {
                for e in card.expectations {
                    let requestID = "DEMO-\(card.caseName)-\(e.kind.rawValue)-\(e.fiscalYear)"
                    let r = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                                     body: Kiosk.issueBody(requestID, card: card.cardSerial, kind: e.kind.rawValue,
                                                                           year: e.fiscalYear, plate: e.vehiclePlate))
                    asked += 1
                    let got = Self.outcome(r)
                    if got != Self.describe(e.outcome) {
                        Issue.record("\(card.caseName), \(e.kind.title) (\(e.kind.rawValue)) \(e.fiscalYear): expected \(Self.describe(e.outcome)), got \(got)")
                    }
                }
            }
            #expect(asked == cards.reduce(0) { $0 + $1.expectations.count })
        }
    }

    /// The answer as the expectation states it: `201`, or `422 CODE`; anything else with its status.
    static func describe(_ outcome: SampleDemoOutcome) -> String {
        switch outcome {
        case .issued: "201"
        case .refused(let code): "422 \(code.rawValue)"
        }
    }

    static func outcome(_ response: TestResponse) -> String {
        if response.status == .created { return "201" }
        return "\(response.status.code) \(Kiosk.errorCode(response.body) ?? "(no error code)")"
    }
}
