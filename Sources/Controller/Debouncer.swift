import Actual

/// Coalesces a burst of signals into as few calls as possible, without delaying a lone edit.
///
/// - A signal that says the file is complete (`immediate`: renamed into place, or closed after
///   writing) fires at once when nothing fired within the last `quiet` (leading edge):
///   a saved edit is applied in milliseconds, not after the quiet period.
/// - Anything else, and anything during the quiet period after a call, waits until the signals
///   have been quiet for `quiet`, and at most `maxDelay` after the first of the burst (an editor
///   that keeps writing still gets its edit applied within a second). A half-written file is
///   thus never read on the leading edge.
actor Debouncer {
    private let quiet: Duration
    private let maxDelay: Duration
    private let clock: any MonotonicClock
    private let fire: @Sendable (String) async -> Void
    private var first: Duration?
    private var last = Duration.zero
    private var cause = ""
    private var waiting = false
    private var lastFire: Duration?

    init(quiet: Duration, maxDelay: Duration = .seconds(1), clock: any MonotonicClock, fire: @escaping @Sendable (String) async -> Void) {
        self.quiet = quiet
        self.maxDelay = maxDelay
        self.clock = clock
        self.fire = fire
    }

    /// Records one signal; `cause` (the latest wins) is passed to `fire`.
    func signal(_ cause: String, immediate: Bool = false) {
        let now = clock.now
        if immediate, !waiting, lastFire.map({ now - $0 >= quiet }) ?? true {
            lastFire = now
            let fire = fire
            Task { await fire(cause) }
            return
        }
        last = now
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
            lastFire = clock.now
            await fire(cause)
            return
        }
        waiting = false
    }
}
