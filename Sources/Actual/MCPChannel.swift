import Desired
import JSON

/// A JSON-RPC client connection to one MCP server, whatever carries it (stdio or HTTP).
public protocol MCPChannel: Sendable {
    /// Sends a request and waits for its response (at most `timeout`).
    ///
    /// On timeout or task cancellation the request is abandoned: `notifications/cancelled` goes
    /// to the server when `cancellable` (the spec forbids cancelling `initialize`, and the SDKs
    /// never cancel `server/discover`), and a late response is dropped.
    func call(_ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool) async throws(RPCError) -> JSONValue

    /// Sends a notification; `false` when it could not be sent.
    @discardableResult
    func notify(_ method: String, params: JSONValue?) async -> Bool

    /// How many messages from the server broke the protocol so far (invalid JSON, not JSON-RPC,
    /// oversized, unknown response ids). A probe fails when this grows during it.
    var protocolErrors: Int { get }
}

/// What a session noticed that its owner should log or count.
public enum SessionEvent: Sendable, Hashable {
    /// A line that is not a usable JSON-RPC message; `excerpt` is its start.
    case invalidMessage(reason: String, excerpt: String)
    /// A line longer than the message limit, dropped.
    case oversizedMessage(bytes: Int)
    /// A response whose id matches no request in flight.
    case unknownResponse(RPCID)
    /// A notification from the server.
    case notification(method: String, params: JSONValue?)
    /// A request from the server to us (answered: `ping` with `{}`, anything else with -32601).
    case serverRequest(method: String)
}

/// A channel that carries requests on behalf of many clients at once (the gateway's view of a
/// server): answers arrive by callback, so a request in flight costs no task.
///
/// Contract: `forward` returns the request's id on this channel, or why it could not be sent
/// (then `onReply` is never called). Otherwise `onReply` is called exactly once: with the
/// server's answer, or `.closed` when the channel ends first; never after `abandon` returned
/// true. `onProgress` gets the request's `notifications/progress` params with the caller's own
/// progress token put back, in order, until the answer.
public protocol ForwardingChannel: MCPChannel {
    func forward(
        _ method: String, params: JSONValue?, onProgress: (@Sendable (JSONValue) -> Void)?,
        onReply: @escaping @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    ) -> Result<Int, RPCError>

    /// Gives up on request `id` (a late answer is dropped); with a `reason` the server is told.
    /// True when the request was still waiting.
    @discardableResult
    func abandon(_ id: Int, notifying reason: String?) -> Bool

    /// Who answers the server's own requests (sampling, elicitation, roots): the handler returns
    /// true when it takes the request (and later calls `answer`), false to let the channel
    /// refuse it (-32601). nil: the channel refuses every one.
    func handleServerRequests(with handler: (@Sendable (ServerRequest) -> Bool)?)

    /// Answers a server request a handler took: a result or an error object.
    func answer(_ request: RPCID, with outcome: Result<JSONValue, RPCErrorObject>)
}

/// A request a server sent to its client (legacy era: `sampling/createMessage`,
/// `elicitation/create`, `roots/list`).
public struct ServerRequest: Sendable, Hashable {
    public var id: RPCID
    public var method: String
    public var params: JSONValue?

    public init(id: RPCID, method: String, params: JSONValue?) {
        self.id = id
        self.method = method
        self.params = params
    }
}

extension StdioSession: ForwardingChannel {}
