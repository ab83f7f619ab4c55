import HTTP
import JSON

/// The `Mcp-Param-{Name}` headers a 2026-07-28 `tools/call` must carry: one per tool argument
/// annotated `"x-mcp-header": "{Name}"` in the tool's `inputSchema` (top-level properties).
///
/// A stdio server never sees HTTP headers, so the gateway checks them for it, from the tool
/// lists it has seen (its own listing when a process becomes ready, and every `tools/list`
/// answer it relays). The rules (docs/mcp-streamable-http-notes.md §1.1): a value present and
/// not null needs the header, equal to it (strings as they are, integers as decimals compared
/// numerically, booleans as `true`/`false`, `=?base64?…?=` decoded first); a null or absent
/// value needs no header. A tool the gateway has not seen is not checked.
struct ParamHeaders: Sendable, Hashable {
    /// Per tool: argument name → header name.
    private(set) var tools: [String: [String: String]] = [:]

    /// Learns the annotations of every tool in a `tools/list` result (later pages add to it).
    mutating func learn(from result: JSONValue) {
        for tool in result["tools"]?.arrayValue ?? [] {
            guard let name = tool["name"]?.stringValue else { continue }
            var headers: [String: String] = [:]
            for (argument, schema) in tool["inputSchema"]?["properties"]?.objectValue ?? [] {
                if let header = schema["x-mcp-header"]?.stringValue, !header.isEmpty { headers[argument] = header }
            }
            tools[name] = headers.isEmpty ? nil : headers
        }
    }

    /// Why the headers of a `tools/call` of `tool` do not match its arguments, or nil.
    func mismatch(tool: String, arguments: JSONValue?, request: HTTPRequest) -> String? {
        guard let annotated = tools[tool] else { return nil }
        for (argument, header) in annotated.sorted(by: { $0.key < $1.key }) {
            let name = "Mcp-Param-" + header
            let value = arguments?[argument]
            let sent = request.header(name)
            guard let value, value != .null else {
                if sent != nil { return "\(name) is sent but argument '\(argument)' is absent or null" }
                continue
            }
            guard let sent else { return "\(name) is required: argument '\(argument)' is in the body" }
            guard let decoded = ModernRequestCheck.decodeHeader(sent), ParamHeaders.matches(decoded, value) else {
                return "\(name) header value '\(sent)' does not match argument '\(argument)'"
            }
        }
        return nil
    }

    static func matches(_ header: String, _ value: JSONValue) -> Bool {
        switch value {
        case .string(let text): return header == text
        case .bool(let flag): return header == (flag ? "true" : "false")
        case .int(let number): return Double(header).map { $0 == Double(number) } ?? false
        case .double(let number): return number == number.rounded() && (Double(header).map { $0 == number } ?? false)
        default: return false
        }
    }
}
