import Metering

/// The stderr rate limit: a flood from a child must not become a flood of controller logs.
///
/// `rate` lines per second on average, bursts of `burst` (a `TokenBucket`). Dropped lines are
/// counted and reported with the next line let through, so the logs say how much was lost
/// rather than losing it silently.
struct LogRateLimiter: Sendable, Hashable {
    private var bucket: TokenBucket
    private(set) var suppressed = 0

    init(rate: Double = 50, burst: Int = 200) {
        bucket = TokenBucket(rate: rate, burst: burst)
    }

    /// Whether a line at `now` may be logged. When it may and lines were dropped before it,
    /// `dropped` says how many (and the count starts again).
    mutating func admit(at now: Duration) -> (admitted: Bool, dropped: Int) {
        guard bucket.take(at: now) == .zero else {
            suppressed += 1
            return (false, 0)
        }
        defer { suppressed = 0 }
        return (true, suppressed)
    }
}
