import Desired
import JSON

/// Talks MCP to one server process over a channel: learns its era once, then speaks that era.
///
/// The era probe follows MCP.md: `server/discover` first; a discover result, or a -32022 that
/// lists a modern version we speak, means modern; any other error or silence within the probe
/// timeout means legacy, so the `initialize` handshake follows (version negotiation, then
/// `notifications/initialized`).
public struct MCPClient: Sendable {
    public let channel: any MCPChannel
    public private(set) var identity: ServerIdentity?

    public init(channel: any MCPChannel) {
        self.channel = channel
    }

    /// Why a handshake failed.
    public struct HandshakeError: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Probes the era and completes the handshake. `probeTimeout` bounds each request.
    public mutating func handshake(probeTimeout: Duration) async throws(HandshakeError) -> ServerIdentity {
        let errorsBefore = channel.protocolErrors
        var discovered: ServerIdentity?
        do {
            let result = try await channel.call(
                "server/discover", params: MCPVersion.enveloped(nil, version: MCPVersion.modern[0]), timeout: probeTimeout,
                cancellable: false)
            discovered = MCPClient.modernIdentity(result)
        } catch .remote(let error) where error.code == -32022 {
            // Modern, but wants another version: only a modern version we speak keeps us modern.
            let supported = error.data?["supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            if let version = MCPVersion.modern.first(where: supported.contains) {
                discovered = try? await discover(version: version, timeout: probeTimeout)
            }
        } catch .closed(let why) {
            throw HandshakeError(description: "the server went away during the probe: \(why)")
        } catch let error where error.isUnreachable {
            // An HTTP server not listening yet says nothing about its era: were this read as
            // legacy, an `initialize` a moment later, once it listens, would settle the era wrong.
            throw HandshakeError(description: "server/discover: \(error)")
        } catch {
            // -32601, -32602, silence, …: a legacy server (MCP.md). Fall through to initialize.
        }
        let identity: ServerIdentity
        if let discovered {
            identity = discovered
        } else {
            identity = try await legacyHandshake(timeout: probeTimeout)
        }
        if channel.protocolErrors > errorsBefore {
            throw HandshakeError(description: "the server wrote \(channel.protocolErrors - errorsBefore) invalid message(s) to stdout")
        }
        self.identity = identity
        return identity
    }

    private func discover(version: String, timeout: Duration) async throws(RPCError) -> ServerIdentity? {
        let result = try await channel.call(
            "server/discover", params: MCPVersion.enveloped(nil, version: version), timeout: timeout, cancellable: false)
        return MCPClient.modernIdentity(result)
    }

    private func legacyHandshake(timeout: Duration) async throws(HandshakeError) -> ServerIdentity {
        let params: JSONValue = .object([
            ("protocolVersion", .string(MCPVersion.legacy[0])), ("capabilities", .object([])), ("clientInfo", MCPVersion.clientInfo),
        ])
        let result: JSONValue
        do {
            result = try await channel.call("initialize", params: params, timeout: timeout, cancellable: false)
        } catch {
            throw HandshakeError(description: "no MCP handshake: server/discover and initialize both failed (\(error))")
        }
        guard let version = result["protocolVersion"]?.stringValue else {
            throw HandshakeError(description: "initialize result has no protocolVersion")
        }
        guard MCPVersion.legacy.contains(version) else {
            throw HandshakeError(description: "the server chose protocol version \(version), which the controller does not speak")
        }
        await channel.notify("notifications/initialized", params: nil)
        let info = result["serverInfo"]
        return ServerIdentity(
            era: .legacy, protocolVersion: version, name: info?["name"]?.stringValue, version: info?["version"]?.stringValue,
            capabilities: result["capabilities"] ?? .object([]), instructions: result["instructions"]?.stringValue)
    }

    /// A discover result that names a modern version we speak, else nil (not modern after all).
    static func modernIdentity(_ result: JSONValue) -> ServerIdentity? {
        guard let supported = result["supportedVersions"]?.arrayValue?.compactMap(\.stringValue),
            let chosen = MCPVersion.modern.first(where: supported.contains)
        else { return nil }
        // The schema puts serverInfo in _meta; the spec's example puts it at top level. Accept both.
        let info = result["_meta"]?["io.modelcontextprotocol/serverInfo"] ?? result["serverInfo"]
        return ServerIdentity(
            era: .modern, protocolVersion: chosen, name: info?["name"]?.stringValue, version: info?["version"]?.stringValue,
            capabilities: result["capabilities"] ?? .object([]), instructions: result["instructions"]?.stringValue)
    }

    /// A request in the server's era: modern requests carry the `_meta` envelope.
    public func request(_ method: String, params: JSONValue? = nil, timeout: Duration) async throws(RPCError) -> JSONValue {
        guard let identity else { throw .protocolViolation("request before the handshake") }
        let body = identity.era == .modern ? MCPVersion.enveloped(params, version: identity.protocolVersion) : params
        return try await channel.call(method, params: body, timeout: timeout, cancellable: true)
    }

    /// One liveness check: `ping` for legacy servers, `server/discover` for modern ones (which
    /// have no `ping`). Fails on an error, a timeout, or invalid output during the check.
    public func healthCheck(timeout: Duration) async throws(RPCError) {
        guard let identity else { throw .protocolViolation("health check before the handshake") }
        let errorsBefore = channel.protocolErrors
        let check = MCPClient.healthCheck(for: identity)
        let result = try await channel.call(check.method, params: check.params, timeout: timeout, cancellable: check.cancellable)
        try MCPClient.judgeHealthCheck(result, identity: identity, newProtocolErrors: channel.protocolErrors - errorsBefore)
    }

    /// The request a health check sends in `identity`'s era. `server/discover` is not
    /// cancellable (MCP.md: it is answered at once or not at all).
    static func healthCheck(for identity: ServerIdentity) -> (method: String, params: JSONValue?, cancellable: Bool) {
        switch identity.era {
        case .legacy: ("ping", nil, true)
        case .modern: ("server/discover", MCPVersion.enveloped(nil, version: identity.protocolVersion), false)
        }
    }

    /// Whether a health check's answer means healthy: a modern server must still list the
    /// negotiated version, and the server must not have written invalid output meanwhile.
    static func judgeHealthCheck(_ result: JSONValue, identity: ServerIdentity, newProtocolErrors: Int) throws(RPCError) {
        if identity.era == .modern, MCPClient.modernIdentity(result) == nil {
            throw .protocolViolation("server/discover result no longer lists \(identity.protocolVersion)")
        }
        if newProtocolErrors > 0 {
            throw .protocolViolation("the server wrote invalid output during the check")
        }
    }

    /// Every tool's name, following `nextCursor` (at most 100 pages, against a looping cursor).
    public func listTools(timeout: Duration) async throws(RPCError) -> [String] {
        var names: [String] = []
        var cursor: String?
        for _ in 0..<100 {
            let params: JSONValue? = cursor.map { .object([("cursor", .string($0))]) }
            let result = try await request("tools/list", params: params, timeout: timeout)
            guard let tools = result["tools"]?.arrayValue else { throw .protocolViolation("tools/list result has no tools array") }
            names += tools.compactMap { $0["name"]?.stringValue }
            guard let next = result["nextCursor"]?.stringValue, !next.isEmpty else { return names }
            cursor = next
        }
        return names
    }

    /// Calls a tool; returns the raw result (`content`, `isError`, …).
    public func callTool(_ name: String, arguments: JSONValue, timeout: Duration) async throws(RPCError) -> JSONValue {
        try await request("tools/call", params: .object([("name", .string(name)), ("arguments", arguments)]), timeout: timeout)
    }
}
