import Desired
import Foundation
import JSON
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The client side of MCP's Streamable HTTP transport, for `transport: http` servers.
///
/// Each message is its own POST. A response is either `application/json` (one JSON-RPC
/// response) or `text/event-stream` (notifications for that request, then its response).
/// Modern requests carry `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers matching
/// the body; after a legacy `initialize`, the negotiated version and the `Mcp-Session-Id` the
/// server issued go on every later request. Bodies and stream lines are bounded by
/// `maxMessageBytes`; a request that times out has its stream closed (the modern cancellation)
/// and, on a legacy session, `notifications/cancelled` sent too.
public final class HTTPChannel: MCPChannel {
    private struct State {
        var nextID = 0
        var sessionID: String?
        var legacyVersion: String?
        var protocolErrors = 0
    }

    private let url: URL
    private let clock: any MonotonicClock
    private let router: HTTPExchangeRouter
    private let session: URLSession
    private let state = Mutex(State())

    public init(
        url: URL, clock: any MonotonicClock = SystemClock(), maxMessageBytes: Int = 16 << 20,
        onEvent: @escaping @Sendable (SessionEvent) -> Void = { _ in }
    ) {
        self.url = url
        self.clock = clock
        router = HTTPExchangeRouter(maxMessageBytes: maxMessageBytes, onEvent: onEvent)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = 8
        configuration.connectionProxyDictionary = [:]
        session = URLSession(configuration: configuration, delegate: router, delegateQueue: nil)
    }

    deinit { session.invalidateAndCancel() }

    public var protocolErrors: Int { router.protocolErrors }

    public func call(_ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool) async throws(RPCError) -> JSONValue {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let body = RPCMessage.encodeRequest(id: .int(id), method: method, params: params)
        let exchange = HTTPExchange(expecting: .int(id))
        let task = session.dataTask(with: request(body: body, method: method, params: params))
        router.add(task: task, exchange: exchange)
        task.resume()
        guard let outcome = await exchange.reply.wait(timeout: timeout, clock: clock) else {
            task.cancel()
            if cancellable, state.withLock({ $0.legacyVersion }) != nil {
                await notify("notifications/cancelled", params: .object([("requestId", .int(id)), ("reason", "timed out")]))
            }
            throw Task.isCancelled ? .cancelled(method: method) : .timedOut(method: method, after: timeout)
        }
        if case .failure(.transport(let why)) = outcome.result, why.hasPrefix("HTTP 404") {
            // The server forgot our legacy session (restarted, or it expired): the next
            // handshake starts a new one instead of sending the dead id again (MCP.md).
            state.withLock { state in
                state.sessionID = nil
                state.legacyVersion = nil
            }
        }
        if method == "initialize", case .success(let result) = outcome.result {
            state.withLock { state in
                state.legacyVersion = result["protocolVersion"]?.stringValue
                state.sessionID = outcome.sessionID
            }
        }
        return try outcome.result.get()
    }

    @discardableResult
    public func notify(_ method: String, params: JSONValue?) async -> Bool {
        let body = RPCMessage.encodeNotification(method: method, params: params)
        let exchange = HTTPExchange(expecting: nil)
        let task = session.dataTask(with: request(body: body, method: method, params: params))
        router.add(task: task, exchange: exchange)
        task.resume()
        guard let outcome = await exchange.reply.wait(timeout: .seconds(10), clock: clock) else {
            task.cancel()
            return false
        }
        return (try? outcome.result.get()) != nil
    }

    private func request(body: JSONValue, method: String, params: JSONValue?) -> URLRequest {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.httpBody = Data(body.rendered().utf8)
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("application/json, text/event-stream", forHTTPHeaderField: "Accept")
        if let modern = params?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.stringValue {
            request.setValue(modern, forHTTPHeaderField: "MCP-Protocol-Version")
            request.setValue(method, forHTTPHeaderField: "Mcp-Method")
            if let name = params?["name"]?.stringValue ?? params?["uri"]?.stringValue {
                request.setValue(HTTPChannel.headerSafe(name), forHTTPHeaderField: "Mcp-Name")
            }
        } else if method != "initialize" {
            let (version, sessionID) = state.withLock { ($0.legacyVersion, $0.sessionID) }
            if let version { request.setValue(version, forHTTPHeaderField: "MCP-Protocol-Version") }
            if let sessionID { request.setValue(sessionID, forHTTPHeaderField: "Mcp-Session-Id") }
        }
        return request
    }

    /// A header value as sent: visible ASCII as is, anything else `=?base64?…?=` (MCP.md).
    static func headerSafe(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
        return "=?base64?" + Data(value.utf8).base64EncodedString() + "?="
    }
}
