import Desired
import JSON

/// The two generations of MCP in the field (MCP.md): legacy opens with `initialize` and may
/// keep sessions; modern (2026-07-28 and later) is stateless and carries its version and
/// capabilities in every request's `params._meta`.
public enum MCPEra: String, Sendable, Hashable {
    case legacy
    case modern
}

/// Protocol versions the controller speaks, newest first.
public enum MCPVersion {
    public static let modern = ["2026-07-28"]
    public static let legacy = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]
    public static let clientName = "omni-mcp-controller"
    public static let clientVersion = "0.1.0"

    /// The controller's own `Implementation` (`clientInfo`).
    public static var clientInfo: JSONValue {
        .object([("name", .string(clientName)), ("version", .string(clientVersion))])
    }

    /// `params` with the modern per-request `_meta` keys added (existing `_meta` keys kept).
    static func enveloped(_ params: JSONValue?, version: String) -> JSONValue {
        var pairs = params?.objectValue ?? []
        var meta = pairs.first { $0.0 == "_meta" }?.1.objectValue ?? []
        meta.removeAll { $0.0.hasPrefix("io.modelcontextprotocol/") }
        meta += [
            ("io.modelcontextprotocol/protocolVersion", .string(version)),
            ("io.modelcontextprotocol/clientCapabilities", .object([])),
            ("io.modelcontextprotocol/clientInfo", clientInfo),
        ]
        pairs.removeAll { $0.0 == "_meta" }
        pairs.append(("_meta", .object(meta)))
        return .object(pairs)
    }
}

/// Who a server says it is, learned once per process by the handshake.
public struct ServerIdentity: Sendable, Hashable {
    public var era: MCPEra
    public var protocolVersion: String
    /// `serverInfo.name` and `.version`, when given.
    public var name: String?
    public var version: String?
    public var capabilities: JSONValue
    public var instructions: String?

    public init(
        era: MCPEra, protocolVersion: String, name: String?, version: String?, capabilities: JSONValue, instructions: String? = nil
    ) {
        self.era = era
        self.protocolVersion = protocolVersion
        self.name = name
        self.version = version
        self.capabilities = capabilities
        self.instructions = instructions
    }

    /// Whether the server offers tools (`capabilities.tools` present).
    public var hasTools: Bool { capabilities["tools"] != nil }
}
