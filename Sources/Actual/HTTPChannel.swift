import Desired
import Foundation
import HTTP
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
///
/// `http://` URLs go through the event loop's `HTTPClient` (pooled keep-alive connections, no
/// thread or task per request); `https://` through URLSession, which brings TLS.
public final class HTTPChannel: MCPChannel {
    /// What carries the POSTs.
    private enum Transport: Sendable {
        case loop(HTTPClient, HTTPOrigin, target: String)
        case session(URLSession)
    }

    private struct State {
        var nextID = 0
        var sessionID: String?
        var legacyVersion: String?
        var protocolErrors = 0
    }

    private let url: URL
    private let clock: any MonotonicClock
    private let router: HTTPExchangeRouter
    private let transport: Transport
    private let parsing = DispatchQueue(label: "omni-http-channel")
    private let maxMessageBytes: Int
    private let state = Mutex(State())
    /// Requests forwarded on behalf of gateway clients (`HTTPChannel+Forwarding.swift`).
    let forwarded = ForwardedCalls()

    public init(
        url: URL, clock: any MonotonicClock = SystemClock(), maxMessageBytes: Int = 16 << 20,
        onEvent: @escaping @Sendable (SessionEvent) -> Void = { _ in }
    ) {
        self.url = url
        self.clock = clock
        self.maxMessageBytes = maxMessageBytes
        router = HTTPExchangeRouter(maxMessageBytes: maxMessageBytes, onEvent: onEvent)
        if url.scheme?.lowercased() == "http", let host = url.host {
            // As written in the URL (percent-encoding kept), not the decoded path.
            let components = URLComponents(url: url, resolvingAgainstBaseURL: false)
            let path = components?.percentEncodedPath ?? ""
            let target = (path.isEmpty ? "/" : path) + (components?.percentEncodedQuery.map { "?" + $0 } ?? "")
            let limits = HTTPClientLimits(maxBody: nil)
            transport = .loop(HTTPClient(limits: limits), HTTPOrigin(host: host, port: url.port ?? 80), target: target)
        } else {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 8
            configuration.connectionProxyDictionary = [:]
            transport = .session(URLSession(configuration: configuration, delegate: router, delegateQueue: nil))
        }
    }

    deinit {
        if case .session(let session) = transport { session.invalidateAndCancel() }
    }

    public var protocolErrors: Int { router.protocolErrors }

    public func call(_ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool) async throws(RPCError) -> JSONValue {
        let id = state.withLock { state in
            state.nextID += 1
            return state.nextID
        }
        let body = RPCMessage.encodeRequest(id: .int(id), method: method, params: params)
        let exchange = HTTPExchange(expecting: .int(id))
        let cancel = start(exchange, body: body, method: method, params: params, timeout: timeout)
        guard let outcome = await exchange.reply.wait(timeout: timeout, clock: clock) else {
            cancel()
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
        let cancel = start(exchange, body: body, method: method, params: params, timeout: .seconds(10))
        guard let outcome = await exchange.reply.wait(timeout: .seconds(10), clock: clock) else {
            cancel()
            return false
        }
        return (try? outcome.result.get()) != nil
    }

    /// Sends one POST; returns how to abandon it.
    private func start(
        _ exchange: HTTPExchange, body: JSONValue, method: String, params: JSONValue?, timeout: Duration
    ) -> @Sendable () -> Void {
        let bytes = Array(body.rendered().utf8)
        let headers = headers(method: method, params: params)
        switch transport {
        case .loop(let client, let origin, let target):
            let router = router
            let request = HTTPClientRequest(method: "POST", target: target, headers: headers, body: bytes)
            // The transfer's own deadline is a backstop: the caller's wait ends first and cancels.
            // Messages are parsed on the channel's serial queue, in arrival order, not on the
            // event loop: a 16 MiB JSON message must not hold up every other connection.
            let parsing = parsing
            let maxMessageBytes = maxMessageBytes
            let call = client.send(
                request, to: origin, timeout: timeout + .seconds(1),
                handlers: HTTPResponseHandlers(
                    head: { head in
                        parsing.async {
                            router.began(
                                exchange, status: head.status, contentType: head.header("Content-Type"),
                                sessionID: head.header("Mcp-Session-Id"))
                        }
                    },
                    body: { bytes in
                        // Back-pressure: a server that sends faster than its messages are parsed
                        // is cut off rather than buffered without bound.
                        let waiting = exchange.queued.withLock { queued in
                            queued += bytes.count
                            return queued
                        }
                        if waiting > 2 * maxMessageBytes {
                            exchange.cancelTransfer()
                            return
                        }
                        parsing.async {
                            exchange.queued.withLock { $0 -= bytes.count }
                            // Complete: the rest of the stream is not needed (closing it is the
                            // modern era's way of saying so).
                            if router.received(exchange, bytes) { exchange.cancelTransfer() }
                        }
                    },
                    end: { error in parsing.async { router.completed(exchange, error: error?.description) } }))
            exchange.onCancelTransfer { call.cancel() }
            return { call.cancel() }
        case .session(let session):
            var request = URLRequest(url: url)
            request.httpMethod = "POST"
            request.httpBody = Data(bytes)
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let task = session.dataTask(with: request)
            router.add(task: task, exchange: exchange)
            task.resume()
            return { task.cancel() }
        }
    }

    private func headers(method: String, params: JSONValue?) -> [(String, String)] {
        var headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]
        if let modern = params?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.stringValue {
            headers.append(("MCP-Protocol-Version", modern))
            headers.append(("Mcp-Method", method))
            if let name = params?["name"]?.stringValue ?? params?["uri"]?.stringValue {
                headers.append(("Mcp-Name", HTTPChannel.headerSafe(name)))
            }
        } else if method != "initialize" {
            let (version, sessionID) = state.withLock { ($0.legacyVersion, $0.sessionID) }
            if let version { headers.append(("MCP-Protocol-Version", version)) }
            if let sessionID { headers.append(("Mcp-Session-Id", sessionID)) }
        }
        return headers
    }

    /// A header value as sent: visible ASCII as is, anything else `=?base64?…?=` (MCP.md).
    static func headerSafe(_ value: String) -> String {
        if value.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return value }
        return "=?base64?" + Data(value.utf8).base64EncodedString() + "?="
    }
}
