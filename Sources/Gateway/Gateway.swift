import Actual
import Desired
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
        /// `:` comments on idle streams, so proxies and clients do not time them out.
        public var keepAlive: Duration = .seconds(15)
        /// Progress extends a request's deadline by `request_timeout`, up to this many times it.
        public var progressCapFactor = 10
        /// Open `subscriptions/listen` streams per server.
        public var maxListeners = 1_000

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
        var holds: [String: String] = [:]
        var auth = BearerAuthenticator(list: "")
        var origins = OriginPolicy(allowed: [])
        var sessions: LegacySessionTable
        /// Legacy requests in flight by session and client id, for `notifications/cancelled`.
        var legacyCalls: [String: GatewayCall] = [:]
        var listeners: [ObjectIdentifier: Listener] = [:]
        /// Calls sent to each instance and not answered: whose a server's own request is.
        var calls: [InstanceID: [ObjectIdentifier: GatewayCall]] = [:]
        /// Server requests relayed to legacy clients, by the id the client was given.
        var relayed: [String: RelayedRequest] = [:]
        /// Modern calls waiting for the client's retry with `inputResponses`, by `requestState`.
        var parked: [String: ParkedCall] = [:]
        /// The `x-mcp-header` annotations of each server's tools.
        var paramHeaders: [String: ParamHeaders] = [:]
        /// Until when each instance's server requests are refused: a call to it was given up.
        var abandoned: [InstanceID: UInt64] = [:]
        var nextRelayed = 0
        var sweeping = false
        var stopped = false
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
        state = Mutex(State(sessions: LegacySessionTable(idle: options.sessionIdle, limit: options.maxSessions)))
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
            var listeners: [Listener] = []
            for (key, listener) in state.listeners where servers[listener.server] == nil {
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
        for call in granted { call.granted() }
        for stream in closed { stream.finish() }
        // Waiting for a server that no longer exists: refused now, not at their deadline.
        for call in stranded {
            call.giveUp(.refused(GatewayRefusal(.unavailable, server: call.server, reason: "the server left the configuration")))
        }
        for listener in listeners { listener.end() }
    }

    /// Why a runnable server has no process (a restart backoff, a quarantine), or nil.
    public func hold(_ server: String, reason: String?) {
        state.withLock { $0.holds[server] = reason }
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
        state.withLock { state in
            state.routing.switchTo(upstream, for: id.name)
            state.holds[id.name] = nil
            // A new process may have other tools: learned again from its own list.
            state.paramHeaders[id.name] = nil
        }
        if identity.hasTools { learnTools(of: upstream) }
    }

    /// Lists a newly routed process's tools (first page) for their `Mcp-Param` annotations.
    private func learnTools(of upstream: Upstream) {
        let client = ClientContext(
            era: .modern, version: ProtocolVersions.modern[0], capabilities: .object([]),
            info: MCPVersion.clientInfo, logLevel: nil)
        let params = EraTranslation.params(nil, server: upstream.identity, client: client, traceparent: nil)
        _ = upstream.channel.forward("tools/list", params: params, onProgress: nil) { [weak self] _, outcome in
            guard let self, case .success(let result) = outcome else { return }
            learned(tools: result, server: upstream.instance.name)
        }
    }

    /// Adds a `tools/list` result's annotations to what the gateway checks.
    func learned(tools result: JSONValue, server: String) {
        state.withLock { $0.paramHeaders[server, default: ParamHeaders()].learn(from: result) }
    }

    /// `id` takes no new requests (it is about to stop); those in flight continue.
    public func drain(_ id: InstanceID, reason: String) {
        state.withLock { state in
            if state.routing.routes[id.name]?.active?.instance == id { state.routing.withdraw(id.name, reason: reason) }
        }
    }

    /// `id` has ended.
    public func retire(_ id: InstanceID, reason: String) {
        state.withLock { state in
            guard let route = state.routing.routes[id.name] else { return }
            if let active = route.active, active.instance == id {
                state.routing.withdraw(id.name, reason: "its process ended: \(reason)")
            }
            for upstream in state.routing.routes[id.name]?.draining ?? [] where upstream.instance == id {
                state.routing.finishedDraining(upstream, for: id.name)
            }
        }
    }

    /// The instance that takes `server`'s new requests now (for status and tests).
    public func activeInstance(of server: String) -> InstanceID? {
        state.withLock { $0.routing.routes[server]?.active?.instance }
    }

    /// Stops serving: every stream ends (listen streams with their graceful final result).
    public func shutdown() {
        let (streams, listeners) = state.withLock { state -> ([HTTPStream], [Listener]) in
            state.stopped = true
            let streams = state.sessions.sessions.values.compactMap(\.stream)
            let listeners = Array(state.listeners.values)
            state.listeners = [:]
            return (streams, listeners)
        }
        for stream in streams { stream.finish() }
        for listener in listeners { listener.end() }
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
                let reason = state.holds[server] ?? (state.routing.routes[server] == nil ? "starting: no process is ready yet" : why)
                return .failure(GatewayRefusal(.unavailable, server: server, reason: reason))
            }
        }
    }

    /// Whether `server` is a name the gateway knows (runnable or not).
    func knows(_ server: String) -> Bool {
        state.withLock { $0.entries[server] != nil || $0.notRunnable[server] != nil || $0.routing.routes[server] != nil }
    }

    var now: UInt64 { EventLoop.now() }
}
