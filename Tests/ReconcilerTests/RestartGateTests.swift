import Desired
import Testing

@testable import Reconciler

@Suite struct RestartGateTests {
    /// DESIGN.md's defaults with a short quarantine, so the numbers read easily.
    static let policy = RestartPolicy(
        mode: .always, backoff: [.milliseconds(500), .seconds(1), .seconds(2), .seconds(5)], budget: Budget(count: 5, window: .seconds(60)),
        quarantine: .seconds(300), resetAfter: .seconds(30))

    private func gate(_ policy: RestartPolicy = policy) -> RestartGate { RestartGate(policy: policy, seed: 42) }

    private func crash(at seconds: Double, code: Int32? = 1, readyFor: Double = 0) -> PastExit {
        PastExit(at: .milliseconds(Int64(seconds * 1000)), readyFor: .milliseconds(Int64(readyFor * 1000)), code: code)
    }

    private func delay(_ decision: RestartGate.Decision, after exit: PastExit) -> Duration? {
        switch decision {
        case .wait(let until, _): until - exit.at
        case .startNow: .zero
        default: nil
        }
    }

    @Test func aServerThatNeverRanStartsNow() {
        #expect(gate().decide(history: [], now: .zero) == .startNow(reason: "not running"))
    }

    @Test func backoffFollowsTheListWithinTwentyPercentAndStaysAtTheLast() throws {
        var history: [PastExit] = []
        let bases: [Double] = [0.5, 1, 2, 5, 5]
        var t = 0.0
        for base in bases {
            t += 0.1
            history.append(crash(at: t))
            let decision = gate().decide(history: history, now: history[history.count - 1].at)
            let waited = try #require(delay(decision, after: history[history.count - 1]))
            #expect(waited >= .milliseconds(Int64(base * 800)) && waited <= .milliseconds(Int64(base * 1200)), "\(decision)")
            t += 6
        }
    }

    @Test func jitterIsDeterministicAndSpreadAcrossServers() {
        let a = RestartGate(policy: Self.policy, seed: 1).jittered(.seconds(1), attempt: 1)
        #expect(a == RestartGate(policy: Self.policy, seed: 1).jittered(.seconds(1), attempt: 1))
        let spread = Set((0..<20).map { RestartGate(policy: Self.policy, seed: UInt64($0)).jittered(.seconds(1), attempt: 1) })
        #expect(spread.count > 10)
        #expect(spread.allSatisfy { $0 >= .milliseconds(800) && $0 <= .milliseconds(1200) })
    }

    @Test func waitingEndsAtTheBackoffDeadline() {
        let exit = crash(at: 10)
        guard case .wait(let until, let reason) = gate().decide(history: [exit], now: exit.at) else {
            Issue.record("expected a wait")
            return
        }
        #expect(reason.hasPrefix("restart after exit 1, attempt 1 (backoff "))
        if case .startNow = gate().decide(history: [exit], now: until) {} else { Issue.record("expected a start at the deadline") }
    }

    /// A long healthy run before a crash resets the backoff to its first step.
    @Test func aHealthyStretchResetsTheBackoff() throws {
        let history = [crash(at: 0), crash(at: 1), crash(at: 3), crash(at: 100, readyFor: 60)]
        let waited = try #require(delay(gate().decide(history: history, now: history[3].at), after: history[3]))
        #expect(waited <= .milliseconds(600))
    }

    @Test func moreExitsThanTheBudgetWithinTheWindowQuarantines() {
        let history = (0..<6).map { crash(at: Double($0) * 5) }
        let decision = gate().decide(history: history, now: .seconds(26))
        #expect(
            decision
                == .quarantined(
                    until: .seconds(25 + 300), reason: "6 exits within 1m, budget 5/1m; quarantined for 5m"))
        // Five within the window is still within budget.
        if case .quarantined = gate().decide(history: Array(history.prefix(5)), now: .seconds(21)) {
            Issue.record("five exits must not quarantine")
        }
        // Exits outside the window do not count.
        let spread = (0..<6).map { crash(at: Double($0) * 20) }
        if case .quarantined = gate().decide(history: spread, now: .seconds(101)) { Issue.record("spread exits must not quarantine") }
    }

    @Test func afterQuarantineOneHalfOpenStartThenDoubling() {
        var history = (0..<6).map { crash(at: Double($0) * 5) }
        #expect(gate().decide(history: history, now: .seconds(325)) == .startNow(reason: "half-open start after quarantine"))
        history.append(crash(at: 330))
        #expect(
            gate().decide(history: history, now: .seconds(331))
                == .quarantined(
                    until: .seconds(330 + 600),
                    reason: "the half-open start after quarantine failed (exit 1); quarantined for 10m"))
        history.append(crash(at: 935))
        guard case .quarantined(let until, _) = gate().decide(history: history, now: .seconds(936)) else {
            Issue.record("expected quarantine")
            return
        }
        #expect(until == .seconds(935 + 1200))
    }

    @Test func quarantineDoublingStopsAtAnHour() {
        var history = (0..<6).map { crash(at: Double($0)) }
        var t = 10.0
        for _ in 0..<10 {
            t += 4000
            history.append(crash(at: t))
        }
        guard case .quarantined(let until, _) = gate().decide(history: history, now: .seconds(Int64(t) + 1)) else {
            Issue.record("expected quarantine")
            return
        }
        #expect(until == .milliseconds(Int64(t * 1000)) + .seconds(3600))
    }

    @Test func aHealthyHalfOpenRunEndsTheDoubling() throws {
        var history = (0..<6).map { crash(at: Double($0) * 5) }
        history.append(crash(at: 1000, readyFor: 500))
        let waited = try #require(delay(gate().decide(history: history, now: .seconds(1000)), after: history[6]))
        #expect(waited <= .milliseconds(600))
    }

    @Test func exit78QuarantinesAtOnce() {
        #expect(
            gate().decide(history: [crash(at: 5, code: 78)], now: .seconds(6))
                == .quarantined(
                    until: .seconds(305), reason: "exit 78 (EX_CONFIG): the configuration cannot work; quarantined for 5m"))
    }

    @Test func requestedStopsNeverCount() {
        let stops = (0..<10).map { PastExit(at: .seconds(Int64($0)), readyFor: .zero, code: 0, requested: true) }
        #expect(gate().decide(history: stops, now: .seconds(11)) == .startNow(reason: "not running"))
    }

    @Test func restartModes() {
        var never = Self.policy
        never.mode = .never
        #expect(gate(never).decide(history: [crash(at: 1)], now: .seconds(9)) == .done(reason: "restart policy never; exit 1"))
        var onFailure = Self.policy
        onFailure.mode = .onFailure
        #expect(
            gate(onFailure).decide(history: [crash(at: 1, code: 0)], now: .seconds(9))
                == .done(reason: "exited cleanly; restart policy on-failure"))
        if case .done = gate(onFailure).decide(history: [crash(at: 1, code: nil)], now: .seconds(9)) {
            Issue.record("a signal is a failure")
        }
    }
}

/// A start the host can never allow (`isolation: network` where namespaces are not permitted)
/// is held with its reason until the spec changes, whatever the restart policy.
@Suite struct PermanentStartFailureTests {
    @Test func theGateHoldsAPermanentFailureForGood() {
        let gate = RestartGate(policy: RestartGateTests.policy, seed: 42)
        let refused = PastExit(
            at: .seconds(1), readyFor: .zero, code: nil, permanentReason: "spawn failed: isolation: network is not possible")
        let decision = gate.decide(history: [refused], now: .seconds(100_000))
        #expect(decision == .done(reason: "spawn failed: isolation: network is not possible"))
    }

    @Test func thePlannerShowsTheReasonAndStartsNothingUntilTheSpecChanges() {
        let desired = World.desired(["iso": "isolation: network"], enabled: ["iso"])
        guard let spec = desired.servers["iso"] else {
            Issue.record("no spec")
            return
        }
        var record = World.exit(spec, at: 1, code: nil)
        record.status = nil
        record.reason = "spawn failed: isolation: network is not possible on this host: unshare(CLONE_NEWNET): Operation not permitted"
        record.permanent = true
        let plan = Planner.plan(
            desired: desired, actual: World.actual([], history: [record]), now: .seconds(100_000),
            rollout: RolloutPolicy(maxUnavailablePercent: 25))
        #expect(plan.actions.isEmpty)
        #expect(plan.holds["iso"] == .finished(reason: record.reason))
        #expect(plan.holds["iso"]?.description.hasPrefix("not restarted: spawn failed: isolation: network is not possible") == true)
        // Once the manifest no longer asks for isolation, the old refusal does not hold it.
        let changed = World.desired(["iso": ""], enabled: ["iso"])
        let after = Planner.plan(
            desired: changed, actual: World.actual([], history: [record]), now: .seconds(100_000),
            rollout: RolloutPolicy(maxUnavailablePercent: 25))
        #expect(after.actions.map(\.description) == ["+ spawn iso (not running)"])
    }
}
