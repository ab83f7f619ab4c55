import Metering
import Synchronization

/// The gateway's counters for `/metrics`: requests by server, method and outcome, latency by
/// server and method, requests the server sent to clients. Gauges (in flight, breaker state,
/// sessions) are read from the gateway's state when rendered.
///
/// Methods outside MCP's own set are counted as `other`, so a client cannot grow the series
/// without bound.
public final class GatewayMetrics: Sendable {
    struct Key: Hashable {
        var server: String
        var method: String
        var outcome: String
    }

    struct MethodKey: Hashable {
        var server: String
        var method: String
    }

    struct State {
        var requests: [Key: Int] = [:]
        var latency: [MethodKey: LatencyHistogram] = [:]
        var serverRequests: [Key: Int] = [:]
    }

    static let methods: Set<String> = [
        "initialize", "ping", "server/discover", "tools/list", "tools/call", "prompts/list", "prompts/get", "resources/list",
        "resources/read", "resources/templates/list", "resources/subscribe", "resources/unsubscribe", "completion/complete",
        "logging/setLevel", "subscriptions/listen", "sampling/createMessage", "elicitation/create", "roots/list",
    ]

    private let state = Mutex(State())

    /// `method` when it is one of MCP's, else `other` (metric labels and span names stay bounded).
    public static func label(_ method: String) -> String { methods.contains(method) ? method : "other" }

    func record(server: String, method: String, outcome: String, seconds: Double?) {
        let method = GatewayMetrics.label(method)
        state.withLock { state in
            state.requests[Key(server: server, method: method, outcome: outcome), default: 0] += 1
            if let seconds { state.latency[MethodKey(server: server, method: method), default: LatencyHistogram()].observe(seconds) }
        }
    }

    /// A request from a server to a client (sampling, elicitation, roots): relayed or refused.
    func recordServerRequest(server: String, method: String, outcome: String) {
        let method = GatewayMetrics.label(method)
        state.withLock { $0.serverRequests[Key(server: server, method: method, outcome: outcome), default: 0] += 1 }
    }

    /// Forgets a server that left the desired state.
    func forget(_ server: String) {
        state.withLock { state in
            state.requests = state.requests.filter { $0.key.server != server }
            state.latency = state.latency.filter { $0.key.server != server }
            state.serverRequests = state.serverRequests.filter { $0.key.server != server }
        }
    }

    func snapshot() -> State { state.withLock { $0 } }

    /// Requests counted so far with this outcome, for tests and `status`.
    public func count(server: String, method: String, outcome: String) -> Int {
        state.withLock { $0.requests[Key(server: server, method: GatewayMetrics.label(method), outcome: outcome)] ?? 0 }
    }
}
