/// The demo's tools, in the fixed order `tools/list` returns them.
enum ToolName: String, Sendable, CaseIterable {
    case echo
    case add
    case sleep
    case clock
    case fetch
    /// Only with `--ask-roots`.
    case roots
}

/// Tool definitions as `tools/list` publishes them (identical for every era and connection).
enum ToolCatalogue {
    /// The longest `sleep` the demo accepts, in milliseconds (ten minutes).
    static let maxSleepMilliseconds = 600_000

    /// Every tool, in `ToolName.allCases` order (`roots` only when asked for).
    static func definitions(askRoots: Bool) -> [JSONValue] {
        ToolName.allCases.filter { askRoots || $0 != .roots }.map(definition)
    }

    static func definition(_ tool: ToolName) -> JSONValue {
        switch tool {
        case .echo:
            return describe(
                tool,
                title: "Echo",
                description: "Returns the given text unchanged.",
                properties: [("text", .object([("type", .string("string")), ("description", .string("Text to return."))]))],
                required: ["text"]
            )
        case .add:
            let number: (String) -> JSONValue = { .object([("type", .string("number")), ("description", .string($0))]) }
            var definition = describe(
                tool,
                title: "Add",
                description: "Adds two numbers; the sum is returned as text and as structuredContent {\"sum\": …}.",
                properties: [("a", number("First addend.")), ("b", number("Second addend."))],
                required: ["a", "b"]
            )
            if case .object(var members) = definition {
                members.append(
                    (
                        "outputSchema",
                        .object([
                            ("type", .string("object")),
                            ("properties", .object([("sum", .object([("type", .string("number"))]))])),
                            ("required", .array([.string("sum")])),
                        ])
                    ))
                definition = .object(members)
            }
            return definition
        case .sleep:
            return describe(
                tool,
                title: "Sleep",
                description: "Waits `ms` milliseconds, then returns \"slept N ms\". Sends notifications/progress about every "
                    + "100 ms when the request carries a progressToken; stops without a response when cancelled.",
                properties: [
                    (
                        "ms",
                        .object([
                            ("type", .string("integer")),
                            ("minimum", .integer(0)),
                            ("maximum", .integer(maxSleepMilliseconds)),
                            ("description", .string("How long to wait, in milliseconds.")),
                        ])
                    )
                ],
                required: ["ms"]
            )
        case .roots:
            return describe(
                tool,
                title: "Roots",
                description: "Asks the client for its roots (roots/list) and returns their URIs, one per line.",
                properties: [],
                required: []
            )
        case .fetch:
            return describe(
                tool,
                title: "Fetch",
                description: "GETs an http:// URL through the proxy the environment names (HTTP_PROXY, NO_PROXY…) and returns "
                    + "the status and up to 64 KiB of the body; for https:// it only opens a CONNECT tunnel and reports it. "
                    + "A refusal or failure is an error result.",
                properties: [
                    ("url", .object([("type", .string("string")), ("description", .string("http:// or https:// URL."))])),
                    (
                        "direct",
                        .object([
                            ("type", .string("boolean")), ("description", .string("Ignore the proxy variables and connect directly.")),
                        ])
                    ),
                ],
                required: ["url"]
            )
        case .clock:
            return describe(
                tool,
                title: "Clock",
                description: "Returns the current UTC time as ISO 8601 text.",
                properties: [],
                required: []
            )
        }
    }

    private static func describe(
        _ tool: ToolName,
        title: String,
        description: String,
        properties: [(String, JSONValue)],
        required: [String]
    ) -> JSONValue {
        var schema: [(String, JSONValue)] = [("type", .string("object")), ("properties", .object(properties))]
        if !required.isEmpty { schema.append(("required", .array(required.map(JSONValue.string)))) }
        return .object([
            ("name", .string(tool.rawValue)),
            ("title", .string(title)),
            ("description", .string(description)),
            ("inputSchema", .object(schema)),
        ])
    }
}
