import Actual
import HTTP
import JSON

extension Gateway {
    /// The aggregate endpoint: every ready server's tools, prompts and resources at once.
    public static let aggregatePath = "/mcp"
    /// The name the aggregate's sessions, listeners, records and metrics carry (no server can
    /// be named so).
    static let aggregate = "*"

    /// What `/mcp` says of itself (`initialize`, `server/discover`).
    static let aggregateIdentity = ServerIdentity(
        era: .modern, protocolVersion: ProtocolVersions.modern[0], name: "omni-mcp", version: MCPVersion.clientVersion,
        capabilities: .object([
            ("tools", .object([("listChanged", true)])), ("prompts", .object([("listChanged", true)])),
            ("resources", .object([("listChanged", true)])),
        ]),
        instructions: "Every ready server's tools, prompts and resources, named <server>__<name>.")

    /// The list methods the aggregate answers by asking every ready server, and the result key
    /// each one's items are under.
    static let aggregateLists: [String: String] = [
        "tools/list": "tools", "prompts/list": "prompts", "resources/list": "resources",
        "resources/templates/list": "resourceTemplates",
    ]

    /// A request to `/mcp` that would go to a server: lists are gathered from every ready
    /// server, calls go to the server their name (or URI) belongs to, under the same guards as
    /// at `/mcp/<name>`.
    func aggregateForward(
        _ request: HTTPRequest, _ responder: HTTPResponder, id: JSONValue, method: String, params: JSONValue?,
        client: ClientContext, session: String?, accept: Acceptance
    ) {
        if let key = Gateway.aggregateLists[method] {
            return gather(method, key: key, request, responder, id: id, client: client)
        }
        switch method {
        case "tools/call", "prompts/get":
            let known = state.withLock { $0.aggregateNames[method == "tools/call" ? "tools" : "prompts"] ?? [:] }
            guard let name = params?["name"]?.stringValue, let (server, own) = AggregateNames.resolve(name, known: known) else {
                return reject(
                    responder, request, .invalidParams("no \(method == "tools/call" ? "tool" : "prompt") by that name on /mcp", id: id),
                    server: Gateway.aggregate, method: method, client: client)
            }
            // Only a real server: `*__…` would route back here without end.
            guard server != Gateway.aggregate, knows(server) else {
                return reject(
                    responder, request, .invalidParams("\(name) names no server (names are <server>__<name>)", id: id),
                    server: Gateway.aggregate, method: method, client: client)
            }
            if client.era == .modern, method == "tools/call",
                let why = state.withLock({ $0.paramHeaders[server] })?.mismatch(
                    tool: own, arguments: params?["arguments"], request: request)
            {
                return reject(responder, request, .headerMismatch(why, id: id), server: server, method: method, client: client)
            }
            let rewritten = (params ?? .object([])).setting("name", to: .string(own))
            forward(
                request, responder, server: server, id: id, method: method, params: rewritten, client: client, session: session,
                accept: accept)
        case "resources/read", "resources/subscribe", "resources/unsubscribe":
            let uri = params?["uri"]?.stringValue
            guard let uri, let server = state.withLock({ $0.aggregateURIs[uri] }), server != Gateway.aggregate else {
                return reject(
                    responder, request, .invalidParams("no listed resource has that uri on /mcp (list resources first)", id: id),
                    server: Gateway.aggregate, method: method, client: client)
            }
            forward(
                request, responder, server: server, id: id, method: method, params: params, client: client, session: session, accept: accept
            )
        default:
            reject(
                responder, request, .methodNotFound(method, id: id, why: "not served on /mcp; use /mcp/<server>"),
                server: Gateway.aggregate, method: method, client: client)
        }
    }

    /// Sends `method` to every server with a ready process, waits for their first pages up to
    /// `aggregateListDeadline`, and answers with their items renamed `<server>__<name>`,
    /// servers in name order and each server's own order kept. A server that fails, answers
    /// garbage or is late drops out of this answer only.
    private func gather(
        _ method: String, key: String, _ request: HTTPRequest, _ responder: HTTPResponder, id: JSONValue, client: ClientContext
    ) {
        let started = now
        let upstreams = state.withLock { state in
            state.routing.routes.values.compactMap(\.active).sorted { $0.instance.name < $1.instance.name }
        }
        let trace = Gateway.trace(of: request)
        let fanOut = AggregateFanOut(servers: upstreams.map(\.instance.name)) { [weak self] results in
            guard let self else { return }
            let result = assemble(key: key, results: results)
            let translated = EraTranslation.result(result, method: method, server: Gateway.aggregateIdentity, client: client) ?? result
            responder.respond(.json(200, RPCReply.result(id: id, translated).renderedBytes()))
            report(
                GatewayRecord(
                    server: Gateway.aggregate, method: method, tool: nil, era: client.era, session: nil, outcome: "ok", status: 200,
                    latency: .nanoseconds(Int64(now - started)), trace: trace, instance: nil,
                    error: results.count < upstreams.count ? "\(upstreams.count - results.count) server(s) left out" : nil))
        }
        guard !upstreams.isEmpty else { return fanOut.expire() }
        let modern = ClientContext(
            era: .modern, version: ProtocolVersions.modern[0], capabilities: .object([]), info: MCPVersion.clientInfo, logLevel: nil)
        for upstream in upstreams {
            let server = upstream.instance.name
            // Each server's own guards: one rate-limited, saturated or broken drops out.
            guard let trial = admitLeg(server) else {
                fanOut.arrive(server, nil)
                continue
            }
            fanOut.admitted(server) { [weak self] outcome in self?.releaseSlot(of: server, trial: trial, outcome: outcome) }
            let params = EraTranslation.params(JSONValue?.none, server: upstream.identity, client: modern, traceparent: trace.traceparent)
            let forwarded = upstream.channel.forward(method, params: params, onProgress: nil) { _, outcome in
                switch outcome {
                case .success(let result): fanOut.arrive(server, result)
                case .failure(.remote): fanOut.arrive(server, nil)
                case .failure: fanOut.arrive(server, nil, failed: true)
                }
            }
            switch forwarded {
            case .success(let childID): fanOut.sent(server, upstream: upstream, childID: childID)
            case .failure: fanOut.arrive(server, nil, failed: true)
            }
        }
        _ = loop.after(options.aggregateListDeadline) { fanOut.expire() }
    }

    /// Admits one leg of an aggregate listing at `server`'s guards without waiting: its trial
    /// flag when admitted, nil when refused (rate, breaker) or it would have to queue.
    private func admitLeg(_ server: String) -> Bool? {
        let now = clock.now
        return state.withLock { state -> Bool? in
            guard var entry = state.entries[server] else { return nil }
            defer { state.entries[server] = entry }
            switch entry.guards.admit(at: now) {
            case .proceed(let trial): return trial
            case .wait(let ticket, let trial):
                _ = entry.guards.cancelWait(ticket, trial: trial)
                return nil
            case .refuse: return nil
            }
        }
    }

    /// The aggregate list from each server's result, and the names and URIs it maps.
    private func assemble(key: String, results: [String: JSONValue]) -> JSONValue {
        var items: [JSONValue] = []
        var names: [String: (String, String)] = [:]
        var uris: [String: String] = [:]
        for server in results.keys.sorted() {
            guard let list = results[server]?[key]?.arrayValue else { continue }
            for item in list where item.objectValue != nil {
                var renamed = item
                if let name = item["name"]?.stringValue {
                    let published = AggregateNames.publicName(server: server, name: name)
                    renamed = item.setting("name", to: .string(published))
                    if key == "tools" || key == "prompts" { names[published] = (server, name) }
                }
                if key == "resources", let uri = item["uri"]?.stringValue, uris[uri] == nil { uris[uri] = server }
                items.append(renamed)
            }
        }
        // Servers that answered replace their own entries; a server left out of this answer
        // (late, failing) keeps those of its last listing, so names handed out stay routable.
        let answered = Set(results.keys)
        state.withLock { state in
            if key == "tools" || key == "prompts" {
                let kept = (state.aggregateNames[key] ?? [:]).filter { !answered.contains($0.value.0) }
                state.aggregateNames[key] = kept.merging(names) { _, new in new }
            }
            if key == "resources" {
                state.aggregateURIs = state.aggregateURIs.filter { !answered.contains($0.value) }.merging(uris) { old, _ in old }
            }
        }
        return .object([(key, .array(items))])
    }
}
