/// Where a server's requests go: the instance that takes new requests, and the instances still
/// finishing requests they already have (draining). The executor changes it; the gateway reads it.
///
/// A replacement is four visible steps, of which this table holds the middle two: start the new
/// instance, wait until it is ready, `switchTo` it (new requests go there; the old instance
/// moves to `draining`), and once the old one has nothing in flight, `finishedDraining`.
/// Generic over the instance handle so that it stays a pure value.
public struct RoutingTable<Instance: Hashable & Sendable>: Sendable {
    public struct Route: Sendable, Hashable {
        /// Takes new requests; nil while the server has no ready instance.
        public var active: Instance?
        /// Still finishing requests sent to them before a switch, oldest first.
        public var draining: [Instance]
        /// Why there is no active instance (`starting`, `quarantined until …`, `disabled`).
        public var unavailable: String?
    }

    public enum Target: Sendable, Hashable {
        case instance(Instance)
        /// No instance takes requests, and why.
        case unavailable(String)
    }

    public private(set) var routes: [String: Route] = [:]

    public init() {}

    /// Where a new request for `server` goes.
    public func target(for server: String) -> Target {
        guard let route = routes[server] else { return .unavailable("no server named \(server)") }
        if let active = route.active { return .instance(active) }
        return .unavailable(route.unavailable ?? "no ready instance")
    }

    /// New requests go to `instance`; the instance that had them starts draining.
    public mutating func switchTo(_ instance: Instance, for server: String) {
        var route = routes[server] ?? Route(active: nil, draining: [], unavailable: nil)
        if let previous = route.active, previous != instance { route.draining.append(previous) }
        route.draining.removeAll { $0 == instance }
        route.active = instance
        route.unavailable = nil
        routes[server] = route
    }

    /// No instance takes new requests for `server` (it stopped, crashed, is quarantined); the
    /// active one, if any, drains.
    public mutating func withdraw(_ server: String, reason: String) {
        var route = routes[server] ?? Route(active: nil, draining: [], unavailable: nil)
        if let previous = route.active { route.draining.append(previous) }
        route.active = nil
        route.unavailable = reason
        routes[server] = route
    }

    /// `instance` has nothing left in flight (or is gone): it leaves the table.
    public mutating func finishedDraining(_ instance: Instance, for server: String) {
        guard var route = routes[server] else { return }
        route.draining.removeAll { $0 == instance }
        if route.active == instance {
            route.active = nil
            route.unavailable = route.unavailable ?? "stopped"
        }
        routes[server] = route
    }

    /// The server left the desired state: it is unknown from now on (its draining instances are
    /// returned, for the caller to finish).
    @discardableResult
    public mutating func remove(_ server: String) -> [Instance] {
        guard let route = routes.removeValue(forKey: server) else { return [] }
        return route.draining + (route.active.map { [$0] } ?? [])
    }
}
