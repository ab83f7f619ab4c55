import Actual
import JSON

/// Who is asking, as the server must be told: the client's era and version, and what it
/// declared (a modern client in every request's `_meta`, a legacy one in its `initialize`).
struct ClientContext: Sendable, Equatable {
    var era: MCPEra
    var version: String
    var capabilities: JSONValue
    var info: JSONValue?
    /// A modern request's `io.modelcontextprotocol/logLevel` (passed on to modern servers).
    var logLevel: JSONValue?

    static func modern(_ meta: JSONValue?) -> ClientContext {
        ClientContext(
            era: .modern, version: meta?["io.modelcontextprotocol/protocolVersion"]?.stringValue ?? ProtocolVersions.modern[0],
            capabilities: meta?["io.modelcontextprotocol/clientCapabilities"] ?? .object([]),
            info: meta?["io.modelcontextprotocol/clientInfo"], logLevel: meta?["io.modelcontextprotocol/logLevel"])
    }
}

/// Translation between the client's era and the server's (MCP.md "two eras"), both ways.
///
/// Towards the server: a legacy server gets no `io.modelcontextprotocol/*` `_meta` keys; a
/// modern one gets all the required ones, built from the client's session when the client is
/// legacy. Either gets the gateway's `traceparent`.
///
/// Towards the client: a modern client gets `resultType`, caching hints on cacheable results
/// (`ttlMs: 0`, `cacheScope: "private"`: the gateway cannot know how long a legacy server's
/// list stays valid) and `_meta` `serverInfo`; a legacy client gets none of the modern fields.
enum EraTranslation {
    static let metaPrefix = "io.modelcontextprotocol/"
    /// Results that carry caching hints in the modern era (S9).
    static let cacheable: Set<String> = [
        "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list", "resources/read",
    ]
    /// Methods whose result may be an `InputRequiredResult` (S6).
    static let multiRoundTrip: Set<String> = ["tools/call", "prompts/get", "resources/read"]

    /// `params` as the server gets them.
    static func params(_ params: JSONValue?, server: ServerIdentity, client: ClientContext, traceparent: String?) -> JSONValue? {
        var pairs = params?.objectValue ?? []
        var meta = pairs.first { $0.0 == "_meta" }?.1.objectValue ?? []
        pairs.removeAll { $0.0 == "_meta" }
        meta.removeAll { $0.0.hasPrefix(metaPrefix) || $0.0 == "traceparent" }
        if server.era == .modern {
            meta.append(("\(metaPrefix)protocolVersion", .string(server.protocolVersion)))
            meta.append(("\(metaPrefix)clientCapabilities", client.capabilities))
            if let info = client.info { meta.append(("\(metaPrefix)clientInfo", info)) }
            if let level = client.logLevel { meta.append(("\(metaPrefix)logLevel", level)) }
        }
        if let traceparent { meta.append(("traceparent", .string(traceparent))) }
        if !meta.isEmpty { pairs.append(("_meta", .object(meta))) }
        if pairs.isEmpty, params == nil { return nil }
        return .object(pairs)
    }

    /// A server's result as the client gets it; nil when it cannot be expressed in the client's
    /// era (a modern server's `input_required` for a legacy client).
    static func result(_ result: JSONValue, method: String, server: ServerIdentity, client: ClientContext) -> JSONValue? {
        guard case .object(var pairs) = result else { return result }
        switch client.era {
        case .modern:
            let type = pairs.first { $0.0 == "resultType" }?.1
            if type == nil { pairs.insert(("resultType", "complete"), at: 0) }
            if type == nil || type == "complete", cacheable.contains(method) {
                if !pairs.contains(where: { $0.0 == "ttlMs" }) { pairs.append(("ttlMs", 0)) }
                if !pairs.contains(where: { $0.0 == "cacheScope" }) { pairs.append(("cacheScope", "private")) }
            }
            var meta = pairs.first { $0.0 == "_meta" }?.1.objectValue ?? []
            if !meta.contains(where: { $0.0 == "\(metaPrefix)serverInfo" }) {
                meta.append(("\(metaPrefix)serverInfo", serverInfo(server)))
                pairs.removeAll { $0.0 == "_meta" }
                pairs.append(("_meta", .object(meta)))
            }
            return .object(pairs)
        case .legacy:
            if pairs.first(where: { $0.0 == "resultType" })?.1 == "input_required" { return nil }
            pairs.removeAll { $0.0 == "resultType" || $0.0 == "ttlMs" || $0.0 == "cacheScope" }
            if var meta = pairs.first(where: { $0.0 == "_meta" })?.1.objectValue {
                meta.removeAll { $0.0.hasPrefix(metaPrefix) }
                pairs.removeAll { $0.0 == "_meta" }
                if !meta.isEmpty { pairs.append(("_meta", .object(meta))) }
            }
            return .object(pairs)
        }
    }

    /// A server's JSON-RPC error as the client gets it: a legacy "resource not found"
    /// (`-32002`) is `-32602` in the modern era, which forbids `-32002`.
    static func error(_ error: RPCErrorObject, client: ClientContext) -> RPCErrorObject {
        var code = error.code
        if client.era == .modern, code == -32002 { code = -32602 }
        return RPCErrorObject(code: code, message: error.message, data: error.data)
    }

    /// A progress notification's params as the client gets them (modern: no `_meta` keys of
    /// the legacy kind to strip; legacy: no modern `_meta` keys).
    static func progress(_ params: JSONValue, client: ClientContext) -> JSONValue {
        guard client.era == .legacy, var meta = params["_meta"]?.objectValue else { return params }
        meta.removeAll { $0.0.hasPrefix(metaPrefix) }
        guard case .object(var pairs) = params else { return params }
        pairs.removeAll { $0.0 == "_meta" }
        if !meta.isEmpty { pairs.append(("_meta", .object(meta))) }
        return .object(pairs)
    }

    /// `Implementation` of the server: its own `serverInfo` as recorded by the handshake.
    static func serverInfo(_ server: ServerIdentity) -> JSONValue {
        .object([("name", .string(server.name ?? "unknown")), ("version", .string(server.version ?? "unknown"))])
    }

    /// The gateway's answer to a modern `server/discover`, from the server's recorded identity.
    static func discover(_ server: ServerIdentity) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("resultType", "complete"),
            ("supportedVersions", .array(ProtocolVersions.modern.map { .string($0) })),
            ("capabilities", capabilities(server)),
        ]
        if let instructions = server.instructions { pairs.append(("instructions", .string(instructions))) }
        // The identity is fixed for the life of the process; a replacement may differ, so a
        // client should not hold it long.
        pairs.append(("ttlMs", 0))
        pairs.append(("cacheScope", "public"))
        pairs.append(("_meta", .object([("\(metaPrefix)serverInfo", serverInfo(server))])))
        return .object(pairs)
    }

    /// The gateway's answer to a legacy `initialize`.
    static func initialize(_ server: ServerIdentity, version: String) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("protocolVersion", .string(version)),
            ("capabilities", capabilities(server)),
            ("serverInfo", serverInfo(server)),
        ]
        if let instructions = server.instructions { pairs.append(("instructions", .string(instructions))) }
        return .object(pairs)
    }

    /// The server's capabilities as clients see them: `logging` is dropped, because the
    /// gateway does not relay `logging/setLevel` per client (one server, many clients).
    /// The server's capabilities as the gateway offers them: without `logging` (the gateway
    /// does not relay a server's log), and with `listChanged` on tools, prompts and resources,
    /// since the gateway itself tells clients when a restart changed them.
    static func capabilities(_ server: ServerIdentity) -> JSONValue {
        guard case .object(var pairs) = server.capabilities else { return .object([]) }
        pairs.removeAll { $0.0 == "logging" }
        for index in pairs.indices where ["tools", "prompts", "resources"].contains(pairs[index].0) {
            let entry = pairs[index].1
            pairs[index].1 = (entry.objectValue != nil ? entry : .object([])).setting("listChanged", to: true)
        }
        return .object(pairs)
    }
}
