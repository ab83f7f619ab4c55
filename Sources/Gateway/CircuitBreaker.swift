/// A per-server circuit breaker, as a pure state machine in monotonic time.
///
/// - closed: requests pass; `failureThreshold` consecutive failures (errors from the server,
///   timeouts, a server gone mid-call) open it. A success resets the count.
/// - open: every request is refused at once until `coolDown` has passed since it opened.
/// - half-open: one request passes as a trial (others are refused while it runs); its success
///   closes the breaker, its failure opens it again for another `coolDown`.
///
/// What counts as a failure is the caller's call: a request the gateway itself refused (rate
/// limit, queue full) says nothing about the server and must not be recorded.
public struct CircuitBreaker: Sendable, Hashable {
    public enum State: Sendable, Hashable {
        case closed(failures: Int)
        case open(since: Duration)
        case halfOpen(trialRunning: Bool)
    }

    public enum Decision: Sendable, Hashable {
        /// Send it. `trial`: it is the half-open trial; record its outcome.
        case pass(trial: Bool)
        /// Refuse it; the breaker may let a trial through at `retryAt`.
        case refuse(retryAt: Duration)
    }

    public let failureThreshold: Int
    public let coolDown: Duration
    public private(set) var state = State.closed(failures: 0)

    public init(failureThreshold: Int = 5, coolDown: Duration = .seconds(30)) {
        self.failureThreshold = max(1, failureThreshold)
        self.coolDown = coolDown
    }

    /// Whether a request may go to the server now.
    public mutating func admit(at now: Duration) -> Decision {
        switch state {
        case .closed:
            return .pass(trial: false)
        case .open(let since):
            guard now >= since + coolDown else { return .refuse(retryAt: since + coolDown) }
            state = .halfOpen(trialRunning: true)
            return .pass(trial: true)
        case .halfOpen(let trialRunning):
            // One trial at a time; while it runs the rest are refused, briefly.
            if trialRunning { return .refuse(retryAt: now + .seconds(1)) }
            state = .halfOpen(trialRunning: true)
            return .pass(trial: true)
        }
    }

    /// The server answered (an MCP error result counts as an answer: the server is working).
    public mutating func recordSuccess() {
        state = .closed(failures: 0)
    }

    /// The server failed the request: an internal error, a timeout, or it went away.
    public mutating func recordFailure(at now: Duration) {
        switch state {
        case .closed(let failures):
            state = failures + 1 >= failureThreshold ? .open(since: now) : .closed(failures: failures + 1)
        case .open:
            break
        case .halfOpen:
            state = .open(since: now)
        }
    }

    /// A trial that neither succeeded nor failed (cancelled by its client): the next request
    /// may try again.
    public mutating func abandonTrial() {
        if case .halfOpen = state { state = .halfOpen(trialRunning: false) }
    }

    /// For metrics: 0 closed, 1 half-open, 2 open.
    public var gauge: Int {
        switch state {
        case .closed: 0
        case .halfOpen: 1
        case .open: 2
        }
    }
}
