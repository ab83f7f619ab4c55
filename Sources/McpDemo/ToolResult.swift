/// An era-neutral `CallToolResult` body: one text content block, optional structured content,
/// and the tool-level error flag (bad arguments are tool errors, not protocol errors).
struct ToolResult: Sendable {
    var text: String
    var structured: JSONValue?
    var isError = false

    static func failure(_ text: String) -> ToolResult { ToolResult(text: text, isError: true) }

    var json: JSONValue {
        var members: [(String, JSONValue)] = [
            ("content", .array([.object([("type", .string("text")), ("text", .string(text))])])),
            ("isError", .bool(isError)),
        ]
        if let structured { members.append(("structuredContent", structured)) }
        return .object(members)
    }
}
