import Desired

/// Every guard of one server, in the order a request meets them, as one pure value:
///
/// 1. the circuit breaker (open: a fast 503, `circuit_open`);
/// 2. the token bucket from `limits.rps` and `limits.burst` (empty: 429 with `Retry-After`);
/// 3. the concurrency gate from `limits.concurrency`, with a wait queue of `queueLimit` (full:
///    503, `overloaded`; queued: the caller waits for its ticket, bounded by its deadline).
///
/// A refusal by 2 or 3 is the gateway's own doing and is not recorded by the breaker; the
/// outcome of every request that reached the server is (`finished`).
public struct ServerGuards: Sendable, Hashable {
    public enum Admission: Sendable, Hashable {
        /// Send it now. `trial`: the breaker's half-open trial.
        case proceed(trial: Bool)
        /// Wait for `ticket` to be handed a slot (see `finished`), then send it.
        case wait(ticket: UInt64, trial: Bool)
        case refuse(GatewayRefusal)
    }

    public enum Outcome: Sendable, Hashable {
        /// The server answered (a JSON-RPC error from it counts: the server works).
        case answered
        /// The server failed it: timed out, went away, or broke the protocol.
        case failed
        /// Its client left first; says nothing about the server.
        case abandoned
    }

    public let server: String
    public private(set) var limits: Limits
    public private(set) var breaker: CircuitBreaker
    private var rate: RateGuard
    private var gate: ConcurrencyGate

    /// `queueLimit` defaults to four times `limits.concurrency`.
    public init(server: String, limits: Limits, breaker: CircuitBreaker = CircuitBreaker(), queueLimit: Int? = nil) {
        self.server = server
        self.limits = limits
        self.breaker = breaker
        rate = RateGuard(limits: limits)
        gate = ConcurrencyGate(limit: limits.concurrency, queueLimit: queueLimit ?? 4 * max(limits.concurrency, 1))
    }

    public var inFlight: Int { gate.inFlight }
    public var queued: Int { gate.queued }

    public mutating func admit(at now: Duration) -> Admission {
        let trial: Bool
        switch breaker.admit(at: now) {
        case .refuse(let retryAt):
            return .refuse(
                GatewayRefusal(
                    .circuitOpen, server: server, reason: "circuit open after \(breaker.failureThreshold) consecutive failures",
                    retryAfter: retryAt - now))
        case .pass(let isTrial):
            trial = isTrial
        }
        if let refusal = rate.admit(server: server, at: now) {
            if trial { breaker.abandonTrial() }
            return .refuse(refusal)
        }
        switch gate.acquire() {
        case .granted:
            return .proceed(trial: trial)
        case .queued(let ticket):
            return .wait(ticket: ticket, trial: trial)
        case .full:
            if trial { breaker.abandonTrial() }
            return .refuse(
                GatewayRefusal(
                    .overloaded, server: server,
                    reason:
                        "\(gate.inFlight) requests in flight (limit \(gate.limit)) and \(gate.queued) waiting (limit \(gate.queueLimit))"))
        }
    }

    /// A request that was sent finished; returns the waiting ticket that takes its slot.
    public mutating func finished(_ outcome: Outcome, trial: Bool, at now: Duration) -> UInt64? {
        switch outcome {
        case .answered: breaker.recordSuccess()
        case .failed: breaker.recordFailure(at: now)
        case .abandoned: if trial { breaker.abandonTrial() }
        }
        return gate.release()
    }

    /// A waiting request gave up before its turn (deadline, client gone). False when its turn
    /// had already come: then it holds a slot and must call `finished`.
    @discardableResult
    public mutating func cancelWait(_ ticket: UInt64, trial: Bool) -> Bool {
        guard gate.cancel(ticket) else { return false }
        if trial { breaker.abandonTrial() }
        return true
    }

    /// New limits from a policy update, applied in place: the bucket starts full at the new
    /// rate; requests in flight keep their slots. Returns the waiting tickets that may run now.
    public mutating func update(limits: Limits) -> [UInt64] {
        guard limits != self.limits else { return [] }
        self.limits = limits
        rate = RateGuard(limits: limits)
        return gate.resize(limit: limits.concurrency, queueLimit: 4 * max(limits.concurrency, 1))
    }
}
