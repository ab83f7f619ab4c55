import JSON
import Testing

@Suite struct JSONValueTests {
    /// `setting` replaces a key where it stands (order kept) or appends it; non-objects pass.
    @Test func settingAKeyKeepsTheOrder() {
        let value: JSONValue = .object([("a", 1), ("b", 2)])
        #expect(value.setting("a", to: "x") == .object([("a", "x"), ("b", 2)]))
        #expect(value.setting("c", to: true) == .object([("a", 1), ("b", 2), ("c", true)]))
        #expect(JSONValue.array([1]).setting("a", to: 1) == .array([1]))
    }

    @Test func rendersInOrderWithEscapes() {
        let value = JSONValue.object([
            ("b", 1), ("a", .array(["x\"\n\u{1}", true, .null])), ("d", .double(2.5)), ("e", .double(3)), ("f", .double(.nan)),
            ("g", .object([])), ("h", .array([])),
        ])
        #expect(value.rendered() == #"{"b":1,"a":["x\"\n\u0001",true,null],"d":2.5,"e":3,"f":null,"g":{},"h":[]}"#)
        #expect(JSONValue.object([("a", [1])]).rendered(pretty: true) == "{\n  \"a\": [\n    1\n  ]\n}")
        #expect(JSONValue.object([("a", 1)]) == JSONValue.object([("a", 1)]))
        #expect(JSONValue.object([("a", 1)]) != JSONValue.object([("b", 1)]))
        #expect(Set([JSONValue.string("x"), "x"]).count == 1)
    }
}
