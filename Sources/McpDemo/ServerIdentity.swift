/// Who the demo says it is, and the result objects that carry that identity.
struct ServerIdentity: Sendable {
    static let version = "0.1.0"
    static let instructions =
        "Demo MCP server (Omni-MCP quickstart). Tools: echo (returns text), add (sums two numbers), "
        + "sleep (waits, reports progress, honours cancellation), clock (current UTC time)."
    /// How long a modern client may cache `server/discover` and `tools/list` results.
    static let cacheTTLMilliseconds = 60_000

    var name: String

    var implementation: JSONValue {
        .object([("name", .string(name)), ("version", .string(ServerIdentity.version))])
    }

    var capabilities: JSONValue {
        .object([("tools", .object([("listChanged", .bool(false))]))])
    }

    /// The `DiscoverResult`. Identity is stamped in `_meta` (the schema's place) and also as a
    /// top-level `serverInfo`, because the spec's prose example still shows it there.
    func discoverResult(era: EraMode) -> JSONValue {
        .object([
            ("resultType", .string("complete")),
            ("supportedVersions", .array(era.advertisedVersions.map(JSONValue.string))),
            ("capabilities", capabilities),
            ("instructions", .string(ServerIdentity.instructions)),
            ("ttlMs", .integer(ServerIdentity.cacheTTLMilliseconds)),
            ("cacheScope", .string("public")),
            ("serverInfo", implementation),
            ("_meta", stamp),
        ])
    }

    /// The legacy `InitializeResult` for the negotiated `version`.
    func initializeResult(version: String) -> JSONValue {
        .object([
            ("protocolVersion", .string(version)),
            ("capabilities", capabilities),
            ("serverInfo", implementation),
            ("instructions", .string(ServerIdentity.instructions)),
        ])
    }

    /// Turns an era-neutral result object into a 2026-07-28 one: `resultType` first, the
    /// cache hints when `cacheable`, and the serverInfo stamp in `_meta`.
    func modernize(_ result: JSONValue, cacheable: Bool) -> JSONValue {
        guard case .object(let members) = result else { return result }
        var out: [(String, JSONValue)] = [("resultType", .string("complete"))]
        out += members
        if cacheable {
            out.append(("ttlMs", .integer(ServerIdentity.cacheTTLMilliseconds)))
            out.append(("cacheScope", .string("public")))
        }
        out.append(("_meta", stamp))
        return .object(out)
    }

    private var stamp: JSONValue {
        .object([(ProtocolVersion.serverInfoKey, implementation)])
    }
}
