import Desired
import Metering

/// A server's request rate limit from its manifest (`limits.rps`, `limits.burst`): a token
/// bucket that answers at once with either a pass or how long to wait (`Retry-After`).
public struct RateGuard: Sendable, Hashable {
    public let limits: Limits
    private var bucket: TokenBucket

    public init(limits: Limits) {
        self.limits = limits
        bucket = TokenBucket(rate: max(limits.rps, 0.001), burst: max(limits.burst, 1))
    }

    /// Nil when the request may go; otherwise the refusal, with when a token will be there.
    public mutating func admit(server: String, at now: Duration) -> GatewayRefusal? {
        let wait = bucket.take(at: now)
        guard wait > .zero else { return nil }
        return GatewayRefusal(
            .rateLimited, server: server, reason: "rate limit of \(RateGuard.format(limits.rps))/s, burst \(limits.burst)",
            retryAfter: wait)
    }

    static func format(_ rate: Double) -> String {
        rate == rate.rounded() ? String(Int(rate)) : String(rate)
    }
}
