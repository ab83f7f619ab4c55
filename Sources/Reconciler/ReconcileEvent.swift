import Actual

/// What the executor did and saw, for the controller's logs, audit trail and metrics.
public enum ReconcileEvent: Sendable, Hashable {
    /// An action the executor started applying.
    case applying(Action)
    /// A server's hold changed (entered backoff or quarantine, was queued, or left it: nil).
    case hold(server: String, Hold?)
    /// One planning pass: how long it took and how many actions it started.
    case reconciled(duration: Duration, actions: Int, generation: Int)
    /// Passed through from the supervisor.
    case actual(ActualEvent)
}
