import Desired
import Foundation
import Glibc
import JSON
import Testing

@Suite struct WorkspaceTests {
    @Test func loadsLayersInOrderAndEveryManifest() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "defaults: { limits: { rps: 1 } }\n")
        try workspace.write("config/production.yaml", "defaults: { limits: { rps: 2 } }\nfeatures: { a: { enabled: true } }\n")
        try workspace.write("config/local.yaml", "defaults: { limits: { rps: 3 } }\n")
        try workspace.write("servers/a.yaml", manifest("a"))
        try workspace.write("servers/b.yaml", manifest("b"))
        try workspace.write("servers/.a.yaml.swp", "junk")
        try workspace.write("servers/notes.txt", "junk")
        let load = workspace.load(env: "production")
        #expect(load.diagnostics.isEmpty)
        #expect(load.configFiles.map { ($0 as NSString).lastPathComponent } == ["default.yaml", "production.yaml", "local.yaml"])
        #expect(load.manifestFiles.count == 2)
        #expect(load.state?.servers["a"]?.policies.limits.rps == 3)
        #expect(load.state?.skipped["b"] == .disabled)
    }

    @Test func anUnknownEnvironmentLayerIsAnErrorNamingTheKnownOnes() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "")
        try workspace.write("config/staging.yaml", "")
        let load = workspace.load(env: "prod")
        #expect(load.state == nil)
        #expect(load.diagnostics.first?.message.hasPrefix("no config layer \"prod\"") == true)
        #expect(load.diagnostics.first?.hint == "set OMNI_ENV or --env to one of: staging")
    }

    @Test func oneBrokenManifestDoesNotHideTheOthers() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/a.yaml", "name: [\n")
        try workspace.write("servers/b.yaml", manifest("b", "limits: { rps: x }"))
        try workspace.write("servers/c.yaml", manifest("c"))
        try workspace.write("servers/d.yml", manifest("d"))
        try FileManager.default.createDirectory(atPath: workspace.root + "/servers/e.yaml", withIntermediateDirectories: true)
        let load = workspace.load()
        #expect(load.state?.manifests.keys.sorted() == ["c"])
        let files = load.diagnostics.map { ($0.position.file as NSString).lastPathComponent }
        #expect(files == ["a.yaml", "b.yaml", "d.yml", "e.yaml"])
        #expect(load.diagnostics.first { $0.position.file.hasSuffix("e.yaml") }?.message.hasPrefix("cannot read the file") == true)
        #expect(load.diagnostics.first { $0.position.file.hasSuffix("d.yml") }?.severity == .warning)
    }

    @Test func anInvalidConfigLayerLeavesNoState() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "listen: nowhere\n")
        try workspace.write("servers/a.yaml", manifest("a"))
        let load = workspace.load()
        #expect(load.state == nil)
        #expect(load.manifests.count == 1)
        #expect(summaries(load.diagnostics) == ["1:9: listen: \"nowhere\" is not HOST:PORT"])
    }

    @Test func dotEnvFillsButNeverOverridesTheEnvironment() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write(".env", "OMNI_FEATURE_A=true\nA_TOKEN=from-file\nbroken line\n")
        try workspace.write("servers/a.yaml", manifest("a", "env: { T: \"${A_TOKEN}\" }"))
        let fromFile = workspace.load()
        #expect(fromFile.state?.servers["a"]?.env["T"] == "from-file")
        #expect(summaries(fromFile.diagnostics) == ["3:1: expected NAME=value"])
        let real = workspace.load(environment: ["A_TOKEN": "real"])
        #expect(real.state?.servers["a"]?.env["T"] == "real")
    }

    @Test func noServersDirectoryIsAWarning() throws {
        let workspace = try TemporaryWorkspace()
        try FileManager.default.removeItem(atPath: workspace.root + "/servers")
        let load = workspace.load()
        #expect(load.diagnostics.map(\.severity) == [.warning])
        #expect(load.state?.manifests.isEmpty == true)
    }

    @Test func oversizedFilesAreRefusedWithoutReadingThemWhole() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/big.yaml", "# " + String(repeating: "x", count: 1 << 21) + "\n")
        let load = workspace.load()
        #expect(load.diagnostics.first?.message == "file is 2097155 bytes; the limit is 1048576 bytes")
    }

    @Test func envExampleMustListEveryVariableUsed() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/a.yaml", manifest("a", "env: { T: \"${A_TOKEN}\", U: \"${A_URL:-x}\" }\nsecrets: [A_SECRET]"))
        let load = workspace.load()
        let missingFile = EnvExample.undocumented(load, workspace: Workspace(root: workspace.root, envName: nil))
        #expect(missingFile.first?.message.hasPrefix("missing") == true)
        try workspace.write(".env.example", "# doc\nA_TOKEN=\nOMNI_API_TOKENS=\n")
        let problems = EnvExample.undocumented(load, workspace: Workspace(root: workspace.root, envName: nil))
        #expect(
            problems.map(\.message).map { $0.components(separatedBy: " is not").first ?? "" } == ["variable A_SECRET", "variable A_URL"])
        #expect(problems.first?.position.line == 6)
    }

    /// A new repository with one server and an empty `.env.example` is valid: the controller's
    /// own variables (the built-in `auth.tokens_env`) are not the user's to list.
    @Test func builtInVariablesImposeNothingButAUsersOwnSettingDoes() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/x.yaml", manifest("x", ""))
        try workspace.write("config/default.yaml", "features: { x: { enabled: true } }\n")
        try workspace.write(".env.example", "")
        let root = Workspace(root: workspace.root, envName: nil)
        #expect(EnvExample.undocumented(workspace.load(), workspace: root).isEmpty)
        try workspace.write("config/default.yaml", "features: { x: { enabled: true } }\nauth: { tokens_env: MY_TOKENS }\n")
        let problems = EnvExample.undocumented(workspace.load(), workspace: root)
        #expect(problems.count == 1)
        #expect(problems.first?.message.hasPrefix("variable MY_TOKENS is not listed in ") == true)
        #expect(problems.first?.position.file.hasSuffix("config/default.yaml") == true)
        #expect(problems.first?.position.line == 2)
    }
}

@Suite struct PresentationTests {
    @Test func matrixListsEveryServerWithMergedLimits() throws {
        let text = manifest(
            "a",
            "homepage: https://a.dev\nenv: { T: \"${A_TOKEN}\", M: \"${A_MODE:-x}\" }\nsecrets: [A_TOKEN]\nscopes: [\"repo:read\"]\negress: [api.a.dev]"
        )
        let parsed = try #require(ManifestReader.read(Array(text.utf8), file: "a.yaml", stem: "a").0)
        let other = try #require(
            ManifestReader.read(Array(manifest("b", "limits: { rps: 0.5 }\nisolation: network").utf8), file: "b.yaml", stem: "b").0)
        let defaults = try parse("limits: { rps: 4 }\n")
        let markdown = CapabilityMatrix.markdown([other, parsed], defaults: defaults)
        let rows = markdown.split(separator: "\n").filter { $0.hasPrefix("| [") || $0.hasPrefix("| b") }
        #expect(rows.count == 2)
        #expect(
            rows[0]
                == "| [a](https://a.dev) | test server a | stdio | `A_TOKEN` *secret*, `A_MODE` | `repo:read` | static secret (no identity route documented) | `api.a.dev` | none | 4 rps, burst 20, 8 concurrent, 30s timeout |"
        )
        #expect(rows[1] == "| b | test server b | stdio | — | — | — | none | network | 0.5 rps, burst 20, 8 concurrent, 30s timeout |")
    }

    @Test func jsonSchemaCarriesTheSameRules() {
        let document = JSONSchemaWriter.document(ManifestSchema.schema, id: "id", title: "t").rendered()
        #expect(document.hasPrefix(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"id","title":"t","type":"object""#))
        #expect(document.contains(#""required":["name","description","transport"],"additionalProperties":false"#))
        #expect(
            document.contains(
                #"{"if":{"properties":{"transport":{"const":"stdio"}},"required":["transport"]},"then":{"required":["command"],"properties":{"url":false}}}"#
            ))
        #expect(document.contains(StringFormat.hostPattern.pattern?.replacingOccurrences(of: "\\", with: "\\\\") ?? "∅"))
        let config = JSONSchemaWriter.document(ConfigSchema.schema, id: "c", title: "c").rendered()
        #expect(config.contains(#""enabled":{"type":"boolean""#))
    }
}

@Suite struct ReviewRegressionTests {
    /// A `.env` saved with CRLF endings was read as one long line: the token swallowed the next
    /// variable and the feature switch after it was lost.
    @Test func dotEnvWithCRLFEndingsReadsEveryLine() {
        let (file, diagnostics) = DotEnvFile.parse("A=abc\r\nB=true\r\n", file: ".env")
        #expect(diagnostics.isEmpty)
        #expect(file.values.map(\.0) == ["A", "B"])
        #expect(file.values.first?.1 == "abc")
    }

    /// `${VAR}` in config that is unset fell back to the built-in value without a word.
    @Test func configInterpolationNeedsItsVariables() throws {
        let layer = try parse("audit: { path: \"${AUDIT_DIR}/a\" }\notel: { endpoint: \"${OTEL_URL}\" }\n")
        let (config, diagnostics) = ConfigLayers.merge([layer], environment: Environment(["OTEL_URL": "nope"]))
        #expect(config == nil)
        #expect(
            summaries(diagnostics) == [
                "1:16: audit.path: needs AUDIT_DIR, which is not set",
                "2:19: otel.endpoint: resolves to \"nope\", which is not an http(s) URL",
            ])
        let (ok, _) = ConfigLayers.merge([layer], environment: Environment(["OTEL_URL": "http://127.0.0.1:4318", "AUDIT_DIR": "var"]))
        #expect(ok?.auditPath == "var/a")
        #expect(ok?.variables.map(\.name) == ["AUDIT_DIR", "OTEL_URL"])
        let (tls, problems) = ConfigLayers.merge([layer], environment: Environment(["OTEL_URL": "https://c:4318", "AUDIT_DIR": "var"]))
        #expect(tls == nil)
        #expect(summaries(problems).first?.hasPrefix("2:19: otel.endpoint: https is not supported for span export") == true)
    }

    /// A manifest that breaks a rule together with a default was reported at the default, in config.
    @Test func crossFieldProblemsCausedByAManifestAreReportedInIt() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "defaults: { health: { timeout: 5s } }\n")
        try workspace.write("servers/a.yaml", manifest("a", "health: { interval: 2s }"))
        let load = workspace.load()
        let problem = try #require(load.diagnostics.first)
        #expect(problem.position.file.hasSuffix("servers/a.yaml"))
        #expect(problem.position.line == 5)
        #expect(problem.hint?.contains("config/default.yaml:1:32") == true)
    }

    /// 20,000 repeated items produced 20,000 diagnostics, each printing the whole line.
    @Test func diagnosticsAreCappedPerFile() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/a.yaml", manifest("a", "scopes: [" + Array(repeating: "x", count: 500).joined(separator: ",") + "]"))
        let load = workspace.load()
        #expect(load.diagnostics.count == 51)
        #expect(load.diagnostics.last?.message == "449 more problems in this file are not shown")
    }

    /// Appending to an open collection copied it each time; a long list must parse in linear time.
    @Test func longCollectionsParse() throws {
        let items = (0..<50_000).map(String.init).joined(separator: ",")
        #expect(try parse("a: [\(items)]\n")["a"]?.items?.count == 50_000)
    }

    @Test func sizesThatOverflowAreInvalidAndLoopbackIsARealAddress() {
        #expect(ByteSize.parse("17179869184GiB") == nil)
        #expect(ListenAddress("127.evil.example.com:80")?.isLoopback == false)
        #expect(ListenAddress("127.0.0.9:80")?.isLoopback == true)
        #expect(ListenAddress("[１]:80") == nil)
        #expect(StringFormat.url.check("https://x.com/a\u{FEFF}b") != nil)
    }
}

@Suite struct LastGoodTests {
    /// An invalid edit must change nothing that runs: the manifest keeps its last good
    /// content, and an invalid config layer keeps the whole last good config.
    @Test func anInvalidEditKeepsTheLastGoodContentFileByFile() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/a.yaml", manifest("a", "limits: { rps: 5, burst: 5 }"))
        try workspace.write("config/default.yaml", "features: { a: { enabled: true } }\n")
        let first = workspace.load()
        #expect(first.state?.servers["a"]?.policies.limits.rps == 5)

        try workspace.write("servers/a.yaml", manifest("a", "limits: { rps: fast }"))
        let broken = Workspace(root: workspace.root, envName: nil).load(Environment([:]), lastGood: first.lastGood)
        #expect(broken.state?.servers["a"]?.policies.limits.rps == 5)
        #expect(broken.keptLastGood == [workspace.root + "/servers/a.yaml"])
        #expect(!broken.diagnostics.isEmpty)

        try workspace.write("config/default.yaml", "features: { a: { enabled: yes } }\n")
        let brokenConfig = Workspace(root: workspace.root, envName: nil).load(Environment([:]), lastGood: broken.lastGood)
        #expect(brokenConfig.state?.servers["a"] != nil)
        #expect(brokenConfig.keptLastGood.contains(workspace.root + "/config/default.yaml"))

        // A file that is really gone is gone, whatever its last good content.
        try FileManager.default.removeItem(atPath: workspace.root + "/servers/a.yaml")
        let gone = Workspace(root: workspace.root, envName: nil).load(Environment([:]), lastGood: brokenConfig.lastGood)
        #expect(gone.state?.servers["a"] == nil)
        #expect(gone.keptLastGood == [workspace.root + "/config/default.yaml"])
    }
}

@Suite struct LastGoodCrossFieldTests {
    /// An edit that parses but breaks a cross-field rule must not read as a removal: the
    /// server keeps its last good spec.
    @Test func aCrossFieldErrorKeepsTheLastGoodManifest() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/a.yaml", manifest("a", "health: { interval: 5s, timeout: 1s }"))
        try workspace.write("config/default.yaml", "features: { a: { enabled: true } }\n")
        let first = workspace.load()
        try workspace.write("servers/a.yaml", manifest("a", "health: { interval: 5s, timeout: 9s }"))
        let broken = Workspace(root: workspace.root, envName: nil).load(Environment([:]), lastGood: first.lastGood)
        #expect(broken.state?.servers["a"]?.policies.health.timeout == .seconds(1))
        #expect(broken.keptLastGood == [workspace.root + "/servers/a.yaml"])
        #expect(broken.diagnostics.contains { $0.severity == .error })
    }

    /// A FIFO named like a manifest is refused with a diagnostic instead of blocking the load.
    @Test func aFIFOIsRefusedNotOpened() throws {
        let workspace = try TemporaryWorkspace()
        #expect(mkfifo(workspace.root + "/servers/zz.yaml", 0o600) == 0)
        let load = workspace.load()
        #expect(load.diagnostics.contains { $0.message.contains("not a regular file") })
    }
}
