import Desired
import Foundation
import Testing

/// `isolation: none | network` in manifests and `defaults:`: values, errors with positions and
/// hints, the http-with-command rule, inheritance, and the process hash.
@Suite struct IsolationTests {
    private func load(_ files: [String: String], enabled: [String]) throws -> Workspace.Load {
        let workspace = try TemporaryWorkspace()
        var config = files["config/default.yaml"] ?? ""
        config += "\nfeatures: { " + enabled.map { "\($0): { enabled: true }" }.joined(separator: ", ") + " }\n"
        try workspace.write("config/default.yaml", config)
        for (path, text) in files where path != "config/default.yaml" { try workspace.write(path, text) }
        return workspace.load()
    }

    @Test func bothValuesAreReadAndNoneIsTheDefault() throws {
        let result = try load(
            [
                "servers/a.yaml": manifest("a", "isolation: network"), "servers/b.yaml": manifest("b", "isolation: none"),
                "servers/c.yaml": manifest("c"),
            ],
            enabled: ["a", "b", "c"])
        #expect(result.diagnostics.isEmpty)
        #expect(result.state?.servers["a"]?.isolation == Isolation.network)
        #expect(result.state?.servers["b"]?.isolation == Isolation.none)
        #expect(result.state?.servers["c"]?.isolation == Isolation.none)
    }

    @Test func aMisspelledValueIsAnErrorAtItsPositionWithAHint() throws {
        let text = manifest("a", "isolation: netwrok")
        let (parsed, diagnostics) = ManifestReader.read(Array(text.utf8), file: "servers/a.yaml", stem: "a")
        #expect(parsed == nil)
        let error = try #require(diagnostics.first)
        #expect("\(error)" == "servers/a.yaml:5:12: error: isolation: \"netwrok\" is not one of \"none\", \"network\"")
        #expect(error.hint == "did you mean \"network\"?")
        // A misspelled key gets its own hint.
        let (_, keyDiagnostics) = ManifestReader.read(Array(manifest("a", "isolaton: network").utf8), file: "servers/a.yaml", stem: "a")
        #expect(keyDiagnostics.first?.hint == "did you mean \"isolation\"?")
    }

    @Test func defaultsAreInheritedAndAManifestOverridesThem() throws {
        let result = try load(
            [
                "config/default.yaml": "defaults: { isolation: network }",
                "servers/a.yaml": manifest("a"), "servers/b.yaml": manifest("b", "isolation: none"),
            ], enabled: ["a", "b"])
        #expect(result.diagnostics.isEmpty)
        #expect(result.state?.servers["a"]?.isolation == Isolation.network)
        #expect(result.state?.servers["b"]?.isolation == Isolation.none)
        // And a bad value in defaults is an error in the config file.
        let bad = try load(["config/default.yaml": "defaults: { isolation: yes }", "servers/a.yaml": manifest("a")], enabled: ["a"])
        #expect(bad.diagnostics.contains { $0.position.file.hasSuffix("config/default.yaml") && $0.path == "defaults.isolation" })
    }

    static let httpWithCommand = """
        name: web
        description: a local HTTP server
        transport: http
        url: http://127.0.0.1:9000/mcp
        command: [mcp-demo, --http]
        """

    @Test func anHTTPServerWithACommandCannotBeIsolated() throws {
        let written = try load(["servers/web.yaml": Self.httpWithCommand + "\nisolation: network\n"], enabled: ["web"])
        let error = try #require(written.diagnostics.first { $0.severity == .error })
        #expect(error.position.line == 6)
        #expect(error.path == "isolation")
        #expect(error.message.hasPrefix("network is not possible for a transport: http server with a command"))
        #expect(written.state?.servers["web"] == nil)
        // From defaults: the error is the manifest's, and the hint names the default.
        let inherited = try load(
            ["config/default.yaml": "defaults: { isolation: network }", "servers/web.yaml": Self.httpWithCommand], enabled: ["web"])
        let fromDefault = try #require(inherited.diagnostics.first { $0.severity == .error })
        #expect(fromDefault.position.file.hasSuffix("servers/web.yaml"))
        #expect(fromDefault.hint?.contains("the default from") == true)
        #expect(fromDefault.hint?.contains("write isolation: none") == true)
        #expect(inherited.state?.servers["web"] == nil)
        // Saying none in the manifest fixes it.
        let fixed = try load(
            ["config/default.yaml": "defaults: { isolation: network }", "servers/web.yaml": Self.httpWithCommand + "\nisolation: none\n"],
            enabled: ["web"])
        #expect(fixed.diagnostics.filter { $0.severity == .error }.isEmpty)
        #expect(fixed.state?.servers["web"]?.isolation == Isolation.none)
    }

    @Test func aRemoteHTTPServerIgnoresIsolationWithAWarningWhenWritten() throws {
        let remote = "name: far\ndescription: remote\ntransport: http\nurl: https://example.com/mcp\nisolation: network\n"
        let result = try load(["servers/far.yaml": remote], enabled: ["far"])
        #expect(result.diagnostics.map(\.severity) == [.warning])
        #expect(result.state?.servers["far"] != nil)
    }

    @Test func isolationIsPartOfTheProcessHashOnly() throws {
        let plain = try load(["servers/a.yaml": manifest("a")], enabled: ["a"]).state?.servers["a"]
        let isolated = try load(["servers/a.yaml": manifest("a", "isolation: network")], enabled: ["a"]).state?.servers["a"]
        let explicitNone = try load(["servers/a.yaml": manifest("a", "isolation: none")], enabled: ["a"]).state?.servers["a"]
        #expect(plain?.processHash != nil)
        #expect(plain?.processHash != isolated?.processHash)
        #expect(plain?.policyHash == isolated?.policyHash)
        // none written or left out is the same process.
        #expect(plain?.processHash == explicitNone?.processHash)
    }

    @Test func theSchemaAndTheMatrixShowIt() throws {
        let manifests = [
            try #require(ManifestReader.read(Array(manifest("a", "isolation: network").utf8), file: "a.yaml", stem: "a").0),
            try #require(ManifestReader.read(Array(manifest("b").utf8), file: "b.yaml", stem: "b").0),
        ]
        let matrix = CapabilityMatrix.markdown(manifests, defaults: YAMLNode.emptyMapping(at: .origin("x")))
        #expect(matrix.contains("| egress | isolation | limits |"))
        #expect(matrix.split(separator: "\n").first { $0.hasPrefix("| a |") }?.contains("| network |") == true)
        #expect(matrix.split(separator: "\n").first { $0.hasPrefix("| b |") }?.contains("| none |") == true)
    }
}
