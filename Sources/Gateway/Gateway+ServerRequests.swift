import Actual
import HTTP
import JSON

/// A legacy server's request relayed to a legacy client on its call's SSE stream, waiting for
/// the client to POST the answer.
struct RelayedRequest: Sendable {
    /// The call whose stream carried it (its session is the one that must answer).
    var call: GatewayCall
    var upstream: Upstream
    var request: ServerRequest
}

/// A modern call whose server asked for input: the client got an `InputRequiredResult` and
/// retries with `inputResponses` and this `requestState`.
struct ParkedCall: Sendable {
    var call: GatewayCall
    var upstream: Upstream
    var request: ServerRequest
}

extension Gateway {
    /// The start of every `requestState` the gateway issues; a retry with any other state is
    /// a modern server's own multi round-trip and goes to the server unchanged.
    static let parkedPrefix = "omni-parked-"
    /// The key of the one request in an `InputRequiredResult`'s `inputRequests`.
    static let inputKey = "input-1"

    /// Which client capability each server-to-client request needs.
    static let requiredCapability = ["sampling/createMessage": "sampling", "elicitation/create": "elicitation", "roots/list": "roots"]

    /// A call ended (or paused for a retry): it is nobody's recipient any more. Server
    /// requests it relayed and that its client never answered get an error, so the server does
    /// not wait for them.
    func forget(_ call: GatewayCall, instance: InstanceID?, legacyKey: String?, parked: String?, relayed: Set<String>) {
        let (orphans, drained) = state.withLock { state -> ([RelayedRequest], [DrainWaiter]) in
            var drained: [DrainWaiter] = []
            if let instance {
                state.calls[instance]?[ObjectIdentifier(call)] = nil
                if state.calls[instance]?.isEmpty == true {
                    state.calls[instance] = nil
                    state.drainExpired.remove(instance)
                    drained = state.drainWaiters.removeValue(forKey: instance) ?? []
                    if state.calls.isEmpty {
                        drained += state.quiesceWaiters
                        state.quiesceWaiters = []
                    }
                }
            }
            state.readyWaiters[call.server]?[ObjectIdentifier(call)] = nil
            // Only this call's own entry: a later request may reuse the client's id.
            if let legacyKey, state.legacyCalls[legacyKey] === call { state.legacyCalls[legacyKey] = nil }
            if let parked { state.parked[parked] = nil }
            return (relayed.compactMap { state.relayed.removeValue(forKey: $0) }, drained)
        }
        for waiter in drained { waiter.resume() }
        for orphan in orphans {
            orphan.upstream.channel.answer(
                orphan.request.id,
                with: .failure(
                    RPCErrorObject(code: -32603, message: "the client's request ended before it answered \(orphan.request.method)")))
        }
    }

    /// A call was given up while its server may still be working on it: for a while, requests
    /// from that server cannot be told apart from that abandoned work's, so none is relayed.
    func noteAbandoned(on instance: InstanceID) {
        let until = now + Gateway.abandonedWindow.nanoseconds
        state.withLock { state in
            state.abandoned = state.abandoned.filter { $0.value > now }
            state.abandoned[instance] = until
        }
    }

    /// How long after a call was given up its server's requests are refused as ambiguous.
    static let abandonedWindow = Duration.seconds(30)

    /// A request from a (legacy) server to its client: relayed to the one client whose call is
    /// in flight on that process when there is exactly one; otherwise refused with why, counted.
    func relay(_ request: ServerRequest, from upstream: Upstream) {
        let current = now
        let (calls, abandoned) = state.withLock { state in
            (Array(state.calls[upstream.instance]?.values ?? [:].values), (state.abandoned[upstream.instance] ?? 0) > current)
        }
        let server = upstream.instance.name
        guard calls.count == 1, !abandoned, let call = calls.first else {
            let why =
                abandoned
                ? "a client request to \(upstream.instance) was given up lately and may be the one asking; the gateway cannot tell whose this is"
                : calls.isEmpty
                    ? "no client request is in flight on \(upstream.instance), so there is no client to ask"
                    : "\(calls.count) client requests are in flight on \(upstream.instance); the gateway cannot tell whose this is"
            metrics.recordServerRequest(
                server: server, method: request.method, outcome: calls.isEmpty && !abandoned ? "no_client" : "ambiguous")
            upstream.channel.answer(request.id, with: .failure(RPCErrorObject(code: -32603, message: "\(request.method) refused: \(why)")))
            return
        }
        if let capability = Gateway.requiredCapability[request.method], call.client.capabilities[capability] == nil {
            metrics.recordServerRequest(server: server, method: request.method, outcome: "undeclared")
            upstream.channel.answer(
                request.id,
                with: .failure(RPCErrorObject(code: -32601, message: "the client did not declare the \(capability) capability")))
            return
        }
        let relayed: Bool
        switch call.client.era {
        case .legacy: relayed = relayOnStream(request, call: call, upstream: upstream)
        case .modern: relayed = park(request, call: call, upstream: upstream)
        }
        metrics.recordServerRequest(server: server, method: request.method, outcome: relayed ? "relayed" : "no_stream")
        if !relayed {
            upstream.channel.answer(
                request.id,
                with: .failure(RPCErrorObject(code: -32603, message: "\(request.method) refused: the client's request cannot carry it")))
        }
    }

    /// Legacy: the same request, with an id of the gateway's, on the call's SSE stream.
    private func relayOnStream(_ request: ServerRequest, call: GatewayCall, upstream: Upstream) -> Bool {
        guard let stream = call.openStream() else { return false }
        let relayed = RelayedRequest(call: call, upstream: upstream, request: request)
        let id = state.withLock { state -> String? in
            state.nextRelayed += 1
            let id = "omni-\(state.nextRelayed)"
            // Recorded on the call in the same step: if the call has ended, nothing is kept.
            guard call.recordRelayed(id) else { return nil }
            state.relayed[id] = relayed
            return id
        }
        guard let id else { return false }
        guard stream.write(SSEMessage.event(RPCReply.request(id: .string(id), request.method, params: request.params))) else {
            state.withLock { _ = $0.relayed.removeValue(forKey: id) }
            call.answeredRelayed(id)
            return false
        }
        return true
    }

    /// Modern: the call's exchange ends with an `InputRequiredResult`; the call waits, still in
    /// flight at the server, for the client's retry.
    private func park(_ request: ServerRequest, call: GatewayCall, upstream: Upstream) -> Bool {
        guard EraTranslation.multiRoundTrip.contains(call.method) else { return false }
        let token = Gateway.parkedPrefix + LegacySessionTable.newID() + LegacySessionTable.newID()
        // Detached and parked in one step (gateway, then call lock): a deadline that ends the
        // call at any moment also removes it from `parked`.
        let receiver = state.withLock { state -> (id: JSONValue, responder: HTTPResponder, stream: HTTPStream?)? in
            guard let receiver = call.detachReceiver(parkedAs: token) else { return nil }
            state.parked[token] = ParkedCall(call: call, upstream: upstream, request: request)
            return receiver
        }
        guard let receiver else { return false }
        let result: JSONValue = .object([
            ("resultType", "input_required"),
            (
                "inputRequests",
                .object([(Gateway.inputKey, .object([("method", .string(request.method)), ("params", request.params ?? .object([]))]))])
            ),
            ("requestState", .string(token)),
        ])
        let message = RPCReply.result(id: receiver.id, result)
        if let stream = receiver.stream {
            stream.write(SSEMessage.event(message))
            stream.finish()
        } else {
            receiver.responder.respond(.json(200, message.renderedBytes()))
        }
        report(
            GatewayRecord(
                server: call.server, method: call.method, tool: GatewayCall.toolName(method: call.method, params: call.params),
                era: .modern,
                session: nil, outcome: "input_required", status: 200, latency: .nanoseconds(Int64(now - call.started)),
                trace: call.trace, instance: upstream.instance, error: nil))
        return true
    }

    /// A modern retry carrying `requestState`: the parked call takes the new exchange as its
    /// receiver, and the server gets the client's input as the answer to its request.
    /// False when the state is not one of a parked call of `server` (the caller refuses it).
    func resume(
        token: String, server: String, id: JSONValue, params: JSONValue?, responder: HTTPResponder, acceptsStream: Bool
    ) -> Bool {
        guard
            let parked = state.withLock({ state -> ParkedCall? in
                // A call made through `/mcp` is resumed there too (its own server is behind it).
                guard let parked = state.parked[token], parked.call.server == server || server == Gateway.aggregate else { return nil }
                state.parked[token] = nil
                return parked
            })
        else { return false }
        guard parked.call.attach(GatewayCall.Receiver(id: id, responder: responder, acceptsStream: acceptsStream)) else {
            return false
        }
        if let response = params?["inputResponses"]?[Gateway.inputKey] {
            parked.upstream.channel.answer(parked.request.id, with: .success(response))
        } else {
            parked.upstream.channel.answer(
                parked.request.id,
                with: .failure(RPCErrorObject(code: -32603, message: "the client gave no answer to \(parked.request.method)")))
        }
        return true
    }

    /// A legacy client's answer to a relayed request (POSTed as a JSON-RPC response).
    func answerRelayed(_ message: JSONValue, id: JSONValue, session: String) -> Bool {
        guard let key = id.stringValue,
            let relayed = state.withLock({ state -> RelayedRequest? in
                guard let relayed = state.relayed[key], relayed.call.session == session else { return nil }
                state.relayed[key] = nil
                return relayed
            })
        else { return false }
        relayed.call.answeredRelayed(key)
        if let result = message["result"] {
            relayed.upstream.channel.answer(relayed.request.id, with: .success(result))
        } else {
            let error = message["error"]
            relayed.upstream.channel.answer(
                relayed.request.id,
                with: .failure(
                    RPCErrorObject(
                        code: error?["code"]?.intValue ?? -32603,
                        message: error?["message"]?.stringValue ?? "the client answered with an error",
                        data: error?["data"])))
        }
        return true
    }
}

extension GatewayCall {
    /// Notes a relayed request id; false when the call has ended.
    func recordRelayed(_ id: String) -> Bool {
        state.withLock { state in
            if case .done = state.phase { return false }
            state.relayed.insert(id)
            return true
        }
    }

    func answeredRelayed(_ id: String) {
        _ = state.withLock { $0.relayed.remove(id) }
    }

    /// The receiver and its open stream, taken away so that the call can park (nil when the
    /// call is not in flight at its server).
    func detachReceiver(parkedAs token: String) -> (id: JSONValue, responder: HTTPResponder, stream: HTTPStream?)? {
        state.withLock { state in
            // `.sending` too: the server may ask before `forward` has returned.
            switch state.phase {
            case .sending, .sent: break
            default: return nil
            }
            guard let receiver = state.receiver else { return nil }
            defer {
                state.receiver = nil
                state.stream = nil
                state.parkedToken = token
            }
            return (receiver.id, receiver.responder, state.stream)
        }
    }

    /// A retry's exchange becomes the receiver of a parked call; false when the call ended.
    func attach(_ receiver: Receiver) -> Bool {
        let attached = state.withLock { state -> Bool in
            switch state.phase {
            case .sending, .sent: break
            default: return false
            }
            guard state.receiver == nil else { return false }
            state.receiver = receiver
            state.parkedToken = nil
            return true
        }
        if attached { receiver.responder.onCancel { [self] in giveUp(.cancelled("client disconnected")) } }
        return attached
    }
}
