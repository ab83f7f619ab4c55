import Foundation
import HTTP
import JSON

/// The checks a 2026-07-28 request passes before anything acts on it, in the order the official
/// SDK applies them (docs/mcp-streamable-http-notes.md §1.2): routing headers not repeated,
/// the required `_meta` keys present (`-32602`), `MCP-Protocol-Version`, `Mcp-Method` and
/// `Mcp-Name` equal to the body (`-32020`), then the version served (`-32022`, listing every
/// version the gateway speaks).
///
/// `Mcp-Param-*` headers are passed through unchecked: checking them needs the tool's
/// `inputSchema` annotations, which only the server has; the server checks them.
enum ModernRequestCheck {
    /// Methods whose `Mcp-Name` header mirrors a body field, and which field.
    static let nameField = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    static func check(_ request: HTTPRequest, id: JSONValue, method: String, params: JSONValue?) -> RPCFailure? {
        for name in ["MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"] {
            let count = request.values(name).count
            if count > 1 { return .headerMismatch("\(name) appears \(count) times", id: id) }
        }
        let meta = params?["_meta"]
        guard let version = meta?["io.modelcontextprotocol/protocolVersion"]?.stringValue else {
            return .invalidParams("params._meta[\"io.modelcontextprotocol/protocolVersion\"] is required", id: id)
        }
        guard meta?["io.modelcontextprotocol/clientCapabilities"]?.objectValue != nil else {
            return .invalidParams("params._meta[\"io.modelcontextprotocol/clientCapabilities\"] is required", id: id)
        }
        guard let header = request.header("MCP-Protocol-Version") else {
            return .headerMismatch("the MCP-Protocol-Version header is required", id: id)
        }
        guard header == version else {
            return .headerMismatch("MCP-Protocol-Version header value '\(header)' does not match body value '\(version)'", id: id)
        }
        guard let methodHeader = request.header("Mcp-Method") else {
            return .headerMismatch("the Mcp-Method header is required", id: id)
        }
        guard methodHeader == method else {
            return .headerMismatch("Mcp-Method header value '\(methodHeader)' does not match body value '\(method)'", id: id)
        }
        if let field = nameField[method] {
            guard let body = params?[field]?.stringValue else {
                return .invalidParams("params.\(field) must be a string", id: id)
            }
            guard let raw = request.header("Mcp-Name") else {
                return .headerMismatch("the Mcp-Name header is required for \(method)", id: id)
            }
            guard let decoded = decodeHeader(raw), decoded == body else {
                return .headerMismatch("Mcp-Name header value '\(raw)' does not match body value '\(body)'", id: id)
            }
        }
        guard ProtocolVersions.modern.contains(version) else { return Gateway.unsupported(version, id: id) }
        return nil
    }

    /// A header value as meant: `=?base64?…?=` decoded (canonical base64 of UTF-8 only), any
    /// other value as is; nil for an undecodable one (which then matches nothing).
    static func decodeHeader(_ value: String) -> String? {
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = String(value.dropFirst(9).dropLast(2))
        guard let data = Data(base64Encoded: encoded), data.base64EncodedString() == encoded,
            let text = String(data: data, encoding: .utf8)
        else { return nil }
        return text
    }
}
