import Testing

@testable import Gateway

@Suite struct CircuitBreakerTests {
    private let t0 = Duration.seconds(1000)

    @Test func opensAfterConsecutiveFailuresAndASuccessResetsTheCount() {
        var breaker = CircuitBreaker(failureThreshold: 3, coolDown: .seconds(10))
        breaker.recordFailure(at: t0)
        breaker.recordFailure(at: t0)
        breaker.recordSuccess()
        breaker.recordFailure(at: t0)
        breaker.recordFailure(at: t0)
        #expect(breaker.state == .closed(failures: 2))
        #expect(breaker.admit(at: t0) == .pass(trial: false))
        breaker.recordFailure(at: t0)
        #expect(breaker.state == .open(since: t0))
        #expect(breaker.gauge == 2)
    }

    @Test func anOpenBreakerRefusesUntilTheCoolDownThenLetsOneTrialThrough() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDown: .seconds(10))
        breaker.recordFailure(at: t0)
        #expect(breaker.admit(at: t0 + .seconds(9)) == .refuse(retryAt: t0 + .seconds(10)))
        #expect(breaker.admit(at: t0 + .seconds(10)) == .pass(trial: true))
        #expect(breaker.gauge == 1)
        // While the trial runs, others are refused.
        #expect(breaker.admit(at: t0 + .seconds(10)) == .refuse(retryAt: t0 + .seconds(11)))
    }

    @Test func aTrialsOutcomeClosesOrReopens() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDown: .seconds(10))
        breaker.recordFailure(at: t0)
        _ = breaker.admit(at: t0 + .seconds(10))
        breaker.recordFailure(at: t0 + .seconds(11))
        #expect(breaker.state == .open(since: t0 + .seconds(11)))
        #expect(breaker.admit(at: t0 + .seconds(20)) == .refuse(retryAt: t0 + .seconds(21)))
        #expect(breaker.admit(at: t0 + .seconds(21)) == .pass(trial: true))
        breaker.recordSuccess()
        #expect(breaker.state == .closed(failures: 0))
        #expect(breaker.gauge == 0)
    }

    /// A trial whose client left says nothing about the server: the next request tries again.
    @Test func anAbandonedTrialLetsTheNextRequestTry() {
        var breaker = CircuitBreaker(failureThreshold: 1, coolDown: .seconds(10))
        breaker.recordFailure(at: t0)
        _ = breaker.admit(at: t0 + .seconds(10))
        breaker.abandonTrial()
        #expect(breaker.admit(at: t0 + .seconds(10)) == .pass(trial: true))
        // Failures while open change nothing; abandoning outside half-open changes nothing.
        breaker.recordFailure(at: t0 + .seconds(12))
        breaker.recordFailure(at: t0 + .seconds(13))
        breaker.abandonTrial()
        #expect(breaker.state == .open(since: t0 + .seconds(12)))
    }

    @Test func aThresholdBelowOneMeansOne() {
        var breaker = CircuitBreaker(failureThreshold: 0)
        breaker.recordFailure(at: t0)
        #expect(breaker.state == .open(since: t0))
    }
}
