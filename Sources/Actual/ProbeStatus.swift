import Foundation
import Synchronization

/// One process's health-check results: the last probe and the verdict. Written by the prober
/// (the I/O loop thread, or the supervisor's task for HTTP servers) and read by snapshots, so it
/// is a lock rather than actor state.
final class ProbeStatus: Sendable {
    private struct State {
        var tracker: HealthTracker
        var last: ProbeRecord?
    }

    private let state: Mutex<State>

    init(failureThreshold: Int) {
        state = Mutex(State(tracker: HealthTracker(failureThreshold: failureThreshold)))
    }

    /// Records one probe's outcome here and in `tally` (under `server`). Returns it when the
    /// supervisor must hear of it (a failure, or a change of verdict); nil for a routine success.
    func conclude(_ record: ProbeRecord, server: String, tally: ProbeTally) -> ProbeOutcome? {
        tally.record(server, latency: record.latency, succeeded: record.succeeded)
        let (transition, failures) = state.withLock { state in
            state.last = record
            return (state.tracker.record(success: record.succeeded), state.tracker.consecutiveFailures)
        }
        guard !record.succeeded || transition != .none else { return nil }
        return ProbeOutcome(record: record, transition: transition, consecutiveFailures: failures)
    }

    /// A policy update keeps the verdict and the count of failures.
    func setFailureThreshold(_ threshold: Int) {
        state.withLock { $0.tracker.failureThreshold = max(1, threshold) }
    }

    var last: ProbeRecord? { state.withLock { $0.last } }
    var consecutiveFailures: Int { state.withLock { $0.tracker.consecutiveFailures } }
}

/// A probe outcome the supervisor must act on: a failure (logged) or a change of verdict.
struct ProbeOutcome: Sendable {
    var record: ProbeRecord
    var transition: HealthTracker.Transition
    var consecutiveFailures: Int
}
