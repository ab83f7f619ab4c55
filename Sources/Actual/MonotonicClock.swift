/// Monotonic time, as a seam: the real one sleeps, a test's fake one is advanced by hand.
///
/// `now` is a `Duration` since an arbitrary origin, so deadlines are plain arithmetic and no
/// existential `Instant` has to be carried around.
public protocol MonotonicClock: Sendable {
    var now: Duration { get }
    /// Returns after `duration`, or throws `CancellationError` when the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// `ContinuousClock` (CLOCK_BOOTTIME; keeps counting while the machine sleeps).
public struct SystemClock: MonotonicClock {
    private static let origin = ContinuousClock.now

    public init() {}

    public var now: Duration { SystemClock.origin.duration(to: .now) }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration, clock: .continuous)
    }
}
