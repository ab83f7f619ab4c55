import Actual
import HTTP
import JSON

extension Gateway {
    /// Change notifications a server may send outside any request, relayed to clients: legacy
    /// sessions' GET streams and modern listen streams that asked for them. Other notifications
    /// (logging, progress for no known request) stay with the controller's log.
    static let relayed: Set<String> = [
        "notifications/tools/list_changed", "notifications/prompts/list_changed", "notifications/resources/list_changed",
        "notifications/resources/updated",
    ]

    /// A notification from instance `id`, relayed to the clients of its server when it is one
    /// the gateway relays and `id` is an instance the gateway routes to. A `list_changed` is
    /// coalesced with the changes restarts make (one notification per stream for a burst).
    public func relay(from id: InstanceID, method: String, params: JSONValue?) {
        guard Gateway.relayed.contains(method) else { return }
        let listKind = ListWatch.Kind(notification: method)
        let (routed, streams, listeners) = state.withLock { state -> (Bool, [HTTPStream], [Listener]) in
            guard let route = state.routing.routes[id.name],
                route.active?.instance == id || route.draining.contains(where: { $0.instance == id })
            else { return (false, [], []) }
            if let kind = listKind {
                state.lists[id.name, default: ListWatch()].announce(kind)
                return (true, [], [])
            }
            return (true, state.sessions.streams(of: id.name), state.listeners.values.filter { $0.server == id.name })
        }
        if routed, listKind != nil { return scheduleListFlush(id.name) }
        guard !streams.isEmpty || !listeners.isEmpty else { return }
        let event = SSEMessage.event(RPCReply.notification(method, params: params))
        for stream in streams { stream.write(event) }
        for listener in listeners { listener.deliver(method, params: params) }
    }

    /// Forgets legacy sessions idle past `sessionIdle`, closing their streams; re-arms itself
    /// while any session exists.
    func sweepSessions() {
        let (expired, again) = state.withLock { state -> ([LegacySession], Bool) in
            let expired = state.sessions.expire(now: now)
            state.sweeping = state.sessions.count > 0 && !state.stopped
            return (expired, state.sweeping)
        }
        for session in expired { session.stream?.finish() }
        if again { scheduleSweep() }
    }

    func scheduleSweep() {
        let interval = min(options.sessionIdle, .seconds(60))
        _ = loop.after(interval) { [weak self] in self?.sweepSessions() }
    }
}
