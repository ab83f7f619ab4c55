import Desired
import JSON
import Synchronization

/// The client side of MCP's stdio transport: newline-delimited JSON-RPC on a child's stdin and
/// stdout.
///
/// Request ids are the session's own integers. Lines arrive on the I/O loop thread through
/// `receive(_:)`, which never blocks: responses complete the waiting caller, everything else
/// becomes a `SessionEvent`. Bad input is counted and reported, never fatal.
public final class StdioSession: MCPChannel {
    /// Where an answer goes: a task awaiting it, or a callback (for the prober, which must not
    /// cost a task per request).
    private enum Reply {
        case waiter(OneShot<Result<JSONValue, RPCError>>)
        case callback(@Sendable (Int, Result<JSONValue, RPCError>) -> Void)

        func deliver(_ id: Int, _ outcome: Result<JSONValue, RPCError>) {
            switch self {
            case .waiter(let shot): shot.fulfil(outcome)
            case .callback(let call): call(id, outcome)
            }
        }
    }

    private struct Pending {
        var method: String
        var reply: Reply
        /// The progress token the server was given for this request (the session's own).
        var progressToken: String?
    }

    /// Where a forwarded request's progress notifications go, and the token its caller chose.
    private struct ProgressRoute {
        var original: JSONValue
        var sink: @Sendable (JSONValue) -> Void
    }

    private struct State {
        var nextID = 0
        var pending: [Int: Pending] = [:]
        var closed: String?
        var protocolErrors = 0
        /// Ids given up on (timeout, cancel): a late answer to one is expected, not an error.
        var abandoned: Set<Int> = []
        /// Progress tokens of forwarded requests in flight, by the token the server was given.
        var progress: [String: ProgressRoute] = [:]
    }

    private let writer: PipeWriter
    private let clock: any MonotonicClock
    private let onEvent: @Sendable (SessionEvent) -> Void
    private let state = Mutex(State())
    private let serverRequests = Mutex<(@Sendable (ServerRequest) -> Bool)?>(nil)

    init(writer: PipeWriter, clock: any MonotonicClock, onEvent: @escaping @Sendable (SessionEvent) -> Void) {
        self.writer = writer
        self.clock = clock
        self.onEvent = onEvent
    }

    public var protocolErrors: Int { state.withLock { $0.protocolErrors } }

    public func call(
        _ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool = true
    ) async throws(RPCError) -> JSONValue {
        let reply = OneShot<Result<JSONValue, RPCError>>()
        let id = try open(method, params: params, reply: .waiter(reply)).get()
        if let outcome = await reply.wait(timeout: timeout, clock: clock) { return try outcome.get() }
        // Timed out or cancelled. A response may have raced in; it wins if it did.
        let cancelled = Task.isCancelled
        let reason = cancellable ? (cancelled ? "cancelled by the caller" : "timed out") : nil
        if !abandon(id, notifying: reason), let outcome = reply.value { return try outcome.get() }
        throw cancelled ? .cancelled(method: method) : .timedOut(method: method, after: timeout)
    }

    /// Sends a request whose answer (or `.closed`: this call sets no timer) is handed to
    /// `onReply` with the request id: on the loop thread for an answer, on the closing thread for
    /// a close. Returns the request id, or why it could not be sent (then `onReply` is never
    /// called). The caller times it out with `abandon(_:notifying:)`.
    func send(
        _ method: String, params: JSONValue?, onReply: @escaping @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    ) -> Result<Int, RPCError> {
        open(method, params: params, reply: .callback(onReply))
    }

    /// Sends a request on behalf of a client of the controller (the gateway): like `send`, and
    /// when `params._meta.progressToken` is set and `onProgress` given, the server gets a token of
    /// the session's own (many clients' tokens may collide on one server), and each
    /// `notifications/progress` for it reaches `onProgress` with the caller's token put back, on
    /// the loop thread, in order, until the request ends.
    public func forward(
        _ method: String, params: JSONValue?, onProgress: (@Sendable (JSONValue) -> Void)?,
        onReply: @escaping @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    ) -> Result<Int, RPCError> {
        guard let onProgress, let meta = params?["_meta"], let original = meta["progressToken"],
            original.stringValue != nil || original.intValue != nil
        else { return open(method, params: params, reply: .callback(onReply)) }
        return open(method, params: params, reply: .callback(onReply)) { id, params in
            let token = "omni-\(id)"
            let rewritten = params?.setting("_meta", to: meta.setting("progressToken", to: .string(token)))
            return (rewritten, token, ProgressRoute(original: original, sink: onProgress))
        }
    }

    public func handleServerRequests(with handler: (@Sendable (ServerRequest) -> Bool)?) {
        serverRequests.withLock { $0 = handler }
    }

    public func answer(_ request: RPCID, with outcome: Result<JSONValue, RPCErrorObject>) {
        switch outcome {
        case .success(let result): send(RPCMessage.encodeResponse(id: request, result: result))
        case .failure(let error): send(RPCMessage.encodeResponse(id: request, error: error))
        }
    }

    /// Gives up on request `id`: a late answer is expected and ignored. With a `reason`, the
    /// server is told (`notifications/cancelled`). Returns whether the request was still waiting
    /// (false: its answer, or the session's close, got there first).
    @discardableResult
    public func abandon(_ id: Int, notifying reason: String?) -> Bool {
        let waiting = state.withLock { state in
            if state.abandoned.count >= 1024 { state.abandoned.removeAll() }
            guard let pending = state.pending.removeValue(forKey: id) else { return false }
            if let token = pending.progressToken { state.progress.removeValue(forKey: token) }
            state.abandoned.insert(id)
            return true
        }
        if waiting, let reason {
            send(
                RPCMessage.encodeNotification(
                    method: "notifications/cancelled", params: .object([("requestId", .int(id)), ("reason", .string(reason))])))
        }
        return waiting
    }

    /// Allocates an id, registers the reply (and, through `rewrite`, a progress route and the
    /// params as sent), and writes the request.
    private func open(
        _ method: String, params: JSONValue?, reply: Reply,
        rewrite: ((Int, JSONValue?) -> (JSONValue?, String, ProgressRoute))? = nil
    ) -> Result<Int, RPCError> {
        let opened: Result<(Int, JSONValue?), RPCError> = state.withLock { state in
            if let closed = state.closed { return .failure(.closed(closed)) }
            state.nextID += 1
            let id = state.nextID
            var sent = params
            var token: String?
            if let rewrite {
                let (rewritten, progressToken, route) = rewrite(id, params)
                sent = rewritten
                token = progressToken
                state.progress[progressToken] = route
            }
            state.pending[id] = Pending(method: method, reply: reply, progressToken: token)
            return .success((id, sent))
        }
        guard case .success(let (id, sent)) = opened else { return opened.map(\.0) }
        guard send(RPCMessage.encodeRequest(id: .int(id), method: method, params: sent)) else {
            state.withLock { state in
                if let token = state.pending.removeValue(forKey: id)?.progressToken { state.progress.removeValue(forKey: token) }
            }
            return .failure(.unwritable("stdin is closed or its queue is full"))
        }
        return .success(id)
    }

    @discardableResult
    public func notify(_ method: String, params: JSONValue?) async -> Bool {
        send(RPCMessage.encodeNotification(method: method, params: params))
    }

    /// Fails every request in flight with `.closed(reason)`; later calls fail at once.
    func close(_ reason: String) {
        // The handler (the gateway's) holds this session: let it go with the process.
        serverRequests.withLock { $0 = nil }
        let pending = state.withLock { state in
            if state.closed == nil { state.closed = reason }
            defer {
                state.pending = [:]
                state.progress = [:]
            }
            return Array(state.pending)
        }
        for (id, request) in pending { request.reply.deliver(id, .failure(.closed(reason))) }
    }

    /// One line (or an oversized-line report) from the server's stdout. Loop thread.
    func receive(_ event: LineEvent) {
        let bytes: [UInt8]
        switch event {
        case .oversized(let count):
            countProtocolError()
            onEvent(.oversizedMessage(bytes: count))
            return
        case .line(let line):
            bytes = line
        }
        // Blank lines carry nothing; tolerate them as whitespace.
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        let message: RPCMessage
        do {
            message = try RPCMessage.parse(bytes)
        } catch {
            countProtocolError()
            onEvent(.invalidMessage(reason: error.description, excerpt: StdioSession.excerpt(bytes)))
            return
        }
        switch message {
        case .result(let id, let result): complete(id, .success(result))
        case .error(let id?, let error): complete(id, .failure(.remote(error)))
        case .error(nil, let error):
            // The server could not even read our request's id: a broken request or a broken peer.
            countProtocolError()
            onEvent(.invalidMessage(reason: "error response without an id: \(error)", excerpt: StdioSession.excerpt(bytes)))
        case .notification(let method, let params):
            if method == "notifications/progress", let params, deliverProgress(params) { return }
            onEvent(.notification(method: method, params: params))
        case .request(let id, let method, let params):
            onEvent(.serverRequest(method: method))
            // Legacy servers may ping their client; anything else (sampling, elicitation, roots)
            // goes to the gateway's client when it takes it.
            if method == "ping" {
                send(RPCMessage.encodeResponse(id: id, result: .object([])))
            } else if let handler = serverRequests.withLock({ $0 }), handler(ServerRequest(id: id, method: method, params: params)) {
                return
            } else {
                let error = RPCErrorObject(code: -32601, message: "\(method) is not supported by the omni-mcp controller", data: nil)
                send(RPCMessage.encodeResponse(id: id, error: error))
            }
        }
    }

    private func complete(_ id: RPCID, _ outcome: Result<JSONValue, RPCError>) {
        let (pending, late): ((Int, Pending)?, Bool) = state.withLock { state in
            guard case .int(let number) = id else { return (nil, false) }
            // After close every request was failed already: answers drained from the pipe of
            // an exited process are late, not unknown.
            if state.closed != nil { return (nil, true) }
            let pending = state.pending.removeValue(forKey: number)
            if let token = pending?.progressToken { state.progress.removeValue(forKey: token) }
            return (pending.map { (number, $0) }, state.abandoned.remove(number) != nil)
        }
        if late { return }
        guard let (number, pending) = pending else {
            countProtocolError()
            onEvent(.unknownResponse(id))
            return
        }
        pending.reply.deliver(number, outcome)
    }

    /// Hands a progress notification to the forwarded request it belongs to, with its caller's
    /// token; false when the token is not one of ours (the owner hears of it as an event).
    private func deliverProgress(_ params: JSONValue) -> Bool {
        guard let token = params["progressToken"]?.stringValue,
            let route = state.withLock({ $0.progress[token] })
        else { return false }
        route.sink(params.setting("progressToken", to: route.original))
        return true
    }

    private func countProtocolError() {
        state.withLock { $0.protocolErrors += 1 }
    }

    @discardableResult
    private func send(_ message: JSONValue) -> Bool {
        var line = message.renderedBytes()
        line.append(0x0A)
        return writer.write(line)
    }

    /// The first 200 bytes of a line, as text, for a log line.
    static func excerpt(_ bytes: [UInt8]) -> String {
        let head = String(decoding: bytes.prefix(200), as: UTF8.self)
        return bytes.count > 200 ? head + "… (\(bytes.count) bytes)" : head
    }
}
