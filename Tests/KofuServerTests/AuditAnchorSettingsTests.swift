import KofuConfig
import Testing

@Suite("Audit anchor settings")
struct AuditAnchorSettingsTests {
    func load(_ environment: [String: String]) throws -> KofuConfiguration {
        try KofuConfiguration(values: ConfigValues(file: nil, environment: environment), file: nil)
    }

    @Test("anchors default to every 100 entries or 5 minutes, a key of their own, and a file beside data.dir, not in it")
    func defaults() throws {
        let s = try load(["KOFU_DATA_DIR": "/srv/kofu", "KOFU_NODE_ID": "kofu-2"]).authSettings()
        #expect(s.anchorInterval == 100)
        #expect(s.anchorPeriod == 300)
        #expect(s.anchorKeyPath == "/srv/kofu/keys/audit-anchor.pem")
        #expect(s.anchorFile == "/srv/kofu-audit-anchors/kofu-2.jsonl")
        #expect(s.anchorNode == "kofu-2")
        let odd = try load(["KOFU_DATA_DIR": "/srv/kofu/", "KOFU_NODE_ID": "../x y"]).authSettings()
        #expect(odd.anchorFile == "/srv/kofu-audit-anchors/node.._x_y.jsonl")
    }

    @Test("an anchors file inside data.dir is refused with the key that names it")
    func insideDataDir() throws {
        let bad = try load(["KOFU_DATA_DIR": "/srv/kofu", "KOFU_AUDIT_ANCHOR_FILE": "/srv/kofu/./anchors/../a.jsonl"])
        #expect(throws: ConfigError.self) { try bad.authSettings() }
        do {
            _ = try bad.authSettings()
        } catch let error as ConfigError {
            #expect(error.key == "audit.anchor_file")
            #expect(error.source == "environment KOFU_AUDIT_ANCHOR_FILE")
        }
        let beside = try load(["KOFU_DATA_DIR": "/srv/kofu", "KOFU_AUDIT_ANCHOR_FILE": "/srv/kofu2/a.jsonl"])
        #expect(try beside.authSettings().anchorFile == "/srv/kofu2/a.jsonl")
    }
}
