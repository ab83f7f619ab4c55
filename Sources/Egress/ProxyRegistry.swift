import Actual
import Synchronization

/// What the proxy knows of the servers, shared between the supervisor's calls (`admit`,
/// `release`), reloads (`configure`) and the event loop: credentials per instance, the current
/// egress list per server (looked up by name at every request, so an edit applies in place),
/// tunnel counts and counters.
final class ProxyRegistry: Sendable {
    private struct State {
        var instances: [String: InstanceID] = [:]
        var tokens: [InstanceID: String] = [:]
        var policies: [String: EgressPolicy] = [:]
        var stats: [String: EgressStats] = [:]
        var maxTunnels: Int
    }

    private let state: Mutex<State>

    init(maxTunnels: Int) {
        state = Mutex(State(maxTunnels: maxTunnels))
    }

    /// A fresh token for `instance` (replacing any earlier one).
    func admit(_ instance: InstanceID) -> String {
        let token = ProxyCredentials.token()
        state.withLock { state in
            if let old = state.tokens[instance] { state.instances[old] = nil }
            state.tokens[instance] = token
            state.instances[token] = instance
        }
        return token
    }

    func release(_ instance: InstanceID) {
        state.withLock { state in
            if let token = state.tokens.removeValue(forKey: instance) { state.instances[token] = nil }
        }
    }

    func isAdmitted(_ instance: InstanceID) -> Bool {
        state.withLock { $0.tokens[instance] != nil }
    }

    /// The instance whose credentials these are: the user must be its server's name.
    func authenticate(user: String, password: String) -> InstanceID? {
        state.withLock { state in
            guard let instance = state.instances[password], instance.name == user else { return nil }
            return instance
        }
    }

    /// Every server's current egress list; servers left out have none (everything is denied).
    func configure(egress: [String: [String]], maxTunnels: Int) {
        let policies = egress.mapValues(EgressPolicy.init)
        state.withLock { state in
            state.policies = policies
            state.maxTunnels = maxTunnels
            // Counters of servers that are gone and hold nothing open are dropped.
            state.stats = state.stats.filter { policies[$0.key] != nil || $0.value.active > 0 }
        }
    }

    func policy(_ server: String) -> EgressPolicy {
        state.withLock { $0.policies[server] } ?? EgressPolicy([])
    }

    /// Takes one of `server`'s tunnel slots; false (and counted as busy) at the bound.
    func acquireTunnel(_ server: String) -> (ok: Bool, limit: Int) {
        state.withLock { state in
            var stats = state.stats[server, default: EgressStats()]
            defer { state.stats[server] = stats }
            guard stats.active < state.maxTunnels else {
                stats.busy += 1
                return (false, state.maxTunnels)
            }
            stats.active += 1
            return (true, state.maxTunnels)
        }
    }

    func releaseTunnel(_ server: String, sent: Int, received: Int) {
        state.withLock { state in
            state.stats[server, default: EgressStats()].active -= 1
            state.stats[server, default: EgressStats()].bytesSent += sent
            state.stats[server, default: EgressStats()].bytesReceived += received
        }
    }

    enum Outcome { case allowed, denied, failed }

    func count(_ server: String, _ outcome: Outcome) {
        state.withLock { state in
            switch outcome {
            case .allowed: state.stats[server, default: EgressStats()].allowed += 1
            case .denied: state.stats[server, default: EgressStats()].denied += 1
            case .failed: state.stats[server, default: EgressStats()].failed += 1
            }
        }
    }

    func stats() -> [String: EgressStats] {
        state.withLock { $0.stats }
    }
}
