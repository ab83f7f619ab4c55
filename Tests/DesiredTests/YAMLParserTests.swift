import Desired
import Testing

@Suite struct YAMLParserTests {
    @Test func positionsAreOneBasedOnEveryNode() throws {
        let root = try parse("name: demo\nlimits:\n  rps: 5\nlist: [a, b]\n")
        #expect(root.position == SourcePosition(file: "test.yaml", line: 1, column: 1))
        #expect(root["name"]?.position == SourcePosition(file: "test.yaml", line: 1, column: 7))
        #expect(root.pair("limits")?.keyPosition == SourcePosition(file: "test.yaml", line: 2, column: 1))
        #expect(root["limits"]?["rps"]?.position == SourcePosition(file: "test.yaml", line: 3, column: 8))
        #expect(root["list"]?.items?[1].position == SourcePosition(file: "test.yaml", line: 4, column: 11))
    }

    @Test func scalarsKeepWhetherTheyWereQuoted() throws {
        let root = try parse("a: 8080\nb: \"8080\"\nc: 'x'\n")
        #expect(root["a"]?.kind == .scalar("8080", plain: true))
        #expect(root["b"]?.kind == .scalar("8080", plain: false))
        #expect(root["c"]?.kind == .scalar("x", plain: false))
    }

    @Test func emptyDocumentHasNoRoot() throws {
        #expect(try YAMLParser.parse(Array("# only a comment\n".utf8), file: "x") == nil)
        #expect(try YAMLParser.parse([], file: "x") == nil)
    }

    @Test func duplicateKeysAreRejectedWithBothLines() throws {
        let error = try #require(parseError("a: 1\nb:\n  c: 1\n  c: 2\n"))
        #expect(error.position.line == 4)
        #expect(error.position.column == 3)
        #expect(error.message == "duplicate key \"c\" (first defined at line 3)")
    }

    @Test func secondDocumentIsRejected() throws {
        let error = try #require(parseError("a: 1\n---\nb: 2\n"))
        #expect(error.position.line == 2)
        #expect(error.message.contains("one YAML document"))
    }

    @Test func invalidUTF8IsRejectedAtItsByte() throws {
        let error = try #require(parseError(Array("a: ok\nb: ".utf8) + [0xC3, 0x28]))
        #expect(error.position == SourcePosition(file: "test.yaml", line: 2, column: 4))
        #expect(error.message.hasPrefix("invalid UTF-8"))
    }

    @Test func overlongAndSurrogateEncodingsAreInvalid() {
        #expect(parseError([0xC0, 0xAF]) != nil)
        #expect(parseError([0xED, 0xA0, 0x80]) != nil)
        #expect(parseError([0xF4, 0x90, 0x80, 0x80]) != nil)
        #expect(parseError(Array("a: héllo €𝄞\n".utf8)) == nil)
    }

    @Test func fileSizeLimitIsEnforcedBeforeParsing() throws {
        let error = try #require(parseError("a: 123456789\n", limits: YAMLLimits(maxBytes: 8)))
        #expect(error.message == "file is 13 bytes; the limit is 8 bytes")
    }

    @Test func nestingDepthIsLimited() throws {
        let deep = String(repeating: "[", count: 70) + String(repeating: "]", count: 70)
        let error = try #require(parseError(deep))
        #expect(error.message == "nesting is deeper than 64 levels")
        #expect(parseError(String(repeating: "[", count: 64) + String(repeating: "]", count: 64)) == nil)
    }

    @Test func billionLaughsStopsAtTheAliasBudget() throws {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1...9 {
            let refs = Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ")
            text += "a\(level): &a\(level) [\(refs)]\n"
        }
        let error = try #require(parseError(text))
        #expect(error.message == "aliases expand to more than 10000 nodes")
    }

    @Test func aliasesWithinBudgetExpandToCopies() throws {
        let root = try parse("base: &b { rps: 5 }\nother: *b\n")
        #expect(root["other"]?["rps"]?.text == "5")
        #expect(root["other"]?.position.line == 2)
    }

    @Test func undefinedAliasIsAnError() throws {
        let error = try #require(parseError("a: *nope\n"))
        #expect(error.message == "alias *nope refers to no anchor defined before it")
    }

    @Test func tagsOtherThanStrAreRejected() throws {
        #expect(try parse("a: !!str 5\n")["a"]?.kind == .scalar("5", plain: false))
        #expect(parseError("a: !!python/object:os.system x\n")?.message == "unsupported YAML tag tag:yaml.org,2002:python/object:os.system")
        #expect(parseError("a: !custom {b: 1}\n")?.message == "unsupported YAML tag !custom")
        #expect(parseError("a: !!seq [1]\n") == nil)
    }

    @Test func complexKeysAreRejected() throws {
        let error = try #require(parseError("{a: 1}: x\n"))
        #expect(error.message == "mapping keys must be plain text, not a list or a map")
    }

    @Test func syntaxErrorsCarryLibyamlsPositionAndContext() throws {
        let error = try #require(parseError("a: [1, 2\nb: 3\n"))
        #expect(error.message.hasPrefix("YAML syntax error: did not find expected ',' or ']'"))
        #expect(error.position.line == 2)
        let tabs = try #require(parseError("a:\n\tb: 1\n"))
        #expect(tabs.position.line == 2)
        #expect(tabs.hint == "YAML indents with spaces; this line has a tab")
    }

    @Test func mergeLaysMappingsDeeplyAndReplacesTheRest() throws {
        let base = try parse("a: { x: 1, y: [1, 2] }\nb: 1\n", file: "base")
        let top = try parse("a: { y: [3] , z: 2 }\nc: 3\n", file: "top")
        let merged = top.merged(over: base)
        #expect(merged["a"]?["x"]?.text == "1")
        #expect(merged["a"]?["x"]?.position.file == "base")
        #expect(merged["a"]?["y"]?.items?.map(\.text) == ["3"])
        #expect(merged["a"]?["z"]?.text == "2")
        #expect(merged["b"]?.text == "1")
        #expect(merged["c"]?.position.file == "top")
    }

    @Test func nodeCountCountsKeysAndValues() throws {
        #expect(try parse("a: [1, 2]\n").nodeCount == 5)
    }
}
