import Desired
import Testing

@Suite struct InterpolationTests {
    private func resolve(_ text: String, _ values: [String: String] = [:]) throws -> Result<String, MissingVariables> {
        try Interpolation.parse(text).get().resolve(Environment(values))
    }

    @Test func variablesDefaultsAndEscapes() throws {
        #expect(try resolve("a${X}b", ["X": "1"]).get() == "a1b")
        #expect(try resolve("${X:-fallback}").get() == "fallback")
        #expect(try resolve("${X:-fallback}", ["X": ""]).get() == "fallback")
        #expect(try resolve("${X:-}").get() == "")
        #expect(try resolve("${X:-a}}", [:]).get() == "a}")
        #expect(try resolve("$$HOME and $${X}").get() == "$HOME and ${X}")
        #expect(try resolve("${X:-a:b}", ["X": "set"]).get() == "set")
        #expect(try resolve("plain").get() == "plain")
    }

    @Test func unsetOrEmptyWithoutDefaultIsMissing() throws {
        #expect(try resolve("${A}${B}${A}", [:]) == .failure(MissingVariables(names: ["A", "B", "A"])))
        #expect(try resolve("x${A}", ["A": ""]) == .failure(MissingVariables(names: ["A"])), "empty counts as missing")
    }

    @Test func requiredAndAllVariablesAreListed() throws {
        let parsed = try Interpolation.parse("${A} ${B:-x} $$C").get()
        #expect(parsed.variables == ["A", "B"])
        #expect(parsed.hasVariables)
        #expect(try !Interpolation.parse("$$").get().hasVariables)
    }

    @Test(arguments: [
        ("$HOME", "a lone $ in \"$HOME\""), ("trailing $", "a lone $ in \"trailing $\""),
        ("${X", "unterminated ${ in \"${X\""), ("${}", "\"${}\" is not a variable reference"),
        ("${X-y}", "\"${X-y}\" is not a variable reference"), ("${1X}", "\"${1X}\" is not a variable reference"),
        ("${X:?err}", "\"${X:?err}\" is not a variable reference"),
        ("${A:-${B}}", "the default in \"${A:-${B}\" holds $ or {"),
    ])
    func malformedReferencesAreErrors(text: String, message: String) {
        guard case .failure(let error) = Interpolation.parse(text) else {
            Issue.record("\(text) parsed")
            return
        }
        #expect(error.message == message)
        #expect(error.hint != nil)
    }
}

@Suite struct DotEnvFileTests {
    @Test func readsAssignmentsCommentsExportAndQuotes() {
        let text = """
            # comment
            A=1
            export B = two
            C="quoted \\"x\\"\\nline"
            D='single $X'
            E=value # trailing comment
            F=
            A=override
            """
        let (file, diagnostics) = DotEnvFile.parse(text, file: ".env")
        #expect(diagnostics.isEmpty)
        let values = Dictionary(uniqueKeysWithValues: file.values.map { ($0.0, $0.1) })
        #expect(values == ["A": "override", "B": "two", "C": "quoted \"x\"\nline", "D": "single $X", "E": "value", "F": ""])
        #expect(file.lines["A"] == 2)
        #expect(file.lines["F"] == 7)
    }

    @Test func malformedLinesAreDiagnosedAndTheRestKept() {
        let (file, diagnostics) = DotEnvFile.parse("JUNK\n1BAD=x\nOK=1\nQ=\"open\n", file: ".env")
        #expect(file.values.map(\.0) == ["OK"])
        #expect(
            summaries(diagnostics) == ["1:1: expected NAME=value", "2:1: \"1BAD\" is not a variable name", "4:1: Q: unterminated quote"])
    }

    @Test func realEnvironmentWinsOverTheFile() {
        let (file, _) = DotEnvFile.parse("A=file\nB=file\n", file: ".env")
        let merged = Environment(["A": "real"]).addingDefaults(file)
        #expect(merged["A"] == "real")
        #expect(merged["B"] == "file")
        #expect(merged.withPrefix("B").map(\.name) == ["B"])
    }
}
