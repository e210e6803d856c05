import KofuConfig
import KofuDomain
import Testing

/// `issuance.no_levies` from the file or the environment, checked at load like every key.
@Suite struct NoLeviesConfigTests {
    func settings(_ environment: [String: String]) throws -> IssuanceSettings {
        try KofuConfiguration(values: ConfigValues(file: nil, environment: environment), file: nil).issuanceSettings()
    }

    @Test("defaults to issue; the environment overrides it; anything else is a clear error")
    func noLeviesKey() throws {
        #expect(try settings([:]).policy.noLevies == .issue)
        #expect(try settings(["KOFU_ISSUANCE_NO_LEVIES": "refuse"]).policy.noLevies == .refuse)
        #expect(try settings(["KOFU_ISSUANCE_NO_LEVIES": "issue"]).policy.noLevies == .issue)
        #expect(throws: ConfigError.self) { try settings(["KOFU_ISSUANCE_NO_LEVIES": "sometimes"]) }
        do {
            _ = try settings(["KOFU_ISSUANCE_NO_LEVIES": "sometimes"])
        } catch let error as ConfigError {
            #expect("\(error)".contains("issuance.no_levies"))
        }
    }

    @Test("the shipped configuration says issue")
    func shipped() throws {
        let config = try KofuConfiguration.load(environment: [:], file: packageRoot + "/config/kofu.yaml")
        #expect(try config.issuanceSettings().policy.noLevies == .issue)
    }

    var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }
}

import Foundation
