import Actual

/// What the gateway reports about each request it finished, for the owner's log line (every
/// request) and audit record (`tools/call`). Never carries arguments or results.
public struct GatewayRecord: Sendable, Hashable {
    public var server: String
    public var method: String
    /// `params.name` of a `tools/call` or `prompts/get`.
    public var tool: String?
    public var era: MCPEra
    /// The first 8 characters of the legacy session id (the whole id is a credential).
    public var session: String?
    /// `ok`, `error` (the server's JSON-RPC error), a refusal kind, `cancelled` or `invalid`.
    public var outcome: String
    public var status: Int
    public var latency: Duration
    /// The request's one trace context (the log's `trace_id`, the span, the server's parent).
    public var trace: TraceContext
    /// The instance that served it, when one did.
    public var instance: InstanceID?
    /// Why it failed, in words.
    public var error: String?

    public var traceID: String { trace.traceID }
}
