import Desired
import Testing

/// `credentials:` in a manifest: strict parsing, the cross-field rule, the route standing in
/// for the variables it replaces, and the warnings of `validate --strict`.
@Suite struct CredentialRouteTests {
    private static let cloud = """
        name: cloud
        description: a cloud API
        transport: stdio
        command: [mcp-demo]
        env:
          KEY_ID: "${KEY_ID:-}"
          KEY_SECRET: "${KEY_SECRET:-}"
          ROLE: "${ROLE:-}"
          TOKEN_FILE: "${TOKEN_FILE:-}"
        secrets: [KEY_ID, KEY_SECRET]
        credentials:
          provider: aws
          route: workload-identity
          how: use the pod's role
          uses: [ROLE, TOKEN_FILE]
          replaces: [KEY_ID, KEY_SECRET]

        """

    private func read(_ text: String) -> (Manifest?, [String]) {
        let (manifest, diagnostics) = ManifestReader.read(Array(text.utf8), file: "servers/cloud.yaml", stem: "cloud")
        return (manifest, summaries(diagnostics))
    }

    @Test func aRouteDecodesEveryField() throws {
        let (decoded, errors) = read(Self.cloud)
        #expect(errors.isEmpty)
        let route = try #require(decoded?.credentials)
        #expect(route.provider == "aws")
        #expect(route.route == .workloadIdentity)
        #expect(route.how == "use the pod's role")
        #expect(route.uses == ["ROLE", "TOKEN_FILE"])
        #expect(route.replaces == ["KEY_ID", "KEY_SECRET"])
        #expect(route.position.line == 12)
        #expect(read(manifest("cloud")).0?.credentials == nil)
    }

    @Test func unknownKeysAndValuesAreErrorsWithHints() {
        let (manifest, errors) = read(
            Self.cloud.replacingOccurrences(of: "replaces:", with: "replace:").replacingOccurrences(
                of: "provider: aws", with: "provider: amazon"))
        #expect(manifest == nil)
        #expect(errors.contains { $0.hasPrefix("12:13: credentials.provider: ") && $0.contains("amazon") }, "\(errors)")
        #expect(errors.contains { $0.hasPrefix("16:3: credentials.replace: unknown key") }, "\(errors)")
    }

    @Test func routesNeedWhatTheyReplaceAndNoneReplacesNothing() {
        let (_, missing) = read(Self.cloud.replacingOccurrences(of: "  replaces: [KEY_ID, KEY_SECRET]\n", with: ""))
        #expect(missing.contains { $0.contains("credentials") && $0.contains("replaces") }, "\(missing)")
        let none = Self.cloud.replacingOccurrences(of: "route: workload-identity", with: "route: none")
        let (manifest, errors) = read(none)
        #expect(manifest == nil)
        #expect(errors.contains { $0.contains("uses") }, "\(errors)")
        #expect(errors.contains { $0.contains("replaces") }, "\(errors)")
    }

    @Test func usesAndReplacesMustBeVariablesTheManifestReads() {
        let (manifest, errors) = read(
            Self.cloud.replacingOccurrences(of: "replaces: [KEY_ID, KEY_SECRET]", with: "replaces: [KEY_ID, KEY_SECRT]"))
        #expect(manifest == nil)
        #expect(errors == ["16:22: credentials.replaces[1]: KEY_SECRT is not a variable this manifest reads"])
        let (_, detailed) = ManifestReader.read(
            Array(Self.cloud.replacingOccurrences(of: "uses: [ROLE, TOKEN_FILE]", with: "uses: [ROLE, TOKEN_FIL]").utf8),
            file: "servers/cloud.yaml", stem: "cloud")
        #expect(detailed.first?.hint?.hasPrefix("did you mean TOKEN_FILE?") == true, "\(detailed)")
    }

    @Test func theRouteInUseStandsInForTheVariablesItReplaces() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "features: { cloud: { enabled: true } }\n")
        try workspace.write("servers/cloud.yaml", Self.cloud)
        let none = workspace.load()
        #expect(none.state?.skipped["cloud"] == .missing(["KEY_ID", "KEY_SECRET"]))
        let half = workspace.load(environment: ["ROLE": "arn:role"])
        #expect(half.state?.skipped["cloud"] == .missing(["KEY_ID", "KEY_SECRET"]))
        let route = workspace.load(environment: ["ROLE": "arn:role", "TOKEN_FILE": "/var/run/token"])
        let spec = try #require(route.state?.servers["cloud"])
        #expect(spec.env["ROLE"] == "arn:role" && spec.env["KEY_ID"] == "")
        let keys = workspace.load(environment: ["KEY_ID": "id", "KEY_SECRET": "secret"])
        #expect(keys.state?.servers["cloud"] != nil)
    }

    @Test func strictWarnsForEnabledServersWithStaticCredentialsOnly() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("servers/cloud.yaml", Self.cloud)
        let staticKeys = ["KEY_ID": "id", "KEY_SECRET": "secret"]
        func warnings(_ features: String, _ environment: [String: String]) throws -> [String] {
            try workspace.write("config/default.yaml", features)
            let state = try #require(workspace.load(environment: environment).state)
            return StaticCredentialCheck.warnings(state, environment: Environment(environment)).map(\.description)
        }
        let enabled = "features: { cloud: { enabled: true } }\n"
        #expect(try warnings("", staticKeys).isEmpty, "a disabled server is not warned about")
        #expect(try warnings(enabled, ["ROLE": "r", "TOKEN_FILE": "f"]).isEmpty)
        let found = try warnings(enabled, staticKeys)
        #expect(
            found
                == [
                    "servers/cloud.yaml:12:3: warning: credentials: cloud uses the long-lived KEY_ID, KEY_SECRET where aws offers workload identity"
                ].map { workspace.root + "/" + $0 }, "\(found)")
        #expect(!found.joined().contains("secret\""), "values are never quoted")
        #expect(try warnings(enabled, ["KEY_ID": "id"]).count == 1, "one set variable is enough, even when skipped")
    }

    @Test func routeNoneNeverWarns() throws {
        let workspace = try TemporaryWorkspace()
        try workspace.write("config/default.yaml", "features: { gh: { enabled: true } }\n")
        try workspace.write(
            "servers/gh.yaml",
            manifest(
                "gh",
                """
                env: { T: "${GH_TOKEN}" }
                credentials: { provider: github-actions, route: none, how: use the job's token }
                """))
        let state = try #require(workspace.load(environment: ["GH_TOKEN": "t"]).state)
        #expect(state.manifests["gh"]?.credentials?.route == CredentialRoute.Route.none)
        #expect(StaticCredentialCheck.warnings(state, environment: Environment(["GH_TOKEN": "t"])).isEmpty)
        #expect(CredentialRoute.Route.allCases.map(\.label) == ["workload identity", "OIDC", "none usable"])
    }
}
