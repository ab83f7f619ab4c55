import Desired
import Testing

@Suite struct ScalarValueTests {
    @Test(arguments: [
        ("true", ScalarValue.bool(true)), ("false", .bool(false)),
        ("yes", .string("yes")), ("no", .string("no")), ("on", .string("on")), ("True", .string("True")),
        ("~", .null), ("null", .null), ("", .null),
        ("42", .int(42)), ("-7", .int(-7)), ("+3", .int(3)), ("0x1F", .string("0x1F")),
        ("2.5", .double(2.5)), (".5", .double(0.5)), ("1e3", .double(1000)), ("1.", .double(1)),
        ("2024-01-01", .string("2024-01-01")), ("1_000", .string("1_000")), ("5s", .string("5s")),
        ("e3", .string("e3")), ("1e", .string("1e")), (".", .string(".")), ("-", .string("-")),
    ])
    func plainScalarsResolveByTheRestrictedCoreSchema(text: String, expected: ScalarValue) {
        #expect(ScalarValue(text, plain: true) == expected)
    }

    @Test func quotedScalarsAreAlwaysText() {
        #expect(ScalarValue("true", plain: false) == .string("true"))
        #expect(ScalarValue("8080", plain: false) == .string("8080"))
        #expect(ScalarValue("", plain: false) == .string(""))
    }

    @Test func infinityAndNaNAreFloats() {
        #expect(ScalarValue(".inf", plain: true) == .double(.infinity))
        #expect(ScalarValue("-.inf", plain: true) == .double(-.infinity))
        if case .double(let value) = ScalarValue(".nan", plain: true) {
            #expect(value.isNaN)
        } else {
            Issue.record("expected NaN")
        }
    }

    @Test func descriptionsNameTheValue() {
        #expect(ScalarValue.string("fast").described == "text \"fast\"")
        #expect(ScalarValue.int(3).described == "the number 3")
        #expect(ScalarValue.bool(true).described == "true")
        #expect(ScalarValue.null.described == "null")
        #expect(ScalarValue.string(String(repeating: "x", count: 50)).described.hasSuffix("…\""))
    }
}
