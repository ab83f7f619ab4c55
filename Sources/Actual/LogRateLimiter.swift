/// A token bucket for a child's stderr lines: a flood must not become a flood of controller logs.
///
/// `rate` lines per second on average, bursts of `burst`. Dropped lines are counted and reported
/// once the bucket refills, so the logs say how much was lost rather than losing it silently.
struct LogRateLimiter: Sendable, Hashable {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var last: Duration?
    private(set) var suppressed = 0

    init(rate: Double = 50, burst: Int = 200) {
        self.rate = rate
        self.burst = Double(burst)
        tokens = Double(burst)
    }

    /// Whether a line at `now` may be logged. When it may and lines were dropped before it,
    /// `dropped` says how many (and the count starts again).
    mutating func admit(at now: Duration) -> (admitted: Bool, dropped: Int) {
        if let last {
            let elapsed = Double((now - last).components.seconds) + Double((now - last).components.attoseconds) / 1e18
            tokens = min(burst, tokens + max(0, elapsed) * rate)
        }
        last = now
        guard tokens >= 1 else {
            suppressed += 1
            return (false, 0)
        }
        tokens -= 1
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}
