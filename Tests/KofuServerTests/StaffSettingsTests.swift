import KofuConfig
import Testing

@Suite("Staff settings")
struct StaffSettingsTests {
    /// Only `environment`, never a configuration file from the working directory.
    func load(_ environment: [String: String]) throws -> KofuConfiguration {
        try KofuConfiguration(values: ConfigValues(file: nil, environment: environment), file: nil)
    }

    @Test("auth and audit settings have the documented defaults")
    func defaults() throws {
        let config = try load(["KOFU_DATA_DIR": "/srv/kofu"])
        let s = try config.authSettings()
        #expect(s.idleTimeout == 15 * 60)
        #expect(s.lockoutThreshold == 5)
        #expect(s.lockoutDuration == 30 * 60)
        #expect(s.auditRetentionYears == 7)
        #expect(s.checkpointInterval == 1000)
        #expect(s.checkpointKeyPath == "/srv/kofu/audit-checkpoint.key")
    }

    @Test("environment overrides are read, and a bad value names its variable")
    func overrides() throws {
        let config = try load(["KOFU_AUTH_IDLE_TIMEOUT_MINUTES": "5", "KOFU_AUDIT_RETENTION_YEARS": "10"])
        let s = try config.authSettings()
        #expect(s.idleTimeout == 300)
        #expect(s.auditRetentionYears == 10)
        let bad = try load(["KOFU_AUTH_LOCKOUT_THRESHOLD": "many"])
        #expect(throws: ConfigError.self) { try bad.authSettings() }
        do {
            _ = try bad.authSettings()
        } catch let error as ConfigError {
            #expect(error.source == "environment KOFU_AUTH_LOCKOUT_THRESHOLD")
            #expect(error.key == "auth.lockout_threshold")
        }
    }
}
