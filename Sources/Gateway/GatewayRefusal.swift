/// Why the gateway answers a request itself instead of passing it to a server: the HTTP
/// status, the JSON-RPC error (codes in -32000...-32019, the range the 2026-07-28 specification
/// leaves to implementations), and a message that says why.
///
/// Every refusal is immediate: a client never waits out a timeout because a server is gone,
/// disabled, quarantined, rate-limited or broken.
public struct GatewayRefusal: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// The server's token bucket is empty (`limits.rps`, `limits.burst`).
        case rateLimited = "rate_limited"
        /// `limits.concurrency` requests are in flight and the wait queue is full.
        case overloaded
        /// The circuit breaker is open after consecutive failures.
        case circuitOpen = "circuit_open"
        /// The request did not complete within `limits.request_timeout`.
        case timedOut = "timed_out"
        /// No instance takes requests: not configured, disabled, quarantined, stopped.
        case unavailable
        /// The instance that had the request ended before answering.
        case serverGone = "server_gone"
        /// The instance is draining and the request ran past the drain timeout.
        case draining

        /// The JSON-RPC code, one per kind so that clients can tell them apart.
        public var code: Int {
            switch self {
            case .rateLimited: -32001
            // Not -32002: 2026-07-28 forbids it, and legacy clients read it as "resource not found".
            case .overloaded: -32008
            case .circuitOpen: -32003
            case .timedOut: -32004
            case .unavailable: -32005
            case .serverGone: -32006
            case .draining: -32007
            }
        }

        /// The HTTP status of a refusal that happens before any response was started.
        public var status: Int {
            switch self {
            case .rateLimited: 429
            case .overloaded, .circuitOpen, .unavailable, .draining: 503
            case .timedOut: 504
            case .serverGone: 502
            }
        }
    }

    public var kind: Kind
    /// The server the request was for.
    public var server: String
    /// Why, in words (`rate limit of 10/s, burst 20`, `quarantined until 12:00:03`).
    public var reason: String
    /// When the client may try again, if the gateway knows (`Retry-After`).
    public var retryAfter: Duration?

    public init(_ kind: Kind, server: String, reason: String, retryAfter: Duration? = nil) {
        self.kind = kind
        self.server = server
        self.reason = reason
        self.retryAfter = retryAfter
    }

    public var description: String { "\(server): \(kind.rawValue): \(reason)" }

    /// `Retry-After` in whole seconds, rounded up (at least 1), when there is one.
    public var retryAfterHeader: String? {
        guard let retryAfter else { return nil }
        let (seconds, attoseconds) = retryAfter.components
        return String(max(1, seconds + (attoseconds > 0 ? 1 : 0)))
    }
}
