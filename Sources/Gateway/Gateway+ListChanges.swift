import Actual
import HTTP
import JSON

extension Gateway {
    /// Lists a newly routed process's tools, prompts and resources (first page each, those its
    /// capabilities announce): tools for their `Mcp-Param` annotations, all three to tell
    /// clients when a restart changed them.
    func learnLists(of upstream: Upstream) {
        let client = ClientContext(
            era: .modern, version: ProtocolVersions.modern[0], capabilities: .object([]), info: MCPVersion.clientInfo, logLevel: nil)
        let params = EraTranslation.params(nil, server: upstream.identity, client: client, traceparent: nil)
        let server = upstream.instance.name
        for kind in ListWatch.Kind.allCases where upstream.identity.capabilities[kind.rawValue] != nil {
            let forwarded = upstream.channel.forward(kind.method, params: params, onProgress: nil) { [weak self] _, outcome in
                guard let self, case .success(let result) = outcome else { return }
                if kind == .tools { learned(tools: result, server: server) }
                listed(kind, result: result, server: server, from: upstream.instance)
            }
            // A server that never answers its list does not keep the request for its whole life
            // (cancelling one already answered does nothing).
            if case .success(let childID) = forwarded {
                _ = loop.after(Gateway.listingDeadline) { _ = upstream.channel.abandon(childID, notifying: "no answer to \(kind.method)") }
            }
        }
    }

    /// How long the gateway's own listing of a new process may take.
    static let listingDeadline: Duration = .seconds(30)

    /// A fresh listing of `server`'s `kind` by the process `id`: a change starts (or extends)
    /// the coalescing wait before clients are told.
    func listed(_ kind: ListWatch.Kind, result: JSONValue, server: String, from id: InstanceID) {
        var hasher = Hasher()
        hasher.combine(result[kind.rawValue]?.rendered() ?? "")
        let fingerprint = hasher.finalize()
        let changed = state.withLock { state -> Bool in
            // A listing that arrives after its process was replaced says nothing of the server now.
            guard state.routing.routes[server]?.active?.instance == id else { return false }
            return state.lists[server, default: ListWatch()].listed(kind, fingerprint: fingerprint)
        }
        if changed { scheduleListFlush(server) }
    }

    /// Arms (or pushes back, up to the burst's cap) the timer that tells `server`'s clients.
    func scheduleListFlush(_ server: String) {
        let now = self.now
        let (old, delay) = state.withLock { state -> (LoopTimer?, Duration) in
            var watch = state.lists[server, default: ListWatch()]
            let started = watch.burstStarted ?? now
            watch.burstStarted = started
            let cap = started + options.listChangedMaxDelay.nanoseconds
            let due = min(now + options.listChangedQuiet.nanoseconds, cap)
            let old = watch.timer
            watch.timer = nil
            state.lists[server] = watch
            return (old, .nanoseconds(Int64(due > now ? due - now : 0)))
        }
        old?.cancel()
        let timer = loop.after(delay) { [weak self] in self?.flushListChanges(server) }
        state.withLock { state in
            // A flush that ran in between (the old timer firing) leaves this one to fire with
            // nothing due: harmless.
            state.lists[server]?.timer = timer
        }
    }

    /// A server joined or left the fleet: `/mcp` clients are told its lists changed.
    func announceToAggregate() {
        state.withLock { state in
            for kind in ListWatch.Kind.allCases { state.lists[Gateway.aggregate, default: ListWatch()].announce(kind) }
        }
        scheduleListFlush(Gateway.aggregate)
    }

    /// Tells `server`'s clients what changed since they were last told: legacy GET streams
    /// and modern listen streams that asked for that kind.
    func flushListChanges(_ server: String) {
        let (due, streams, listeners) = state.withLock { state -> ([ListWatch.Kind], [HTTPStream], [Listener]) in
            guard var watch = state.lists[server] else { return ([], [], []) }
            let due = watch.flush()
            state.lists[server] = watch
            guard !due.isEmpty else { return ([], [], []) }
            // `/mcp` clients hear of every server's changes too.
            let names: Set<String> = [server, Gateway.aggregate]
            let streams =
                state.sessions.streams(of: server) + (server == Gateway.aggregate ? [] : state.sessions.streams(of: Gateway.aggregate))
            return (due, streams, state.listeners.values.filter { names.contains($0.server) })
        }
        for kind in due {
            let event = SSEMessage.event(RPCReply.notification(kind.notification, params: nil))
            for stream in streams { stream.write(event) }
            for listener in listeners { listener.deliver(kind.notification, params: nil) }
        }
    }
}
