import Actual
import HTTP
import JSON
import Metering

extension Gateway {
    /// The prefix of every server's endpoint.
    public static let pathPrefix = "/mcp/"

    /// Answers one request to `/mcp/<name>` (on the HTTP loop thread; never blocks).
    ///
    /// Order of checks: `Origin` (403), token (401), server name (404), HTTP method (405 for
    /// anything but POST, and for GET and DELETE without a legacy session), then the era's
    /// own rules (docs/mcp-streamable-http-notes.md).
    public func handle(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let (auth, origins, stopped) = state.withLock { ($0.auth, $0.origins, $0.stopped) }
        guard origins.allows(request.header("Origin")) else {
            return reject(responder, request, .init(status: 403, code: -32600, message: "Forbidden: origin not allowed"))
        }
        guard !auth.isEnabled || auth.accepts(authorization: request.header("Authorization")) else {
            let failure = RPCFailure(
                status: 401, code: -32600, message: "Unauthorized: a bearer token is required",
                headers: [.init(name: "WWW-Authenticate", value: "Bearer realm=\"omni-mcp\"")])
            return reject(responder, request, failure)
        }
        let name = Gateway.serverName(of: request)
        // Shutting down: POSTs still come in (answers, cancellations and retries that calls in
        // flight need to finish; new requests are refused where they start) and DELETEs end
        // sessions; GET streams are over.
        guard !stopped || request.method == "POST" || request.method == "DELETE" else {
            return reject(responder, request, Gateway.shuttingDown(name, id: nil))
        }
        guard knows(name) else {
            return reject(responder, request, RPCFailure(status: 404, code: -32005, message: "no server named \(name)"))
        }
        switch request.method {
        case "POST": post(request, responder, server: name)
        case "GET": get(request, responder, server: name)
        case "DELETE": delete(request, responder, server: name)
        default:
            responder.respond(
                HTTPResponse(
                    status: 405, headers: [("Allow", "GET, POST, DELETE")], body: .bytes(Array("method not allowed\n".utf8))))
        }
    }

    // MARK: POST

    private func post(_ request: HTTPRequest, _ responder: HTTPResponder, server: String) {
        guard let type = request.header("Content-Type"), Gateway.mediaType(type) == "application/json" else {
            return reject(
                responder, request,
                RPCFailure(status: 415, code: -32600, message: "Unsupported Media Type: the body must be application/json"))
        }
        let accept = Acceptance(request.header("Accept"))
        guard accept.json || accept.stream else {
            return reject(
                responder, request,
                RPCFailure(status: 406, code: -32600, message: "Not Acceptable: Accept must allow application/json or text/event-stream"))
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(request.body)
        } catch {
            return reject(responder, request, .parseError("\(error)"))
        }
        let message: ClientMessage
        switch ClientMessage.classify(json) {
        case .failure(let failure): return reject(responder, request, failure)
        case .success(let classified): message = classified
        }
        let header = request.header("MCP-Protocol-Version")
        if let header, !ProtocolVersions.isLegacy(header) {
            modern(message, request, responder, server: server, accept: accept)
        } else {
            legacy(message, request, responder, server: server, accept: accept)
        }
    }

    private func modern(
        _ message: ClientMessage, _ request: HTTPRequest, _ responder: HTTPResponder, server: String, accept: Acceptance
    ) {
        switch message {
        case .notification:
            // No client notification means anything in 2026-07-28 (cancellation is closing the
            // stream): accepted and dropped, so one client cannot cancel another's work.
            guard let version = request.header("MCP-Protocol-Version"), ProtocolVersions.modern.contains(version) else {
                return reject(responder, request, Gateway.unsupported(request.header("MCP-Protocol-Version") ?? "", id: nil))
            }
            responder.respond(HTTPResponse(status: 202))
        case .response:
            reject(
                responder, request,
                .invalidRequest("2026-07-28 clients send no responses: input goes in a retried request's inputResponses"))
        case .request(let id, let method, let params):
            if let failure = ModernRequestCheck.check(request, id: id, method: method, params: params) {
                return reject(responder, request, failure)
            }
            if method == "tools/call", let tool = params?["name"]?.stringValue,
                let why = state.withLock({ $0.paramHeaders[server] })?.mismatch(
                    tool: tool, arguments: params?["arguments"], request: request)
            {
                return reject(responder, request, .headerMismatch(why, id: id))
            }
            let client = ClientContext.modern(params?["_meta"])
            switch method {
            case "server/discover":
                answerLocally(request, responder, server: server, id: id, method: method, client: client) {
                    EraTranslation.discover($0)
                }
            case "subscriptions/listen":
                listen(request, responder, server: server, id: id, params: params, accept: accept)
            case "initialize", "ping", "notifications/initialized":
                reject(responder, request, .methodNotFound(method, id: id, why: "not part of 2026-07-28"))
            case _
            where EraTranslation.multiRoundTrip.contains(method)
                && params?["requestState"]?.stringValue?.hasPrefix(Gateway.parkedPrefix) == true:
                // The retry of a call whose server asked for input: it continues that call.
                guard let token = params?["requestState"]?.stringValue,
                    resume(token: token, server: server, id: id, params: params, responder: responder, acceptsStream: accept.stream)
                else {
                    return reject(
                        responder, request, .invalidParams("requestState is unknown or expired; send the request again without it", id: id))
                }
            default:
                forward(
                    request, responder, server: server, id: id, method: method, params: params, client: client, session: nil,
                    accept: accept)
            }
        }
    }

    private func legacy(
        _ message: ClientMessage, _ request: HTTPRequest, _ responder: HTTPResponder, server: String, accept: Acceptance
    ) {
        guard let sessionID = request.header("Mcp-Session-Id") else {
            guard case .request(let id, "initialize", let params) = message else {
                if case .request(let id, _, let params) = message, params?["_meta"]?["io.modelcontextprotocol/protocolVersion"] != nil {
                    // A modern body without the modern headers: say so, rather than "no session".
                    return reject(responder, request, .headerMismatch("the MCP-Protocol-Version header is required", id: id))
                }
                return reject(responder, request, .invalidRequest("Bad Request: Missing session ID"))
            }
            return initialize(request, responder, server: server, id: id, params: params)
        }
        let (session, sweep) = state.withLock { state -> (LegacySession?, Bool) in
            let session = state.sessions.use(sessionID, server: server, now: now)
            // A session taken back after a restart expires like any other.
            let sweep = session != nil && !state.sweeping
            if sweep { state.sweeping = true }
            return (session, sweep)
        }
        if sweep { scheduleSweep() }
        guard let session else {
            return reject(responder, request, RPCFailure(status: 404, code: -32600, message: "Session not found"))
        }
        switch message {
        case .notification("notifications/cancelled", let params):
            if let requestID = params?["requestId"], ClientMessage.isValidID(requestID) {
                let call = state.withLock { $0.legacyCalls[sessionID + "\u{0}" + requestID.rendered()] }
                call?.giveUp(.cancelled(params?["reason"]?.stringValue ?? "cancelled by the client"))
            }
            responder.respond(HTTPResponse(status: 202))
        case .response(let id, let message):
            // The client's answer to a server request the gateway relayed on its stream.
            guard answerRelayed(message, id: id, session: sessionID) else {
                return reject(
                    responder, request, .invalidRequest("no request with id \(id.rendered()) is waiting for this session's answer"))
            }
            responder.respond(HTTPResponse(status: 202))
        case .notification:
            // `notifications/initialized` and the like: accepted.
            responder.respond(HTTPResponse(status: 202))
        case .request(let id, let method, let params):
            switch method {
            case "initialize":
                reject(
                    responder, request,
                    .invalidRequest("this session is initialized already; start a new one without Mcp-Session-Id", id: id))
            case "ping":
                respondLocally(responder, request, server: server, id: id, method: method, client: session.client, result: .object([]))
            default:
                forward(
                    request, responder, server: server, id: id, method: method, params: params, client: session.client,
                    session: sessionID, accept: accept)
            }
        }
    }

    private func initialize(_ request: HTTPRequest, _ responder: HTTPResponder, server: String, id: JSONValue, params: JSONValue?) {
        if isStopped { return reject(responder, request, Gateway.shuttingDown(server, id: id)) }
        let version = ProtocolVersions.negotiate(params?["protocolVersion"]?.stringValue)
        let client = ClientContext(
            era: .legacy, version: version, capabilities: params?["capabilities"] ?? .object([]), info: params?["clientInfo"],
            logLevel: nil)
        answerLocally(request, responder, server: server, id: id, method: "initialize", client: client) { identity in
            EraTranslation.initialize(identity, version: version)
        } headers: { [self] in
            let (sessionID, evicted, sweep) = state.withLock { state -> (String, LegacySession?, Bool) in
                let sessionID = state.sessions.mint(server: server, client: client)
                let evicted = state.sessions.open(id: sessionID, server: server, client: client, now: now)
                let sweep = !state.sweeping
                state.sweeping = true
                return (sessionID, evicted, sweep)
            }
            evicted?.stream?.finish()
            if sweep { scheduleSweep() }
            return [("Mcp-Session-Id", sessionID)]
        }
    }

    // MARK: GET and DELETE (legacy sessions only)

    private func get(_ request: HTTPRequest, _ responder: HTTPResponder, server: String) {
        guard let sessionID = request.header("Mcp-Session-Id") else {
            return responder.respond(
                HTTPResponse(status: 405, headers: [("Allow", "POST")], body: .bytes(Array("method not allowed: no session\n".utf8))))
        }
        guard Acceptance(request.header("Accept")).stream else {
            return reject(responder, request, RPCFailure(status: 406, code: -32600, message: "Not Acceptable: GET needs text/event-stream"))
        }
        let stream = HTTPStream(keepAlive: options.keepAlive)
        let outcome = state.withLock { state -> Int in
            guard state.sessions.use(sessionID, server: server, now: now) != nil else { return 404 }
            return state.sessions.attach(stream, to: sessionID) ? 200 : 409
        }
        switch outcome {
        case 404: reject(responder, request, RPCFailure(status: 404, code: -32600, message: "Session not found"))
        case 409: reject(responder, request, RPCFailure(status: 409, code: -32600, message: "Conflict: this session has a GET stream open"))
        default: responder.respond(.eventStream(stream, headers: SSEMessage.headers))
        }
    }

    private func delete(_ request: HTTPRequest, _ responder: HTTPResponder, server: String) {
        guard let sessionID = request.header("Mcp-Session-Id") else {
            return responder.respond(
                HTTPResponse(status: 405, headers: [("Allow", "POST")], body: .bytes(Array("method not allowed: no session\n".utf8))))
        }
        let closed = state.withLock { state -> LegacySession?? in
            guard state.sessions.use(sessionID, server: server, now: now) != nil else { return .none }
            return .some(state.sessions.close(sessionID))
        }
        guard let session = closed else {
            return reject(responder, request, RPCFailure(status: 404, code: -32600, message: "Session not found"))
        }
        session?.stream?.finish()
        responder.respond(HTTPResponse(status: 200))
    }

    // MARK: Requests the gateway answers or forwards

    func forward(
        _ request: HTTPRequest, _ responder: HTTPResponder, server: String, id: JSONValue, method: String, params: JSONValue?,
        client: ClientContext, session: String?, accept: Acceptance
    ) {
        // One lock for both: this is every forwarded request's path.
        let (stopped, limit) = state.withLock { ($0.stopped, $0.entries[server]?.guards.limits.requestTimeout) }
        if stopped {
            return reject(responder, request, Gateway.shuttingDown(server, id: id), server: server, method: method, client: client)
        }
        if server == Gateway.aggregate {
            return aggregateForward(
                request, responder, id: id, method: method, params: params, client: client, session: session, accept: accept)
        }
        let timeout = limit ?? .seconds(30)
        let call = GatewayCall(
            gateway: self, server: server, method: method, id: id, params: params, client: client, responder: responder,
            acceptsStream: accept.stream, trace: Gateway.trace(of: request), session: session,
            timeout: timeout)
        if let key = call.legacyKey { state.withLock { $0.legacyCalls[key] = call } }
        call.start()
    }

    /// A request the gateway answers from the routed instance's recorded identity, or while a
    /// restart is under way from the identity of the process it replaces; on `/mcp` from the
    /// aggregate's own.
    private func answerLocally(
        _ request: HTTPRequest, _ responder: HTTPResponder, server: String, id: JSONValue, method: String, client: ClientContext,
        result: (ServerIdentity) -> JSONValue, headers: () -> [(String, String)] = { [] }
    ) {
        let identity: ServerIdentity
        var instance: InstanceID?
        if server == Gateway.aggregate {
            identity = Gateway.aggregateIdentity
        } else {
            switch target(for: server) {
            case .success(let upstream):
                identity = upstream.identity
                instance = upstream.instance
            case .failure(let refusal):
                guard let restarting = identityWhileRestarting(server) else {
                    return reject(responder, request, RPCFailure.refusal(refusal, id: id), server: server, method: method, client: client)
                }
                identity = restarting
            case nil:
                return reject(responder, request, RPCFailure(status: 404, code: -32005, message: "no server named \(server)", id: id))
            }
        }
        respondLocally(
            responder, request, server: server, id: id, method: method, client: client, result: result(identity), headers: headers(),
            instance: instance)
    }

    private func respondLocally(
        _ responder: HTTPResponder, _ request: HTTPRequest, server: String, id: JSONValue, method: String, client: ClientContext,
        result: JSONValue, headers: [(String, String)] = [], instance: InstanceID? = nil
    ) {
        let started = now
        responder.respond(.json(200, RPCReply.result(id: id, result).renderedBytes(), headers: headers))
        report(
            GatewayRecord(
                server: server, method: method, tool: nil, era: client.era, session: nil, outcome: "ok", status: 200,
                latency: .nanoseconds(Int64(now - started)), trace: Gateway.trace(of: request),
                instance: instance, error: nil))
    }

    private func listen(
        _ request: HTTPRequest, _ responder: HTTPResponder, server: String, id: JSONValue, params: JSONValue?, accept: Acceptance
    ) {
        if isStopped { return reject(responder, request, Gateway.shuttingDown(server, id: id)) }
        guard accept.stream else {
            return reject(
                responder, request,
                RPCFailure(status: 406, code: -32600, message: "Not Acceptable: subscriptions/listen needs text/event-stream", id: id))
        }
        let capabilities: JSONValue
        if server == Gateway.aggregate {
            capabilities = Gateway.aggregateIdentity.capabilities
        } else if case .success(let upstream) = target(for: server) {
            capabilities = upstream.identity.capabilities
        } else {
            return reject(
                responder, request,
                RPCFailure.refusal(GatewayRefusal(.unavailable, server: server, reason: "no process is ready"), id: id))
        }
        let stream = HTTPStream(keepAlive: options.keepAlive)
        let filter = Listener.Filter(requested: params?["notifications"], capabilities: capabilities)
        let listener = Listener(server: server, id: id, filter: filter, stream: stream)
        let key = ObjectIdentifier(listener)
        let admitted = state.withLock { state -> Bool in
            guard state.listeners.values.count(where: { $0.server == server }) < options.maxListeners else { return false }
            state.listeners[key] = listener
            return true
        }
        guard admitted else {
            return reject(
                responder, request,
                RPCFailure.refusal(
                    GatewayRefusal(.overloaded, server: server, reason: "\(options.maxListeners) listen streams are open"), id: id))
        }
        stream.onClose { [weak self] in self?.state.withLock { _ = $0.listeners.removeValue(forKey: key) } }
        responder.respond(.eventStream(stream, headers: SSEMessage.headers))
        listener.acknowledge()
    }

    // MARK: Helpers

    /// A refusal before any forwarding: the JSON-RPC error body at its status, counted and
    /// reported like any request.
    func reject(
        _ responder: HTTPResponder, _ request: HTTPRequest, _ failure: RPCFailure, server: String? = nil, method: String? = nil,
        client: ClientContext? = nil
    ) {
        let headers = failure.headers.map { ($0.name, $0.value) }
        responder.respond(.json(failure.status, failure.body.renderedBytes(), headers: headers))
        let name = server ?? Gateway.serverName(of: request)
        let outcome = failure.code == -32005 || failure.code <= -32001 && failure.code >= -32007 ? "refused" : "invalid"
        report(
            GatewayRecord(
                server: name, method: method ?? request.header("Mcp-Method") ?? "-", tool: nil, era: client?.era ?? .legacy, session: nil,
                outcome: outcome, status: failure.status, latency: .zero,
                trace: Gateway.trace(of: request), instance: nil, error: failure.message))
    }

    /// The request's trace context; each request builds it once, where its record or call is
    /// made, so the log line, the span and the server's `traceparent` name the same span.
    static func trace(of request: HTTPRequest) -> TraceContext {
        TraceContext(traceparent: request.header("traceparent"))
    }

    /// The server a request's path names: `/mcp/<name>`, or the aggregate for `/mcp`.
    static func serverName(of request: HTTPRequest) -> String {
        request.path == aggregatePath ? aggregate : String(request.path.dropFirst(pathPrefix.count))
    }

    var isStopped: Bool { state.withLock { $0.stopped } }

    static func shuttingDown(_ server: String, id: JSONValue?) -> RPCFailure {
        RPCFailure.refusal(GatewayRefusal(.unavailable, server: server, reason: "shutting down"), id: id)
    }

    static func unsupported(_ version: String, id: JSONValue?) -> RPCFailure {
        RPCFailure(
            status: 400, code: -32022, message: "Unsupported protocol version",
            data: .object([("supported", .array(ProtocolVersions.all.map { .string($0) })), ("requested", .string(version))]), id: id)
    }

    func report(_ record: GatewayRecord) {
        let known =
            record.server == Gateway.aggregate
            || state.withLock { $0.entries[record.server] != nil || $0.notRunnable[record.server] != nil }
        // Requests for names that do not exist are not counted per name: a client could
        // otherwise make up series without end.
        metrics.record(
            server: known ? record.server : "-", method: record.method, outcome: record.outcome,
            seconds: record.outcome == "invalid" ? nil : record.latency.seconds)
        observer(record)
    }

    /// `type/subtype` of a media type, lower-cased, without parameters.
    static func mediaType(_ value: String) -> String {
        // Byte by byte: Foundation's trimming and lower-casing cost more than the rest of a
        // request's header checks together.
        var bytes: [UInt8] = []
        for byte in value.utf8 {
            if byte == UInt8(ascii: ";") { break }
            if byte == 0x20 || byte == 0x09 { continue }
            bytes.append(byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// What a client's `Accept` allows (absent: anything).
struct Acceptance: Sendable {
    var json: Bool
    var stream: Bool

    init(_ header: String?) {
        guard let header else {
            json = true
            stream = true
            return
        }
        let types = header.split(separator: ",").map { Gateway.mediaType(String($0)) }
        let any = types.contains("*/*")
        json = any || types.contains("application/json") || types.contains("application/*")
        stream = any || types.contains("text/event-stream") || types.contains("text/*")
    }
}
