/// The health verdict for one process from its probe results: pure, so every transition is
/// unit-tested without processes or clocks.
///
/// `failureThreshold` consecutive failures make a ready instance unhealthy; one success makes it
/// ready again (kubelet's readiness semantics with successThreshold 1).
struct HealthTracker: Sendable, Hashable {
    enum Verdict: Sendable, Hashable {
        case healthy
        case unhealthy
    }

    /// What changed with one probe result.
    enum Transition: Sendable, Hashable {
        case none
        case becameUnhealthy
        case recovered
    }

    /// Changing it (a policy update) keeps the verdict and the count of failures.
    var failureThreshold: Int
    private(set) var consecutiveFailures = 0
    private(set) var verdict = Verdict.healthy

    init(failureThreshold: Int) {
        self.failureThreshold = max(1, failureThreshold)
    }

    mutating func record(success: Bool) -> Transition {
        if success {
            consecutiveFailures = 0
            guard verdict == .unhealthy else { return .none }
            verdict = .healthy
            return .recovered
        }
        consecutiveFailures += 1
        guard verdict == .healthy, consecutiveFailures >= failureThreshold else { return .none }
        verdict = .unhealthy
        return .becameUnhealthy
    }
}
