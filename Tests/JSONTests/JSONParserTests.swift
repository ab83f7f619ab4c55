import Testing

@testable import JSON

@Suite struct JSONParserTests {
    @Test func parsesEveryKindOfValueInOrder() throws {
        let value = try JSONParser.parse(#" {"b": [1, -2.5e1, true, false, null], "a": "x\n\u00e9\ud83d\ude00"} "#)
        #expect(value == .object([("b", [1, .double(-25), true, false, .null]), ("a", .string("x\né😀"))]))
        #expect(value["a"]?.stringValue == "x\né😀")
        #expect(value["b"]?.arrayValue?.first?.intValue == 1)
        #expect(try JSONParser.parse("9223372036854775807") == .int(Int.max))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
        #expect(try JSONParser.parse("0.5").doubleValue == 0.5)
    }

    @Test(arguments: [
        ("", "byte 0: expected a value, got end of input"),
        ("{\"a\":1,}", "byte 7: expected a string key, got '}'"),
        ("[1 2]", "byte 3: expected ',' or ']', got '2'"),
        ("{\"a\":1,\"a\":2}", "byte 7: duplicate key \"a\""),
        ("01", "byte 0: leading zero in a number"),
        ("1.", "byte 2: expected a digit after '.', got end of input"),
        ("\"\\x\"", "byte 2: invalid escape \\'x'"),
        ("\"\\ud800\"", "byte 7: lone high surrogate \\ud800"),
        ("\"a\tb\"", "byte 2: control character 0x9 in a string (escape it)"),
        ("\"abc", "byte 4: unterminated string"),
        ("tru", "byte 3: expected true, got end of input"),
        ("[nux]", "byte 3: expected null, got 'x'"),
        (#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"c":10}"#, "byte 55: duplicate key \"c\""),
        ("{} x", "byte 3: unexpected 'x' after the value"),
        ("1e999", "byte 0: number 1e999 is out of range"),
    ])
    func rejectsWithAPreciseOffset(input: String, message: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(input) }
        do {
            _ = try JSONParser.parse(input)
        } catch {
            #expect(error.description == message)
        }
    }

    /// Deep nesting from a hostile peer must be an error, never a stack overflow.
    @Test func limitsNesting() {
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        #expect(throws: Never.self) { try JSONParser.parse(String(repeating: "[", count: 128) + String(repeating: "]", count: 128)) }
    }

    /// Keys compare as bytes: canonically equivalent spellings are two different keys.
    @Test func keysThatAreCanonicallyEquivalentAreNotDuplicates() throws {
        let value = try JSONParser.parse(#"{"\u00e9":1,"e\u0301":2}"#)
        #expect(value.objectValue?.count == 2)
    }

    @Test func rejectsInvalidUTF8InStrings() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xFF, 0x22]) }
        // Without an escape (the fast path) and before one (the slow path), at the string's start.
        for bytes: [UInt8] in [[0x22, 0x41, 0xFF, 0x22], [0x22, 0x41, 0xFF, 0x5C, 0x6E, 0x22]] {
            do {
                _ = try JSONParser.parse(bytes)
                Issue.record("accepted invalid UTF-8")
            } catch {
                #expect(error.description == "byte 1: invalid UTF-8 in a string")
            }
        }
    }

    @Test func roundTripsThroughTheRenderer() throws {
        let value: JSONValue = .object([("k", .string("q\"\\\u{1}")), ("n", [1, .double(0.25)])])
        #expect(try JSONParser.parse(value.rendered()) == value)
    }

    /// Strings without escapes take a fast path; they must read exactly as the slow one does.
    @Test func plainAndEscapedStringsReadTheSame() throws {
        let plain = try JSONParser.parse(Array(#"["é😀", "ascii", ""]"#.utf8))
        let escaped = try JSONParser.parse(#"["\u00e9\ud83d\ude00", "asc\u0069i", ""]"#)
        #expect(plain == escaped)
        // Canonically equivalent keys written as raw UTF-8 are still two keys.
        #expect(try JSONParser.parse(Array("{\"\u{e9}\":1,\"e\u{301}\":2}".utf8)).objectValue?.count == 2)
    }

    /// The escape path copies the runs between escapes whole: raw UTF-8 next to escapes, escapes
    /// at both ends and escaped JSON text (what tool results carry) read back exactly.
    @Test func runsBetweenEscapesAreKeptWhole() throws {
        let text = "\"é\\n😀\\u00e9x\\\"\\\\\\t\""
        #expect(try JSONParser.parse(Array(text.utf8)) == .string("é\n😀éx\"\\\t"))
        let nested = #"{"text":"{\n  \"timezone\": \"UTC\",\n  \"is_dst\": false\n}"}"#
        #expect(try JSONParser.parse(nested)["text"] == .string("{\n  \"timezone\": \"UTC\",\n  \"is_dst\": false\n}"))
        for string in ["\"start", "end\n", "\u{1}é\u{1f}", "mid\\dle", "😀\"😀"] {
            #expect(try JSONParser.parse(JSONValue.string(string).rendered()) == .string(string))
        }
    }

    @Test func integersAreExactUpToIntMax() throws {
        #expect(try JSONParser.parse("-123456789012345678") == .int(-123_456_789_012_345_678))
        #expect(try JSONParser.parse("1234567890123456789") == .int(1_234_567_890_123_456_789))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(Int.min))
        #expect(try JSONParser.parse("-0") == .int(0))
        // The edges of the fast path (18 digits) and the first value past it.
        #expect(try JSONParser.parse("999999999999999999") == .int(999_999_999_999_999_999))
        #expect(try JSONParser.parse("-999999999999999999") == .int(-999_999_999_999_999_999))
        #expect(try JSONParser.parse("1000000000000000000") == .int(1_000_000_000_000_000_000))
        #expect(try JSONParser.parse("-9223372036854775809") == .double(-9.223_372_036_854_775_808e18))
    }

    @Test func rendersCompactAndPrettyExactly() {
        let value: JSONValue = .object([("a", [1, .null]), ("b", .object([])), ("c", []), ("d", .string("é\u{7}\r\t/"))])
        #expect(value.rendered() == #"{"a":[1,null],"b":{},"c":[],"d":"é\u0007\r\t/"}"#)
        #expect(
            value.rendered(pretty: true)
                == "{\n  \"a\": [\n    1,\n    null\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": \"é\\u0007\\r\\t/\"\n}")
        #expect(JSONValue.double(.nan).rendered() == "null")
        #expect(JSONValue.double(2).rendered() == "2")
        #expect(JSONValue.double(0.1).rendered() == "0.1")
        #expect(value.renderedBytes() == Array(value.rendered().utf8))
    }
}
