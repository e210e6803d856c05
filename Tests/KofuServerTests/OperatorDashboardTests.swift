import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KofuServer
import KofuStorage
import Testing

/// The operators' dashboard and intake switch in the full application: only the operator role may see
/// or use them, everyone else is denied (and the denial audited); the page shows counts, never people.
@Suite struct OperatorDashboardTests {
    @Test func onlyOperatorsSeeTheDashboardAndPauseIntake() async throws {
        let h = try await KioskHarness.make(people: 30)
        defer { Task { await h.cleanUp() } }
        try await h.withLiveServer { client, services in
            for role in StaffRole.allCases {
                _ = try await services.staffAuth.store.addUser("u-\(role.rawValue)", role: role, password: "correct horse \(role.rawValue)")
            }
            // A refusal so the counts have something in them.
            _ = try await client.execute(uri: "/kiosk/v1/issuances", method: .post, headers: Kiosk.jsonHeaders,
                                         body: Kiosk.issueBody("D1", card: h.card("deceased"), kind: "income_taxation", year: h.latestYear))
            #expect(try await client.get("/staff/operator", cookie: nil) == .unauthorized)
            for role in StaffRole.allCases {
                let (status, cookie, _) = try await client.login("u-\(role.rawValue)", "correct horse \(role.rawValue)")
                #expect(status == .ok)
                // Viewing counts: operators and administrators; pausing intake: operators only.
                let view: HTTPResponse.Status = role == .operator || role == .administrator ? .ok : .forbidden
                let expected: HTTPResponse.Status = role == .operator ? .ok : .forbidden
                #expect(try await client.get("/staff/operator", cookie: cookie) == view, "\(role)")
                #expect(try await client.get("/staff/operator/summary", cookie: cookie) == view, "\(role)")
                let headers = staffHeaders(cookie: cookie, json: false)
                let pause = try await client.execute(uri: "/staff/operator/intake/pause", method: .post, headers: headers)
                #expect(pause.status == expected, "\(role)")
                if role == .operator {
                    #expect(try await services.issuance.intakePaused())
                    let page = try await client.execute(uri: "/staff/operator", method: .get, headers: headers)
                    let html = String(buffer: page.body)
                    #expect(html.contains("受付不可") && html.contains("受付停止(u-operator"))
                    #expect(html.contains("窓口のみ(COUNTER_ONLY)</th><td class=\"n\">1件") && html.contains("<th scope=\"row\">死亡(deceased)</th>"))
                    #expect(!html.contains(h.card("deceased")) && !html.contains(h.cards["deceased"]!.addresseeID))
                    let resume = try await client.execute(uri: "/staff/operator/intake/resume", method: .post, headers: headers)
                    #expect(resume.status == .ok)
                    #expect(try await services.issuance.intakePaused() == false)
                }
            }
            try await services.audit.flush()
            let denied = try await services.audit.entries(limit: 10_000).filter { $0.action == AuditAction.accessDenied.rawValue }
            // clerk, supervisor, auditor: 3 denials each; administrator: the pause; anonymous: 1.
            let expectedDenials = 11
            #expect(denied.count == expectedDenials)
            let pauses = try await services.audit.entries(limit: 10_000).filter { $0.action == AuditAction.intakePause.rawValue }
            #expect(pauses.map(\.actor) == ["u-operator"])
        }
    }
}
