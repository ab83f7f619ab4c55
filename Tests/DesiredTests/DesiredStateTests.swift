import Desired
import Testing

@Suite struct DesiredStateTests {
    @Test func builtinConfigMatchesTheStandardPolicies() throws {
        let (config, diagnostics) = ConfigLayers.merge([], environment: Environment())
        #expect(diagnostics.isEmpty)
        let value = try #require(config)
        #expect(Policies(node: value.defaults) == Policies.standard)
        #expect(value.listen.description == "127.0.0.1:8765")
        #expect(value.tokensEnv == "OMNI_API_TOKENS")
        #expect(value.logLevel == .info)
        #expect(value.auditPath == "var/audit.ndjson")
        #expect(value.auditMaxSize == 64 << 20)
        #expect(value.auditKeep == 5)
        #expect(value.otelEnabled == false)
        #expect(value.otelEndpoint == "http://127.0.0.1:4318")
        #expect(value.otelServiceName == "omni-mcp")
        #expect(value.debounce == .milliseconds(100))
        #expect(value.resync == .seconds(60))
        #expect(value.maxUnavailablePercent == 25)
        #expect(value.spawnRate == 0)
        #expect(value.startWindowSetting == 0)
        #expect(value.startWindow(cores: 2) == 8 && value.startWindow(cores: 1) == 4)
        #expect(value.features.isEmpty)
        #expect(ControllerConfig.LogLevel.debug < .error)
    }

    @Test func layersMergeDeeplyAndScalarsAndListsReplace() throws {
        let base = try parse(
            "defaults: { limits: { rps: 5, burst: 50 }, restart: { backoff: [1s, 2s] } }\nlog: { level: debug }\n", file: "default.yaml")
        let top = try parse("defaults: { limits: { rps: 7 }, restart: { backoff: [3s] } }\n", file: "production.yaml")
        let (config, diagnostics) = ConfigLayers.merge([base, top], environment: Environment())
        #expect(diagnostics.isEmpty)
        let policies = Policies(node: try #require(config).defaults)
        #expect(policies.limits.rps == 7)
        #expect(policies.limits.burst == 50)
        #expect(policies.limits.concurrency == 8)
        #expect(policies.restart.backoff == [.seconds(3)])
        #expect(config?.logLevel == .debug)
    }

    @Test func listenComesFromTheEnvironmentLast() throws {
        let layer = try parse("listen: 127.0.0.1:9000\n")
        #expect(ConfigLayers.merge([layer], environment: Environment(["OMNI_LISTEN": "127.0.0.2:9001"])).0?.listen.port == 9001)
        let (bad, diagnostics) = ConfigLayers.merge([layer], environment: Environment(["OMNI_LISTEN": "nope"]))
        #expect(bad == nil)
        #expect(diagnostics.map(\.description) == ["environment: error: OMNI_LISTEN: \"nope\" is not HOST:PORT"])
    }

    @Test func configLayersAreValidatedOnTheirOwn() {
        let (node, diagnostics) = ConfigLayers.read(Array("listn: x\nfeatures: { a: { enabled: yes } }\n".utf8), file: "c.yaml")
        #expect(node == nil)
        #expect(
            summaries(diagnostics) == ["1:1: listn: unknown key", "2:27: features.a.enabled: expected true or false, got text \"yes\""])
        #expect(ConfigLayers.read([], file: "empty.yaml").0 == .emptyMapping(at: SourcePosition(file: "empty.yaml", line: 1, column: 1)))
        #expect(ConfigLayers.read(Array("a: [".utf8), file: "bad.yaml").1.count == 1)
    }

    @Test func crossFieldRulesOnDefaultsAreReportedAtTheValue() throws {
        let layer = try parse("defaults: { health: { interval: 5s, timeout: 5s }, limits: { rps: 50, burst: 10 } }\n")
        let (config, diagnostics) = ConfigLayers.merge([layer], environment: Environment())
        #expect(config == nil)
        #expect(
            summaries(diagnostics) == [
                "1:46: defaults.health.timeout: 5s must be shorter than health.interval (5s)",
                "1:78: defaults.limits.burst: 10 is below limits.rps (50); a bucket smaller than one second of traffic rejects steady load",
            ])
    }

    private func state(_ manifests: [String], config: String = "", environment: [String: String] = [:]) throws -> (
        DesiredState, [Diagnostic]
    ) {
        let layer = try parse(config.isEmpty ? "{}" : config, file: "config/default.yaml")
        let env = Environment(environment)
        let built = try #require(ConfigLayers.merge([layer], environment: env).0)
        let parsed = try manifests.map { text in
            let name = try parse(text)["name"]?.text ?? ""
            return try #require(ManifestReader.read(Array(text.utf8), file: "servers/\(name).yaml", stem: name).0)
        }
        return DesiredState.build(config: built, manifests: parsed, environment: env)
    }

    @Test func everyServerIsOffUntilEnabled() throws {
        let (desired, diagnostics) = try state([manifest("a"), manifest("b")], config: "features: { b: { enabled: true } }")
        #expect(diagnostics.isEmpty)
        #expect(desired.servers.keys.sorted() == ["b"])
        #expect(desired.skipped == ["a": .disabled])
        #expect(desired.manifests.count == 2)
    }

    @Test func environmentFeatureFlagsWinOverConfig() throws {
        let (desired, diagnostics) = try state(
            [manifest("my-server"), manifest("b")], config: "features: { b: { enabled: true } }",
            environment: [
                "OMNI_FEATURE_MY_SERVER": "true", "OMNI_FEATURE_B": "false", "OMNI_FEATURE_GHOST": "true", "OMNI_FEATURE_X": "yes",
            ])
        #expect(desired.servers.keys.sorted() == ["my-server"])
        #expect(desired.skipped["b"] == .disabled)
        #expect(
            diagnostics.map(\.description).sorted() == [
                "OMNI_FEATURE_GHOST: warning: OMNI_FEATURE_GHOST names no server",
                "environment: error: OMNI_FEATURE_X: expected true or false, got \"yes\"",
            ])
    }

    @Test func missingSecretsAndVariablesSkipWithTheirNames() throws {
        let server = manifest("gh", "env: { TOKEN: \"${GH_TOKEN}\", ORG: \"${GH_ORG}\", MODE: \"${GH_MODE:-read}\" }\nsecrets: [GH_TOKEN]")
        let (missing, _) = try state([server], config: "features: { gh: { enabled: true } }", environment: ["GH_TOKEN": ""])
        #expect(missing.skipped["gh"] == .missing(["GH_TOKEN", "GH_ORG"]))
        #expect(missing.skipped["gh"]?.description == "missing GH_TOKEN, GH_ORG")
        let (ready, _) = try state(
            [server], config: "features: { gh: { enabled: true } }", environment: ["GH_TOKEN": "t0k", "GH_ORG": "acme"])
        let spec = try #require(ready.servers["gh"])
        #expect(spec.env == ["TOKEN": "t0k", "ORG": "acme", "MODE": "read"])
        #expect(spec.secretValues == ["t0k"])
        #expect(spec.secretNames == ["GH_TOKEN"])
    }

    @Test func unresolvedURLIsInvalidAtItsPosition() throws {
        let server = "name: remote\ndescription: x\ntransport: http\nurl: \"${REMOTE_URL}\"\n"
        let (desired, diagnostics) = try state(
            [server], config: "features: { remote: { enabled: true } }", environment: ["REMOTE_URL": "not a url"])
        #expect(desired.skipped["remote"] == .invalid("url resolves to \"not a url\", which is not an http(s) URL"))
        #expect(summaries(diagnostics) == ["4:6: url: url resolves to \"not a url\", which is not an http(s) URL"])
    }

    @Test func processHashFollowsTheProcessAndPolicyHashThePolicies() throws {
        let enabled = "features: { s: { enabled: true } }"
        func spec(_ extra: String, _ environment: [String: String] = [:]) throws -> ServerSpec {
            try #require(try state([manifest("s", extra)], config: enabled, environment: environment).0.servers["s"])
        }
        let base = try spec("env: { A: \"${V:-1}\" }")
        let envChanged = try spec("env: { A: \"${V:-1}\" }", ["V": "2"])
        let limitsChanged = try spec("env: { A: \"${V:-1}\" }\nlimits: { rps: 3 }")
        let egressChanged = try spec("env: { A: \"${V:-1}\" }\negress: [x.com]")
        let scopesChanged = try spec("env: { A: \"${V:-1}\" }\nscopes: [read]")
        #expect(base.processHash.count == 16)
        #expect(envChanged.processHash != base.processHash)
        #expect(envChanged.policyHash == base.policyHash)
        #expect(limitsChanged.processHash == base.processHash)
        #expect(limitsChanged.policyHash != base.policyHash)
        #expect(egressChanged.policyHash != base.policyHash)
        #expect(scopesChanged.processHash == base.processHash && scopesChanged.policyHash == base.policyHash)
        #expect(try spec("env: { A: \"${V:-1}\" }").processHash == base.processHash)
    }

    @Test func defaultsFillEveryManifestAndManifestsWin() throws {
        let config = "defaults: { limits: { rps: 3, burst: 30 } }\nfeatures: { a: { enabled: true }, b: { enabled: true } }"
        let (desired, _) = try state([manifest("a"), manifest("b", "limits: { rps: 9 }")], config: config)
        #expect(desired.servers["a"]?.policies.limits.rps == 3)
        #expect(desired.servers["b"]?.policies.limits.rps == 9)
        #expect(desired.servers["b"]?.policies.limits.burst == 30)
    }

    @Test func crossFieldRulesSeeTheMergedPolicies() throws {
        let config = "defaults: { health: { interval: 60s } }"
        let (ok, okDiagnostics) = try state([manifest("a", "health: { timeout: 20s }")], config: config)
        #expect(okDiagnostics.isEmpty)
        #expect(ok.skipped["a"] == .disabled)
        let (bad, diagnostics) = try state([manifest("a", "health: { interval: 10s, timeout: 20s }")], config: config)
        #expect(bad.manifests.isEmpty)
        #expect(summaries(diagnostics) == ["5:35: health.timeout: 20s must be shorter than health.interval (10s)"])
    }

    @Test func unknownFeatureNamesAreWarnedWithASuggestion() throws {
        let (_, diagnostics) = try state([manifest("github")], config: "features: { githb: { enabled: true } }")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.severity == .warning)
        #expect(diagnostics.first?.hint == "did you mean \"github\"?")
        #expect(DesiredState.environmentKey("my-server-2") == "MY_SERVER_2")
    }
}
