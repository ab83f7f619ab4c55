import Gateway
import Tracing

/// The SERVER span of one gateway request, from what the gateway reported when it ended.
///
/// Names and attributes follow OpenTelemetry's MCP conventions where they exist: the name is
/// `{mcp.method.name} {target}` (the tool or prompt) or the method alone, with methods outside
/// MCP's set named `other` so that clients cannot grow the span names. The span's id is the one
/// the server was given as parent in `_meta.traceparent`, its parent the client's span.
enum GatewaySpan {
    /// Client-chosen strings are cut to this many characters in attributes and names.
    static let maxText = 256

    /// The span, or nil when the client's `traceparent` was not sampled. `end` is when the
    /// request ended (Unix nanoseconds); it began `record.latency` earlier.
    static func make(_ record: GatewayRecord, end: UInt64) -> Span? {
        guard record.trace.sampled else { return nil }
        let method = clip(record.method)
        let target = record.tool.map(clip)
        var attributes: [Attribute] = [
            .string("mcp.method.name", method), .string("mcp.server", clip(record.server)), .string("omni.srv", clip(record.server)),
            .string("omni.outcome", record.outcome), .int("http.response.status_code", record.status),
            .string("omni.era", record.era.rawValue),
        ]
        if let target {
            switch record.method {
            case "tools/call":
                attributes += [
                    .string("gen_ai.tool.name", target), .string("mcp.tool.name", target), .string("gen_ai.operation.name", "execute_tool"),
                ]
            default: attributes.append(.string("gen_ai.prompt.name", target))
            }
        }
        if let instance = record.instance { attributes.append(.string("omni.instance", instance.description)) }
        if record.outcome != "ok" { attributes.append(.string("error.type", record.outcome)) }
        let label = GatewayMetrics.label(record.method)
        let name = target.map { "\(label) \($0)" } ?? label
        let nanos =
            UInt64(clamping: max(0, record.latency.components.seconds)) &* 1_000_000_000
            &+ UInt64(clamping: max(0, record.latency.components.attoseconds / 1_000_000_000))
        return Span(
            traceID: record.trace.traceID, spanID: record.trace.spanID, parentSpanID: record.trace.parentSpanID, name: name,
            kind: .server, start: end &- min(end, nanos), end: end, attributes: attributes,
            // Clipped to its final length only after redaction (`TraceWiring`): a secret cut in
            // two here would no longer match the redactor, and its first part would leave.
            status: record.outcome == "ok" ? .ok : .error(clip(record.error ?? record.outcome, to: maxUnredactedText)))
    }

    /// What an error message may hold until the exporter's thread has redacted and clipped it.
    static let maxUnredactedText = 64 << 10

    static func clip(_ text: String) -> String { clip(text, to: maxText) }

    static func clip(_ text: String, to limit: Int) -> String {
        // Bytes first: counting the characters of a megabyte-long method name costs more.
        text.utf8.count <= limit ? text : String(text.prefix(limit))
    }
}
