/// A token bucket in monotonic time: `rate` tokens a second, at most `burst` saved up.
///
/// `take` answers how long to wait for a token (zero: one was taken). Used for the stderr rate
/// limit (`Actual`'s `LogRateLimiter`) and for spawn pacing in the executor (`Reconciler`).
public struct TokenBucket: Sendable, Hashable {
    public let rate: Double
    public let burst: Int
    private var tokens: Double
    private var last: Duration?

    public init(rate: Double, burst: Int) {
        self.rate = rate
        self.burst = burst
        tokens = Double(burst)
    }

    public mutating func take(at now: Duration) -> Duration {
        if let last { tokens = min(Double(burst), tokens + max(0, (now - last).seconds) * rate) }
        last = now
        if tokens >= 1 {
            tokens -= 1
            return .zero
        }
        return .milliseconds(Int64(((1 - tokens) / rate * 1000).rounded(.up)))
    }
}
