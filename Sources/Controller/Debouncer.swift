import Actual

/// Coalesces a burst of signals into one call: `fire` runs once the signals have been quiet for
/// `quiet`, and at most `maxDelay` after the first of the burst (an editor that keeps writing
/// still gets its edit applied within a second).
actor Debouncer {
    private let quiet: Duration
    private let maxDelay: Duration
    private let clock: any MonotonicClock
    private let fire: @Sendable (String) async -> Void
    private var first: Duration?
    private var last = Duration.zero
    private var cause = ""
    private var waiting = false

    init(quiet: Duration, maxDelay: Duration = .seconds(1), clock: any MonotonicClock, fire: @escaping @Sendable (String) async -> Void) {
        self.quiet = quiet
        self.maxDelay = maxDelay
        self.clock = clock
        self.fire = fire
    }

    /// Records one signal; `cause` (the latest wins) is passed to `fire`.
    func signal(_ cause: String) {
        last = clock.now
        if first == nil { first = last }
        self.cause = cause
        guard !waiting else { return }
        waiting = true
        Task { await self.wait() }
    }

    private func wait() async {
        while let first {
            let due = min(last + quiet, first + maxDelay)
            let delay = due - clock.now
            if delay > .zero {
                try? await clock.sleep(for: delay)
                continue
            }
            self.first = nil
            waiting = false
            await fire(cause)
            return
        }
        waiting = false
    }
}
