import Desired
import Testing

@Suite struct ManifestValidationTests {
    private func read(_ text: String, stem: String = "demo") -> (Manifest?, [String]) {
        let (manifest, diagnostics) = ManifestReader.read(Array(text.utf8), file: "servers/\(stem).yaml", stem: stem)
        return (manifest, summaries(diagnostics))
    }

    @Test func validManifestDecodesEveryField() throws {
        let (manifest, errors) = read(
            """
            name: demo
            description: A demo
            homepage: https://example.com
            transport: stdio
            command: [mcp-demo, "--port=${PORT:-1}"]
            cwd: var/demo
            env: { TOKEN: "${DEMO_TOKEN}", MODE: fast }
            secrets: [DEMO_TOKEN]
            scopes: [read]
            egress: [api.example.com]
            limits: { rps: 2.5 }
            """)
        #expect(errors.isEmpty)
        let value = try #require(manifest)
        #expect(value.name == "demo")
        #expect(value.homepage == "https://example.com")
        #expect(value.command.map(\.raw) == ["mcp-demo", "--port=${PORT:-1}"])
        #expect(value.cwd?.raw == "var/demo")
        #expect(value.env.map(\.name) == ["TOKEN", "MODE"])
        #expect(value.variables.map(\.name) == ["DEMO_TOKEN", "PORT", "DEMO_TOKEN"])
        #expect(value.policies["limits"]?["rps"]?.text == "2.5")
        #expect(value.policies["name"] == nil)
    }

    @Test func everyErrorIsReportedInOneRun() {
        let (manifest, errors) = read(
            """
            name: demo
            description: x
            transport: stdio
            command: mcp-demo
            limits: { rps: fast, burts: 3 }
            enviroment: {}
            """)
        #expect(manifest == nil)
        #expect(
            errors == [
                "4:10: command: expected a list, got text \"mcp-demo\"",
                "5:16: limits.rps: expected a number, got text \"fast\"",
                "5:22: limits.burts: unknown key",
                "6:1: enviroment: unknown key",
            ])
    }

    @Test func unknownKeysSuggestTheClosestKey() {
        let diagnostics = SchemaValidator.validate(
            (try? parse("name: x\nenviroment: {}\nzzzzzz: 1\ntransprot: stdio\n")) ?? .emptyMapping(at: .origin("x")),
            against: ManifestSchema.schema)
        #expect(diagnostics.first { $0.path == "enviroment" }?.hint?.hasPrefix("allowed keys:") == true)
        #expect(diagnostics.first { $0.path == "transprot" }?.hint == "did you mean \"transport\"?")
        #expect(diagnostics.first { $0.path == "zzzzzz" }?.hint?.hasPrefix("allowed keys: name, description") == true)
    }

    @Test func transportDecidesWhichKeysAreRequired() {
        #expect(read("name: demo\ndescription: x\ntransport: stdio\n").1 == ["1:1: command: is required when transport is stdio"])
        #expect(read("name: demo\ndescription: x\ntransport: http\n").1 == ["1:1: url: is required when transport is http"])
        #expect(
            read("name: demo\ndescription: x\ntransport: stdio\ncommand: [a]\nurl: http://x\n").1 == [
                "5:1: url: is not allowed when transport is stdio"
            ])
        #expect(read("name: demo\ndescription: x\ntransport: http\nurl: ${DEMO_URL}\n").1.isEmpty)
        #expect(
            read("name: demo\ndescription: x\ntransport: http\nurl: \"${DEMO_URL\"\n").1 == ["4:6: url: unterminated ${ in \"${DEMO_URL\""])
    }

    @Test func nameMustEqualTheFileStem() {
        #expect(read(manifest("other"), stem: "demo").1 == ["1:7: name: \"other\" must equal the file's name \"demo\""])
    }

    @Test func requiredKeysAndEmptyFiles() {
        #expect(read("transport: stdio\ncommand: [a]\n").1 == ["1:1: name: is required", "1:1: description: is required"])
        #expect(read("# nothing\n").1 == ["1:1: the file has no content"])
        #expect(read("- a\n- b\n").1 == ["1:1: expected a map, got a list"])
        #expect(read("name: [\n").1.first?.hasPrefix("2:1: YAML syntax error") == true)
    }

    @Test func typesRangesAndBooleansAreStrict() {
        let errors = read(
            manifest(
                "demo",
                """
                env: { PORT: 8080, FLAG: true, NO: no }
                limits: { rps: 0, burst: 2.5, concurrency: 4.0, request_timeout: 30 }
                health: { failure_threshold: "3" }
                secrets: [A, A]
                """)
        ).1
        #expect(
            errors == [
                "5:14: env.PORT: expected text, got the number 8080",
                "5:26: env.FLAG: expected text, got true",
                "6:16: limits.rps: 0 is out of range; it must be between 0.1 and 100000",
                "6:26: limits.burst: expected a whole number, got the number 2.5",
                "6:66: limits.request_timeout: expected text, got the number 30",
                "7:30: health.failure_threshold: expected a whole number, got text \"3\"",
                "8:14: secrets[1]: repeats item 0 (text \"A\")",
            ])
    }

    @Test func arraysHaveBounds() {
        #expect(read("name: demo\ndescription: x\ntransport: stdio\ncommand: []\n").1 == ["4:10: command: needs at least 1 item"])
        let many = (0..<300).map { "a\($0)" }.joined(separator: ", ")
        #expect(
            read("name: demo\ndescription: x\ntransport: stdio\ncommand: [\(many)]\n").1 == [
                "4:10: command: has 300 items; at most 256 are allowed"
            ])
    }

    @Test func envKeysAreChecked() {
        #expect(
            read(manifest("demo", "env: { BAD-KEY: x }")).1 == ["5:8: env.BAD-KEY: key \"BAD-KEY\" is not an environment variable name"])
        #expect(read(manifest("demo", "env: []")).1 == ["5:6: env: expected a map, got a list"])
    }

    @Test func booleanHintsSayTrueOrFalse() throws {
        let schema = Schema.boolean(description: "")
        for (text, hint) in [("yes", "write true"), ("off", "write false"), ("True", "write true"), ("maybe", nil)] {
            let diagnostics = SchemaValidator.validate(YAMLNode(.scalar(text, plain: true), at: .origin("x")), against: schema)
            #expect(diagnostics.count == 1)
            #expect(diagnostics.first?.hint?.components(separatedBy: " (").first == hint, "\(text)")
        }
        #expect(SchemaValidator.validate(YAMLNode(.scalar("true", plain: true), at: .origin("x")), against: schema).isEmpty)
    }

    @Test func durationWithoutUnitGetsAUnitHint() throws {
        let node = try parse("request_timeout: 30\n")
        let diagnostics = SchemaValidator.validate(node, against: PolicySchemas.limits)
        #expect(diagnostics.first?.hint == "a duration needs a unit: 30s or 30ms")
    }
}
