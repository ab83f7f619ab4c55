import Actual
import Desired
import Glibc
import HTTP
import JSON
import Synchronization

/// The MCP front door: every ready server at `/mcp/<name>` over Streamable HTTP, for clients of
/// both eras, over one child session shared by every client.
///
/// Contract:
/// - The owner keeps it in step: `configure` after every load (which servers exist, their
///   limits, why the others are not runnable), `route(to:)`, `drain` and `retire` as processes
///   come and go (the executor, through `TrafficRouter`), `relay` for a server's notifications.
/// - `handle` answers requests on the HTTP loop thread without blocking: refusals at once,
///   forwarded requests when the server answers, times out, or goes away.
/// - Every request is reported once to `observer` and counted in `metrics`.
public final class Gateway: Sendable {
    /// Settings that do not come from manifests.
    public struct Options: Sendable {
        /// A legacy session unused this long is forgotten (its next request gets 404).
        public var sessionIdle: Duration = .seconds(30 * 60)
        public var maxSessions = 10_000
        /// The HMAC key that seals legacy session ids (at least 32 bytes); nil: a random one,
        /// so that sessions do not outlive this gateway. The controller keeps one under `var/`.
        public var sessionKey: [UInt8]?
        /// A sealed id presented after a restart is taken back if issued within this.
        public var sessionMaxAge: Duration = .seconds(24 * 3600)
        /// Session ids that ended before this gateway started (by MAC, with their issue time),
        /// and where to record those that end from now on: a deleted or expired session stays
        /// gone across restarts.
        public var endedSessions: [String: Int64] = [:]
        public var recordEndedSession: @Sendable (String, Int64) -> Void = { _, _ in }
        /// `:` comments on idle streams, so proxies and clients do not time them out.
        public var keepAlive: Duration = .seconds(15)
        /// Progress extends a request's deadline by `request_timeout`, up to this many times it.
        public var progressCapFactor = 10
        /// Open `subscriptions/listen` streams per server.
        public var maxListeners = 1_000
        /// A change of a server's lists (a restart that lists other tools, the server's own
        /// `list_changed`) is told to clients once no other change came for this long…
        public var listChangedQuiet: Duration = .seconds(2)
        /// …and at the latest this long after the first change of a burst.
        public var listChangedMaxDelay: Duration = .seconds(10)
        /// How long `/mcp` waits for each server's list; a server later than this is left out
        /// of that answer.
        public var aggregateListDeadline: Duration = .seconds(2)
        /// Requests per server that may wait for a process to become ready (a start, a restart
        /// in backoff); more are refused at once.
        public var maxWaitingForReady = 256

        public init() {}
    }

    /// A server's settings from its manifest.
    public struct ServerSettings: Sendable, Hashable {
        public var limits: Limits
        /// The restart backoff list, reused for retries of idempotent requests.
        public var backoff: [Duration]

        public init(limits: Limits, backoff: [Duration]) {
            self.limits = limits
            self.backoff = backoff
        }
    }

    struct ServerEntry {
        var guards: ServerGuards
        var retry: RetryPolicy
        var waiters: [UInt64: GatewayCall] = [:]
    }

    struct State {
        var routing = RoutingTable<Upstream>()
        var entries: [String: ServerEntry] = [:]
        /// Servers that exist but may not run, and why (disabled, missing a variable, …).
        var notRunnable: [String: String] = [:]
        /// Why a runnable server has no process now (backoff, quarantine), from the executor.
        var holds: [String: ServerHold] = [:]
        /// Requests waiting for a server's process to become ready, by server.
        var readyWaiters: [String: [ObjectIdentifier: GatewayCall]] = [:]
        /// The identity of each server's last routed process: `initialize` and `server/discover`
        /// are answered from it while a restart is under way.
        var lastIdentity: [String: ServerIdentity] = [:]
        /// Instances whose drain ran out of time: their unanswered calls are cut off by the stop.
        var drainExpired: Set<InstanceID> = []
        var auth = BearerAuthenticator(list: "")
        var origins = OriginPolicy(allowed: [])
        var sessions: LegacySessionTable
        /// Legacy requests in flight by session and client id, for `notifications/cancelled`.
        var legacyCalls: [String: GatewayCall] = [:]
        var listeners: [ObjectIdentifier: Listener] = [:]
        /// Calls sent to each instance and not answered: whose a server's own request is.
        var calls: [InstanceID: [ObjectIdentifier: GatewayCall]] = [:]
        /// Drains waiting for an instance's calls to end.
        var drainWaiters: [InstanceID: [DrainWaiter]] = [:]
        /// A shutdown waiting for every call to end.
        var quiesceWaiters: [DrainWaiter] = []
        /// Server requests relayed to legacy clients, by the id the client was given.
        var relayed: [String: RelayedRequest] = [:]
        /// Modern calls waiting for the client's retry with `inputResponses`, by `requestState`.
        var parked: [String: ParkedCall] = [:]
        /// The `x-mcp-header` annotations of each server's tools.
        var paramHeaders: [String: ParamHeaders] = [:]
        /// Each server's lists as its clients know them, and changes not told yet.
        var lists: [String: ListWatch] = [:]
        /// The aggregate's public tool and prompt names from its last listings (by list key),
        /// and which server each listed resource URI belongs to.
        var aggregateNames: [String: [String: (String, String)]] = [:]
        var aggregateURIs: [String: String] = [:]
        /// Until when each instance's server requests are refused: a call to it was given up.
        var abandoned: [InstanceID: UInt64] = [:]
        var nextRelayed = 0
        var sweeping = false
        var stopped = false

        /// Whether `server` is configured, runnable and the gateway still serving: a process of
        /// it may come, unless a hold says otherwise.
        func mayRun(_ server: String) -> Bool {
            notRunnable[server] == nil && !stopped && entries[server] != nil
        }
    }

    let loop: EventLoop
    let clock: any MonotonicClock
    let options: Options
    let observer: @Sendable (GatewayRecord) -> Void
    public let metrics = GatewayMetrics()
    let state: Mutex<State>

    public init(
        loop: EventLoop = .shared, clock: any MonotonicClock = SystemClock(), options: Options = Options(),
        observer: @escaping @Sendable (GatewayRecord) -> Void = { _ in }
    ) {
        self.loop = loop
        self.clock = clock
        self.options = options
        self.observer = observer
        var generator = SystemRandomNumberGenerator()
        let key = options.sessionKey ?? (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let sessions = LegacySessionTable(
            idle: options.sessionIdle, limit: options.maxSessions, seal: SessionSeal(key: key), maxAge: options.sessionMaxAge,
            wallClock: { Int64(time(nil)) }, ended: options.endedSessions, recordEnded: options.recordEndedSession)
        state = Mutex(State(sessions: sessions))
    }

    // MARK: - Keeping in step

    /// Who may call (bearer tokens, comma-separated; empty: no token needed) and which page
    /// origins besides loopback may.
    public func configureAccess(tokens: String, allowedOrigins: [String]) {
        state.withLock { state in
            state.auth = BearerAuthenticator(list: tokens)
            state.origins = OriginPolicy(allowed: allowedOrigins)
        }
    }

    /// The servers that exist after a load: the runnable ones with their settings, and the
    /// others with the reason they do not run. Limits change in place (requests in flight keep
    /// their slots); a server that left the desired state is forgotten, its clients' sessions too.
    public func configure(servers: [String: ServerSettings], notRunnable: [String: String]) {
        let (granted, closed, gone, stranded, listeners) = state.withLock {
            state -> ([GatewayCall], [HTTPStream], [String], [GatewayCall], [Listener]) in
            var granted: [GatewayCall] = []
            for (name, settings) in servers {
                if var entry = state.entries[name] {
                    for ticket in entry.guards.update(limits: settings.limits) {
                        if let call = entry.waiters.removeValue(forKey: ticket) { granted.append(call) }
                    }
                    entry.retry = RetryPolicy(backoff: settings.backoff)
                    state.entries[name] = entry
                } else {
                    state.entries[name] = ServerEntry(
                        guards: ServerGuards(server: name, limits: settings.limits), retry: RetryPolicy(backoff: settings.backoff))
                }
            }
            let gone = state.entries.keys.filter { servers[$0] == nil }
            var stranded: [GatewayCall] = []
            for name in gone {
                stranded += state.entries[name]?.waiters.values.map { $0 } ?? []
                state.entries[name] = nil
            }
            // Waiting for a process that will not come now.
            for name in state.readyWaiters.keys where servers[name] == nil {
                stranded += state.readyWaiters.removeValue(forKey: name)?.values.map { $0 } ?? []
            }
            var listeners: [Listener] = []
            for (key, listener) in state.listeners where servers[listener.server] == nil && listener.server != Gateway.aggregate {
                listeners.append(listener)
                state.listeners[key] = nil
            }
            state.notRunnable = notRunnable
            var closed: [HTTPStream] = []
            for name in gone where notRunnable[name] == nil {
                for session in state.sessions.sessions.values where session.server == name {
                    if let stream = state.sessions.close(session.id)?.stream { closed.append(stream) }
                }
            }
            return (granted, closed, gone, stranded, listeners)
        }
        for name in gone where notRunnable[name] == nil { metrics.forget(name) }
        // The fleet's lists changed: `/mcp` clients are told.
        if !gone.isEmpty { announceToAggregate() }
        for call in granted { call.granted() }
        for stream in closed { stream.finish() }
        // Waiting for a server that no longer exists: refused now, not at their deadline.
        for call in stranded {
            let reason = notRunnable[call.server] ?? "the server left the configuration"
            call.refuseWaiting(GatewayRefusal(.unavailable, server: call.server, reason: reason))
        }
        for listener in listeners { listener.end() }
    }

    /// Why a runnable server has no process (a restart backoff, a quarantine), or nil. Requests
    /// waiting for it that can no longer be served in time (no restart coming, or not before
    /// their deadline) are refused now.
    public func hold(_ server: String, _ hold: ServerHold?) {
        let refused = state.withLock { state -> [(GatewayCall, GatewayRefusal)] in
            state.holds[server] = hold
            guard let hold else { return [] }
            var refused: [(GatewayCall, GatewayRefusal)] = []
            for (key, call) in state.readyWaiters[server] ?? [:] {
                guard let why = Gateway.cannotWait(hold, deadline: call.currentDeadline, now: clock.now) else { continue }
                state.readyWaiters[server]?[key] = nil
                refused.append((call, GatewayRefusal(.unavailable, server: server, reason: why)))
            }
            return refused
        }
        for (call, refusal) in refused { call.refuseWaiting(refusal) }
    }

    /// Why a request with `deadline` (event-loop nanoseconds) cannot wait out `hold`, or nil.
    static func cannotWait(_ hold: ServerHold, deadline: UInt64, now: Duration) -> String? {
        guard hold.restarts else { return hold.reason }
        guard let startsAt = hold.startsAt, startsAt > now else { return nil }
        let wait = startsAt - now
        guard wait >= GatewayCall.until(deadline) else { return nil }
        return "\(hold.reason); it restarts in \(wait.formattedMilliseconds), after this request's deadline"
    }

    /// `id` is ready: new requests for its server go to it.
    public func route(to id: InstanceID, channel: any ForwardingChannel, identity: ServerIdentity) {
        // The executor may route a process twice (its ready event, then the stop of the one it
        // replaced): the second time changes nothing.
        let routed = state.withLock { state -> Bool in
            guard state.routing.routes[id.name]?.active?.instance == id else { return false }
            state.holds[id.name] = nil
            return true
        }
        if routed { return }
        let upstream = Upstream(instance: id, identity: identity, channel: channel)
        channel.handleServerRequests { [weak self] request in
            guard let self else { return false }
            relay(request, from: upstream)
            return true
        }
        let (waiting, joined) = state.withLock { state -> ([GatewayCall], Bool) in
            state.routing.switchTo(upstream, for: id.name)
            state.holds[id.name] = nil
            let joined = state.lastIdentity[id.name] == nil
            state.lastIdentity[id.name] = identity
            // A new process may have other tools: learned again from its own list.
            state.paramHeaders[id.name] = nil
            return (state.readyWaiters.removeValue(forKey: id.name).map { Array($0.values) } ?? [], joined)
        }
        learnLists(of: upstream)
        // A server new to the fleet changes the aggregate's lists.
        if joined { announceToAggregate() }
        // On the loop, like the calls' timers and cancellations: admission never races them.
        for call in waiting { loop.execute { call.becameReady() } }
    }

    /// Adds a `tools/list` result's annotations to what the gateway checks.
    func learned(tools result: JSONValue, server: String) {
        state.withLock { $0.paramHeaders[server, default: ParamHeaders()].learn(from: result) }
    }

    /// `id` takes no new requests (it is about to stop); those in flight continue. With `wait`,
    /// returns once they have all ended, or after the server's `request_timeout` (a request
    /// that progress keeps alive longer is cut off by the stop, and gets a clear error or, when
    /// idempotent, a retry on the successor).
    public func drain(_ id: InstanceID, reason: String, wait: Bool) async {
        let bound = state.withLock { state -> Duration? in
            if state.routing.routes[id.name]?.active?.instance == id { state.routing.withdraw(id.name, reason: reason) }
            guard wait else { return nil }
            return state.entries[id.name]?.guards.limits.requestTimeout ?? .seconds(30)
        }
        guard let bound else { return }
        await waitForCalls(within: bound) { state, waiter in
            guard state.calls[id]?.isEmpty == false else { return false }
            state.drainWaiters[id, default: []].append(waiter)
            return true
        } timedOut: { state in
            // Out of time: what is still in flight is cut off by the stop, and says so.
            if state.calls[id]?.isEmpty == false { state.drainExpired.insert(id) }
        }
    }

    /// Suspends until the waiter that `register` files is resumed (by `forget`, when the calls
    /// it waits for have ended, or by `retire`) or `bound` passes (`timedOut` runs first, under
    /// the lock). Returns at once when `register` finds nothing to wait for.
    private func waitForCalls(
        within bound: Duration, register: @escaping (inout State, DrainWaiter) -> Bool,
        timedOut: @escaping @Sendable (inout State) -> Void = { _ in }
    ) async {
        await withCheckedContinuation { continuation in
            let waiter = DrainWaiter(continuation)
            guard state.withLock({ register(&$0, waiter) }) else { return waiter.resume() }
            _ = loop.after(bound) { [weak self] in
                self?.state.withLock { timedOut(&$0) }
                waiter.resume()
            }
        }
    }

    /// Whether `id`'s drain ran out of time with requests still in flight there.
    func drainExpired(_ id: InstanceID) -> Bool {
        state.withLock { $0.drainExpired.contains(id) }
    }

    /// `id` has ended.
    public func retire(_ id: InstanceID, reason: String) {
        let waiters = state.withLock { state -> [DrainWaiter] in
            let waiters = state.drainWaiters.removeValue(forKey: id) ?? []
            guard let route = state.routing.routes[id.name] else { return waiters }
            if let active = route.active, active.instance == id {
                state.routing.withdraw(id.name, reason: "its process ended: \(reason)")
            }
            for upstream in state.routing.routes[id.name]?.draining ?? [] where upstream.instance == id {
                state.routing.finishedDraining(upstream, for: id.name)
            }
            return waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Requests in flight at `id` (sent, not answered), for drains, status and tests.
    public func inFlight(at id: InstanceID) -> Int {
        state.withLock { $0.calls[id]?.count ?? 0 }
    }

    /// Gives a slot at `server`'s guards back with how its request ended; the next waiting
    /// call, if any, takes it.
    func releaseSlot(of server: String, trial: Bool, outcome: ServerGuards.Outcome) {
        let now = clock.now
        let next = state.withLock { state -> GatewayCall? in
            guard var entry = state.entries[server] else { return nil }
            let ticket = entry.guards.finished(outcome, trial: trial, at: now)
            let next = ticket.flatMap { entry.waiters.removeValue(forKey: $0) }
            state.entries[server] = entry
            return next
        }
        next?.granted()
    }

    /// The instance that takes `server`'s new requests now (for status and tests).
    public func activeInstance(of server: String) -> InstanceID? {
        state.withLock { $0.routing.routes[server]?.active?.instance }
    }

    /// Stops serving: new requests are refused (503, "shutting down"), requests waiting for a
    /// process are refused, every stream ends (listen streams with their graceful final
    /// result). Requests in flight go on: `quiesce` waits for them.
    public func shutdown() {
        let (streams, listeners, waiting) = state.withLock { state -> ([HTTPStream], [Listener], [GatewayCall]) in
            state.stopped = true
            let streams = state.sessions.sessions.values.compactMap(\.stream)
            let listeners = Array(state.listeners.values)
            state.listeners = [:]
            let waiting = state.readyWaiters.values.flatMap(\.values)
            state.readyWaiters = [:]
            return (streams, listeners, waiting)
        }
        for stream in streams { stream.finish() }
        for listener in listeners { listener.end() }
        for call in waiting { call.refuseWaiting(GatewayRefusal(.unavailable, server: call.server, reason: "shutting down")) }
    }

    /// Returns once no request is in flight at any server, or after `bound`; how many were
    /// still in flight then.
    @discardableResult
    public func quiesce(within bound: Duration) async -> Int {
        await waitForCalls(within: bound) { state, waiter in
            guard !state.calls.isEmpty else { return false }
            state.quiesceWaiters.append(waiter)
            return true
        }
        return state.withLock { $0.calls.values.reduce(0) { $0 + $1.count } }
    }

    // MARK: - Shared by requests

    /// Where a new request for `server` goes, or the refusal that says why it cannot go
    /// anywhere. Nil `server` entry and no reason: the name is unknown.
    func target(for server: String) -> Result<Upstream, GatewayRefusal>? {
        state.withLock { state in
            switch state.routing.target(for: server) {
            case .instance(let upstream): return .success(upstream)
            case .unavailable(let why):
                if let reason = state.notRunnable[server] { return .failure(GatewayRefusal(.unavailable, server: server, reason: reason)) }
                guard state.entries[server] != nil || state.routing.routes[server] != nil else { return nil }
                let starting = state.routing.routes[server] == nil ? "starting: no process is ready yet" : why
                let reason = state.holds[server]?.reason ?? starting
                return .failure(GatewayRefusal(.unavailable, server: server, reason: reason))
            }
        }
    }

    /// What became of a request for a server with no ready process.
    enum Parking {
        /// It waits for `route(to:)` (or its deadline, or a hold that rules the wait out).
        case parked
        /// A process was routed meanwhile: admit it again.
        case ready
        case refused(GatewayRefusal)
    }

    /// Parks `call` until `server` has a ready process, when one is coming in time: the server
    /// is runnable, not quarantined or finished, its restart (if scheduled) begins before the
    /// call's deadline, and fewer than `maxWaitingForReady` requests wait already. Otherwise
    /// `refusal` (or a more precise one) stands.
    func park(_ call: GatewayCall, refusal: GatewayRefusal) -> Parking {
        state.withLock { state in
            let server = call.server
            if case .instance = state.routing.target(for: server) { return .ready }
            guard state.mayRun(server) else { return .refused(refusal) }
            if let hold = state.holds[server], let why = Gateway.cannotWait(hold, deadline: call.currentDeadline, now: clock.now) {
                return .refused(GatewayRefusal(.unavailable, server: server, reason: why))
            }
            guard state.readyWaiters[server, default: [:]].count < options.maxWaitingForReady else {
                return .refused(
                    GatewayRefusal(
                        .overloaded, server: server,
                        reason: "\(refusal.reason); \(options.maxWaitingForReady) requests are waiting for it already"))
            }
            guard call.awaitReady() else { return .parked }
            state.readyWaiters[server, default: [:]][ObjectIdentifier(call)] = call
            return .parked
        }
    }

    /// The identity of `server`'s last process while another is coming (the requests that
    /// follow wait for it); nil when none is coming or the server never ran.
    func identityWhileRestarting(_ server: String) -> ServerIdentity? {
        state.withLock { state in
            guard state.mayRun(server), state.holds[server]?.restarts != false else { return nil }
            return state.lastIdentity[server]
        }
    }

    /// Whether `server` is a name the gateway knows (runnable or not).
    func knows(_ server: String) -> Bool {
        server == Gateway.aggregate
            || state.withLock { $0.entries[server] != nil || $0.notRunnable[server] != nil || $0.routing.routes[server] != nil }
    }

    var now: UInt64 { EventLoop.now() }
}
