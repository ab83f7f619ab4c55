import Desired
import Testing

@testable import Gateway

@Suite struct GuardTests {
    private let t0 = Duration.seconds(1000)
    private let limits = Limits(rps: 10, burst: 20, concurrency: 2, requestTimeout: .seconds(30))

    /// 10 rps, burst 20: twenty at once, then one every 100 ms, each refusal with when to retry.
    @Test func theRateGuardAdmitsWhatTheBucketAllows() {
        var rate = RateGuard(limits: limits)
        for _ in 0..<20 { #expect(rate.admit(server: "s", at: t0) == nil) }
        let refusal = rate.admit(server: "s", at: t0)
        #expect(refusal?.kind == .rateLimited)
        #expect(refusal?.reason == "rate limit of 10/s, burst 20")
        #expect(refusal?.retryAfter == .milliseconds(100))
        #expect(refusal?.retryAfterHeader == "1")
        #expect(rate.admit(server: "s", at: t0 + .milliseconds(100)) == nil)
        #expect(rate.admit(server: "s", at: t0 + .milliseconds(100)) != nil)
        var fractional = RateGuard(limits: Limits(rps: 0.5, burst: 1, concurrency: 1, requestTimeout: .seconds(1)))
        _ = fractional.admit(server: "s", at: t0)
        #expect(fractional.admit(server: "s", at: t0)?.reason == "rate limit of 0.5/s, burst 1")
    }

    @Test func retriesOnlyIdempotentMethodsAndOnlyInsideTheDeadline() {
        let policy = RetryPolicy(backoff: [.milliseconds(100), .milliseconds(500)], maxAttempts: 4)
        for method in ["ping", "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list"] {
            #expect(RetryPolicy.isIdempotent(method))
        }
        #expect(!RetryPolicy.isIdempotent("tools/call"))
        #expect(policy.delay(method: "tools/call", after: 1, now: t0, deadline: t0 + .seconds(30)) == nil)
        #expect(policy.delay(method: "tools/list", after: 1, now: t0, deadline: t0 + .seconds(30)) == .milliseconds(100))
        #expect(policy.delay(method: "tools/list", after: 2, now: t0, deadline: t0 + .seconds(30)) == .milliseconds(500))
        // The last entry repeats; attempts are bounded.
        #expect(policy.delay(method: "tools/list", after: 3, now: t0, deadline: t0 + .seconds(30)) == .milliseconds(500))
        #expect(policy.delay(method: "tools/list", after: 4, now: t0, deadline: t0 + .seconds(30)) == nil)
        // A retry that would start after the deadline is not made.
        #expect(policy.delay(method: "ping", after: 1, now: t0, deadline: t0 + .milliseconds(100)) == nil)
        #expect(RetryPolicy(backoff: [], maxAttempts: 0).delay(method: "ping", after: 1, now: t0, deadline: t0 + .seconds(1)) == nil)
        #expect(RetryPolicy(backoff: []).backoff == [.milliseconds(100)])
    }

    @Test func everyRefusalKindHasItsOwnCodeInTheImplementationRange() {
        let codes = GatewayRefusal.Kind.allCases.map(\.code)
        #expect(Set(codes).count == codes.count)
        #expect(codes.allSatisfy { (-32019)...(-32000) ~= $0 })
        #expect(GatewayRefusal.Kind.rateLimited.status == 429)
        #expect(GatewayRefusal.Kind.timedOut.status == 504)
        #expect(GatewayRefusal.Kind.serverGone.status == 502)
        #expect(GatewayRefusal.Kind.unavailable.status == 503)
        let refusal = GatewayRefusal(.draining, server: "git", reason: "drain timeout of 30s passed", retryAfter: .milliseconds(1500))
        #expect(refusal.description == "git: draining: drain timeout of 30s passed")
        #expect(refusal.retryAfterHeader == "2")
        #expect(GatewayRefusal(.unavailable, server: "x", reason: "").retryAfterHeader == nil)
    }

    /// The breaker is met first: an open breaker refuses without taking a token.
    @Test func guardsApplyInOrderAndOnlyServerOutcomesReachTheBreaker() {
        var guards = ServerGuards(
            server: "time", limits: Limits(rps: 1, burst: 1, concurrency: 1, requestTimeout: .seconds(5)),
            breaker: CircuitBreaker(failureThreshold: 1, coolDown: .seconds(10)), queueLimit: 1)
        #expect(guards.admit(at: t0) == .proceed(trial: false))
        #expect(guards.finished(.failed, trial: false, at: t0) == nil)
        guard case .refuse(let open) = guards.admit(at: t0 + .seconds(5)) else {
            Issue.record("not refused")
            return
        }
        #expect(open.kind == .circuitOpen && open.retryAfter == .seconds(5))
        // The half-open trial passes and takes the token, which has refilled.
        #expect(guards.admit(at: t0 + .seconds(10)) == .proceed(trial: true))
        #expect(guards.finished(.answered, trial: true, at: t0 + .seconds(10)) == nil)
        #expect(guards.breaker.state == .closed(failures: 0))
        // Rate limited: the gateway's own refusal is not a server failure.
        #expect(guards.admit(at: t0 + .seconds(11)) == .proceed(trial: false))
        guard case .refuse(let limited) = guards.admit(at: t0 + .seconds(11)) else {
            Issue.record("not limited")
            return
        }
        #expect(limited.kind == .rateLimited)
        #expect(guards.breaker.state == .closed(failures: 0))
    }

    @Test func requestsBeyondTheConcurrencyWaitInABoundedQueue() {
        var guards = ServerGuards(
            server: "s", limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .seconds(5)), queueLimit: 1)
        #expect(guards.admit(at: t0) == .proceed(trial: false))
        #expect(guards.admit(at: t0) == .wait(ticket: 1, trial: false))
        guard case .refuse(let full) = guards.admit(at: t0) else {
            Issue.record("not refused")
            return
        }
        #expect(full.kind == .overloaded)
        #expect(full.reason == "1 requests in flight (limit 1) and 1 waiting (limit 1)")
        #expect(guards.inFlight == 1 && guards.queued == 1)
        #expect(guards.finished(.abandoned, trial: false, at: t0) == 1)
        let late = guards.cancelWait(1, trial: false)
        #expect(!late)
        #expect(guards.admit(at: t0) == .wait(ticket: 2, trial: false))
        let waiting = guards.cancelWait(2, trial: false)
        #expect(waiting)
        #expect(guards.finished(.answered, trial: false, at: t0) == nil)
        #expect(guards.inFlight == 0)
    }

    /// A refused half-open trial (rate limit, full queue, a waiter that gave up) leaves the
    /// breaker ready for the next trial instead of stuck "trial running".
    @Test func aTrialRefusedByTheGatewayIsGivenBack() {
        var guards = ServerGuards(
            server: "s", limits: Limits(rps: 1, burst: 1, concurrency: 1, requestTimeout: .seconds(5)),
            breaker: CircuitBreaker(failureThreshold: 1, coolDown: .seconds(1)), queueLimit: 0)
        #expect(guards.admit(at: t0) == .proceed(trial: false))
        _ = guards.finished(.failed, trial: false, at: t0)
        // Token spent at t0; at t0+1s it refills, so spend it, then the trial meets an empty bucket.
        #expect(guards.admit(at: t0 + .seconds(1)) == .proceed(trial: true))
        _ = guards.finished(.abandoned, trial: true, at: t0 + .seconds(1))
        guard case .refuse(let limited) = guards.admit(at: t0 + .seconds(1)) else {
            Issue.record("not refused")
            return
        }
        #expect(limited.kind == .rateLimited)
        #expect(guards.admit(at: t0 + .seconds(2)) == .proceed(trial: true))
        guard case .refuse(let busy) = guards.admit(at: t0 + .seconds(3)) else {
            Issue.record("not refused")
            return
        }
        // The trial is still running: everyone else is refused by the breaker.
        #expect(busy.kind == .circuitOpen)
    }

    @Test func newLimitsApplyInPlace() {
        var guards = ServerGuards(server: "s", limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .seconds(5)))
        #expect(guards.admit(at: t0) == .proceed(trial: false))
        #expect(guards.admit(at: t0) == .wait(ticket: 1, trial: false))
        #expect(guards.update(limits: guards.limits) == [])
        #expect(guards.update(limits: Limits(rps: 100, burst: 100, concurrency: 2, requestTimeout: .seconds(5))) == [1])
        #expect(guards.limits.concurrency == 2)
        #expect(guards.inFlight == 2)
    }
}
