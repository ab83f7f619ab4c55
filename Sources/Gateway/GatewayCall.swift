import Actual
import HTTP
import JSON
import Synchronization

/// One client request forwarded to a server, from admission to its one answer.
///
/// Life: admitted by the server's guards (at once, after a wait for a concurrency slot, or
/// refused), sent on the server's channel with the session's own id and progress token, then
/// ended by exactly one of: the server's answer, the deadline (`request_timeout`, pushed back
/// by progress up to `progressCapFactor` times; the server is told to cancel), the client
/// leaving (the server is told to cancel), a legacy client's `notifications/cancelled`, or the
/// process ending (`.closed`). Idempotent methods that failed are sent again after the
/// manifest's backoff while the deadline allows. The answer is JSON, or an SSE stream once a
/// progress notification had to go out first and the client accepts streams.
///
/// Locking: the call's state may be taken inside the gateway's lock, never the other way.
final class GatewayCall: Sendable {
    enum Phase {
        case new
        /// The server has no ready process yet; one is coming (`Gateway.park`).
        case awaitingReady
        case waiting(ticket: UInt64)
        /// `forward` is running (the answer may arrive before it returns).
        case sending(Upstream)
        case sent(Upstream, childID: Int)
        /// Between a failed attempt and its retry.
        case pausing
        case done
    }

    /// How a call ends.
    enum Ending {
        case result(JSONValue)
        case remoteError(RPCErrorObject)
        case refused(GatewayRefusal)
        /// The client left or cancelled: nothing (or, for a legacy cancel, an error) is sent.
        case cancelled(String)
        case failed(RPCFailure)
    }

    /// Where the answer goes: the HTTP exchange waiting for it. A modern call whose server asked
    /// for input has none until the client retries with `inputResponses`.
    struct Receiver {
        var id: JSONValue
        var responder: HTTPResponder
        var acceptsStream: Bool
    }

    struct State {
        var phase = Phase.new
        var receiver: Receiver?
        /// The `requestState` of a multi round-trip this call is parked under.
        var parkedToken: String?
        /// Server requests relayed on this call's stream and not answered yet (by the id the
        /// client was given): answered with an error if the call ends first.
        var relayed: Set<String> = []
        var trial = false
        var holdsSlot = false
        var attempt = 0
        var stream: HTTPStream?
        var timer: LoopTimer?
        var deadline: UInt64 = 0
        var instance: InstanceID?
        /// Set when the call was given up while `forward` was still running.
        var abandonReason: String?
    }

    let gateway: Gateway
    let server: String
    let method: String
    /// The client's id of the request that opened the call (a retry has its own).
    let id: JSONValue
    let params: JSONValue?
    let client: ClientContext
    let trace: TraceContext
    let session: String?
    let started: UInt64
    let timeout: Duration
    let hardDeadline: UInt64
    let state = Mutex(State())

    init(
        gateway: Gateway, server: String, method: String, id: JSONValue, params: JSONValue?, client: ClientContext,
        responder: HTTPResponder, acceptsStream: Bool, trace: TraceContext, session: String?, timeout: Duration
    ) {
        self.gateway = gateway
        self.server = server
        self.method = method
        self.id = id
        self.params = params
        self.client = client
        self.trace = trace
        self.session = session
        self.timeout = timeout
        started = EventLoop.now()
        hardDeadline = started + timeout.nanoseconds * UInt64(max(1, gateway.options.progressCapFactor))
        state.withLock { $0.receiver = Receiver(id: id, responder: responder, acceptsStream: acceptsStream) }
    }

    /// Key of a legacy request in flight (`notifications/cancelled` names the client's id).
    var legacyKey: String? { session.map { $0 + "\u{0}" + id.rendered() } }

    func start() {
        arm(deadline: started + timeout.nanoseconds)
        state.withLock { $0.receiver }?.responder.onCancel { [self] in giveUp(.cancelled("client disconnected")) }
        admit()
    }

    // MARK: Admission

    private func admit() {
        guard let target = gateway.target(for: server) else {
            return finish(.refused(GatewayRefusal(.unavailable, server: server, reason: "no server named \(server)")))
        }
        let upstream: Upstream
        switch target {
        case .failure(let refusal):
            switch gateway.park(self, refusal: refusal) {
            case .parked: return
            case .ready: return admit()
            case .refused(let final): return finish(.refused(final))
            }
        case .success(let found): upstream = found
        }
        let now = gateway.clock.now
        // Admission and what it gives the call (a queue place, a slot) in one step under both
        // locks, and only while the call is new: one that ended meanwhile (deadline, client
        // gone) takes nothing it would never give back.
        enum Admitted {
            case ended
            case unconfigured
            case admission(ServerGuards.Admission)
        }
        let admitted = gateway.state.withLock { gatewayState in
            state.withLock { state -> Admitted in
                guard case .new = state.phase else { return .ended }
                guard var entry = gatewayState.entries[server] else { return .unconfigured }
                let admission = entry.guards.admit(at: now)
                switch admission {
                case .wait(let ticket, let trial):
                    entry.waiters[ticket] = self
                    state.phase = .waiting(ticket: ticket)
                    state.trial = trial
                case .proceed(let trial):
                    state.trial = trial
                    state.holdsSlot = true
                case .refuse:
                    break
                }
                gatewayState.entries[server] = entry
                return .admission(admission)
            }
        }
        switch admitted {
        case .ended, .admission(.wait):
            return
        case .unconfigured:
            finish(.refused(GatewayRefusal(.unavailable, server: server, reason: "the server left the configuration")))
        case .admission(.refuse(let refusal)):
            finish(.refused(refusal))
        case .admission(.proceed):
            send(upstream)
        }
    }

    /// The deadline now (event-loop nanoseconds): progress moves it.
    var currentDeadline: UInt64 { state.withLock { $0.deadline } }

    /// Marks the call as waiting for a ready process; false when it has ended meanwhile.
    /// Called by `Gateway.park` under the gateway's lock.
    func awaitReady() -> Bool {
        state.withLock { state in
            guard case .new = state.phase else { return false }
            state.phase = .awaitingReady
            return true
        }
    }

    /// The server's process is ready: admission starts again (guards, then sending).
    func becameReady() {
        let waiting = state.withLock { state -> Bool in
            guard case .awaitingReady = state.phase else { return false }
            state.phase = .new
            return true
        }
        if waiting { admit() }
    }

    /// A call waiting for a process or a slot that will not come: refused with why.
    func refuseWaiting(_ refusal: GatewayRefusal) {
        giveUp(.refused(refusal))
    }

    /// A concurrency slot was handed to this waiting call (it left the waiters under the
    /// gateway's lock). A call that gave up meanwhile accounted for the slot itself (`giveUp`).
    func granted() {
        let waiting = state.withLock { state -> Bool in
            guard case .waiting = state.phase else { return false }
            state.phase = .new
            state.holdsSlot = true
            return true
        }
        guard waiting else { return }
        switch gateway.target(for: server) {
        case .success(let upstream): send(upstream)
        case .failure(let refusal): finish(.refused(refusal))
        case nil: finish(.refused(GatewayRefusal(.unavailable, server: server, reason: "no server named \(server)")))
        }
    }

    // MARK: Sending

    private func send(_ upstream: Upstream) {
        // Registered as the instance's caller in the same step as it starts sending, so a call
        // that ends at any moment is never left behind in the registry.
        // Also checked in that step: the instance still takes new requests. One that started
        // draining since admission has had its drain told "nothing in flight" already.
        enum Step { case proceed, ended, rerouted }
        let step = gateway.state.withLock { gatewayState -> Step in
            state.withLock { state -> Step in
                guard case .new = state.phase else { return .ended }
                guard gatewayState.routing.routes[server]?.active == upstream else { return .rerouted }
                state.phase = .sending(upstream)
                state.instance = upstream.instance
                state.attempt += 1
                gatewayState.calls[upstream.instance, default: [:]][ObjectIdentifier(self)] = self
                return .proceed
            }
        }
        switch step {
        case .ended: return
        case .proceed: break
        case .rerouted:
            switch gateway.target(for: server) {
            case .success(let successor): return send(successor)
            case .failure(let refusal): return finish(.refused(refusal))
            case nil: return finish(.refused(GatewayRefusal(.unavailable, server: server, reason: "no server named \(server)")))
            }
        }
        let sent = EraTranslation.params(params, server: upstream.identity, client: client, traceparent: trace.traceparent)
        let wantsProgress = params?["_meta"]?["progressToken"] != nil
        let sink: @Sendable (JSONValue) -> Void = { [self] in progress($0) }
        let onProgress = wantsProgress ? sink : nil
        let onReply: @Sendable (Int, Result<JSONValue, RPCError>) -> Void = { [self] _, outcome in replied(outcome, from: upstream) }
        let forwarded = upstream.channel.forward(method, params: sent, onProgress: onProgress, onReply: onReply)
        switch forwarded {
        case .failure(let error):
            replied(.failure(error), from: upstream)
        case .success(let childID):
            let abandon = state.withLock { state -> String? in
                if let reason = state.abandonReason { return reason }
                switch state.phase {
                case .sending:
                    state.phase = .sent(upstream, childID: childID)
                    return nil
                case .done:
                    // Ended while it was being written (deadline, client gone): the server
                    // must not go on with it. A request already answered is not cancelled.
                    return "cancelled by the gateway"
                default:
                    return nil
                }
            }
            if let abandon { upstream.channel.abandon(childID, notifying: abandon) }
        }
    }

    private func replied(_ outcome: Result<JSONValue, RPCError>, from upstream: Upstream) {
        let current = state.withLock { state -> Bool in
            switch state.phase {
            case .sending(let target), .sent(let target, _):
                guard target == upstream else { return false }
                state.phase = .pausing
                return true
            default: return false
            }
        }
        guard current else { return }
        switch outcome {
        case .success(let result):
            if method == "tools/list" { gateway.learned(tools: result, server: server) }
            guard let translated = EraTranslation.result(result, method: method, server: upstream.identity, client: client) else {
                return finish(
                    .failed(
                        RPCFailure(
                            status: 200, code: -32603,
                            message: "\(server) asked for more input (input_required), which a \(client.version) client cannot give")),
                    slot: .answered)
            }
            finish(.result(translated), slot: .answered)
        case .failure(.remote(let error)):
            finish(.remoteError(EraTranslation.error(error, client: client)), slot: .answered)
        case .failure(let error):
            let refusal =
                gateway.drainExpired(upstream.instance)
                ? GatewayRefusal(
                    .draining, server: server,
                    reason: "\(upstream.instance) was stopped after its drain timeout before it answered \(method): \(error)")
                : GatewayRefusal(.serverGone, server: server, reason: "\(upstream.instance) could not answer \(method): \(error)")
            retryOrFinish(refusal)
        }
    }

    /// Sends an idempotent request again when its backoff still fits before the deadline.
    private func retryOrFinish(_ refusal: GatewayRefusal) {
        let (attempt, deadline) = state.withLock { ($0.attempt, $0.deadline) }
        let retry = gateway.state.withLock { $0.entries[server]?.retry }
        guard let delay = retry?.delay(method: method, after: attempt, now: .zero, deadline: GatewayCall.until(deadline)) else {
            return finish(.refused(refusal), slot: .failed)
        }
        releaseSlot(.failed)
        gateway.forget(self, instance: state.withLock { $0.instance }, legacyKey: nil, parked: nil, relayed: [])
        _ = gateway.loop.after(delay) { [self] in
            let resume = state.withLock { state -> Bool in
                guard case .pausing = state.phase else { return false }
                state.phase = .new
                return true
            }
            if resume { admit() }
        }
    }

    // MARK: Progress, deadline, cancellation

    private func progress(_ params: JSONValue) {
        // Progress is a sign of life: the deadline moves, up to the hard cap.
        arm(deadline: min(EventLoop.now() + timeout.nanoseconds, hardDeadline))
        let notification = RPCReply.notification(
            "notifications/progress", params: EraTranslation.progress(params, client: client))
        openStream()?.write(SSEMessage.event(notification))
    }

    /// The SSE stream of the current receiver, started on first use; nil when the call is
    /// over, has no receiver, or its client does not accept streams.
    func openStream() -> HTTPStream? {
        let (open, stream, responder) = state.withLock { state -> (Bool, HTTPStream?, HTTPResponder?) in
            switch state.phase {
            case .sending, .sent: break
            default: return (false, nil, nil)
            }
            guard let receiver = state.receiver else { return (false, nil, nil) }
            if state.stream == nil, receiver.acceptsStream {
                state.stream = HTTPStream(keepAlive: gateway.options.keepAlive)
                return (true, state.stream, receiver.responder)
            }
            return (false, state.stream, nil)
        }
        if open, let stream, let responder {
            stream.onClose { [self] in giveUp(.cancelled("client closed the stream")) }
            responder.respond(.eventStream(stream, headers: SSEMessage.headers))
        }
        return stream
    }

    /// The time left until `deadline` (event-loop nanoseconds), zero once it has passed.
    static func until(_ deadline: UInt64) -> Duration {
        let now = EventLoop.now()
        return .nanoseconds(Int64(deadline > now ? deadline - now : 0))
    }

    private func arm(deadline: UInt64) {
        let timer = gateway.loop.after(GatewayCall.until(deadline)) { [self] in
            giveUp(.refused(GatewayRefusal(.timedOut, server: server, reason: "no answer to \(method) within \(timeoutText)")))
        }
        let old = state.withLock { state -> LoopTimer? in
            if case .done = state.phase { return timer }
            defer {
                state.timer = timer
                state.deadline = deadline
            }
            return state.timer
        }
        old?.cancel()
    }

    private var timeoutText: String {
        let milliseconds = timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    /// Ends the call early (deadline, client gone, legacy cancel): the server is told to cancel
    /// when the request reached it.
    func giveUp(_ ending: Ending) {
        let reason: String
        switch ending {
        case .cancelled(let why): reason = why
        default: reason = "timed out"
        }
        var ending = ending
        let action = state.withLock { state -> GiveUp in
            switch state.phase {
            case .awaitingReady:
                if ending.isTimeout {
                    ending = .refused(
                        GatewayRefusal(.unavailable, server: server, reason: "no process became ready within \(timeoutText)"))
                }
                return .finish
            case .new, .pausing: return .finish
            case .waiting(let ticket): return .unqueue(ticket)
            case .sending:
                state.abandonReason = reason
                return .finish
            case .sent(let upstream, let childID): return .abandon(upstream, childID)
            case .done: return .none
            }
        }
        switch action {
        case .none:
            return
        case .finish:
            finish(ending, slot: ending.isTimeout ? .failed : .abandoned)
        case .unqueue(let ticket):
            // Under both locks (gateway, then call): either the wait is cancelled, or the slot
            // was granted meanwhile and this call owns it (its `granted` then does nothing,
            // and `finish` passes the slot on).
            gateway.state.withLock { gatewayState in
                state.withLock { state in
                    guard case .waiting = state.phase else { return }
                    gatewayState.entries[server]?.waiters[ticket] = nil
                    let cancelled = gatewayState.entries[server]?.guards.cancelWait(ticket, trial: state.trial) ?? true
                    if !cancelled { state.holdsSlot = true }
                    state.phase = .new
                }
            }
            finish(ending, slot: .abandoned)
        case .abandon(let upstream, let childID):
            // False: the answer got there first and finishes the call.
            if upstream.channel.abandon(childID, notifying: reason) {
                finish(ending, slot: ending.isTimeout ? .failed : .abandoned)
            }
        }
    }

    private enum GiveUp {
        case none
        case finish
        case unqueue(UInt64)
        case abandon(Upstream, Int)
    }

    // MARK: Ending

    private func releaseSlot(_ outcome: ServerGuards.Outcome) {
        let (held, trial) = state.withLock { state -> (Bool, Bool) in
            defer { state.holdsSlot = false }
            return (state.holdsSlot, state.trial)
        }
        if held { gateway.releaseSlot(of: server, trial: trial, outcome: outcome) }
    }

    private func finish(_ ending: Ending, slot: ServerGuards.Outcome = .abandoned) {
        let ended = state.withLock { state -> (HTTPStream?, LoopTimer?, InstanceID?, Receiver?, String?, Set<String>)? in
            if case .done = state.phase { return nil }
            state.phase = .done
            // The receiver's and stream's callbacks hold this call: let go of them.
            defer {
                state.receiver = nil
                state.stream = nil
                state.timer = nil
            }
            return (state.stream, state.timer, state.instance, state.receiver, state.parkedToken, state.relayed)
        }
        guard let (stream, timer, instance, receiver, parked, relayed) = ended else { return }
        releaseSlot(slot)
        gateway.forget(self, instance: instance, legacyKey: legacyKey, parked: parked, relayed: relayed)
        if let instance, ending.abandonsServerWork { gateway.noteAbandoned(on: instance) }
        let (status, message, outcome, detail) = describe(ending, receiver: receiver)
        if let message, let receiver {
            if let stream {
                stream.write(SSEMessage.event(message))
                stream.finish()
            } else {
                var headers: [(String, String)] = []
                if case .refused(let refusal) = ending, let after = refusal.retryAfterHeader { headers.append(("Retry-After", after)) }
                receiver.responder.respond(.json(status, message.renderedBytes(), headers: headers))
            }
        } else {
            stream?.close()
        }
        // After the answer: both hops to the loop then ride one wake-up.
        timer?.cancel()
        gateway.report(
            GatewayRecord(
                server: server, method: method, tool: GatewayCall.toolName(method: method, params: params), era: client.era,
                session: session.map { String($0.prefix(8)) }, outcome: outcome, status: stream == nil ? status : 200,
                latency: .nanoseconds(Int64(EventLoop.now() - started)), trace: trace, instance: instance, error: detail))
    }

    /// Status, message to send (nil: none), outcome label and error text of an ending.
    private func describe(_ ending: Ending, receiver: Receiver?) -> (Int, JSONValue?, String, String?) {
        let id = receiver?.id ?? id
        switch ending {
        case .result(let result):
            return (200, RPCReply.result(id: id, result), "ok", nil)
        case .remoteError(let error):
            let status = client.era == .modern ? GatewayCall.modernStatus(error.code) : 200
            return (status, RPCReply.error(id: id, error), "error", "\(error.code) \(error.message)")
        case .refused(let refusal):
            return (refusal.kind.status, RPCFailure.refusal(refusal, id: id).body, refusal.kind.rawValue, refusal.reason)
        case .cancelled(let why):
            // A legacy client that cancelled still holds its POST open: it gets an error.
            let body = RPCReply.error(id: id, RPCErrorObject(code: -32800, message: "Request cancelled: \(why)"))
            return (200, receiver?.responder.isCancelled ?? true ? nil : body, "cancelled", why)
        case .failed(let failure):
            var failure = failure
            failure.id = id
            return (failure.status, failure.body, "error", failure.message)
        }
    }

    /// The HTTP status a 2026-07-28 client expects with a server's JSON-RPC error (the
    /// transport's rule: -32601 at 404; malformed-request errors at 400; others at 200).
    static func modernStatus(_ code: Int) -> Int {
        switch code {
        case -32601: 404
        case -32700, -32600, -32602, -32020, -32021, -32022: 400
        default: 200
        }
    }

    static func toolName(method: String, params: JSONValue?) -> String? {
        method == "tools/call" || method == "prompts/get" ? params?["name"]?.stringValue : nil
    }
}

extension GatewayCall.Ending {
    /// Whether the server may still be working on the request (it was given up, not answered).
    var abandonsServerWork: Bool {
        switch self {
        case .cancelled: true
        case .refused(let refusal): refusal.kind == .timedOut
        default: false
        }
    }

    var isTimeout: Bool {
        if case .refused(let refusal) = self { return refusal.kind == .timedOut }
        return false
    }
}
