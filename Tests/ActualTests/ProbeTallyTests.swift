import Metering
import Testing

@testable import Actual

@Suite struct ProbeTallyTests {
    @Test func countsLatencyAndFailuresPerServerAndForgetsRemovedOnes() {
        let tally = ProbeTally()
        tally.record("a", latency: .milliseconds(3), succeeded: true)
        tally.record("a", latency: .seconds(7), succeeded: false)
        tally.record("b", latency: .milliseconds(1), succeeded: true)
        let a = tally.snapshot()["a"]
        #expect(a?.latency.count == 2)
        #expect(a?.failures == 1)
        #expect(a?.latency.counts.first == 0)  // 3 ms is above the 1 ms bucket
        #expect(a?.latency.counts[1] == 1)  // … and within 5 ms
        #expect(a?.latency.counts.last == 2)  // 7 s is within the 10 s bucket
        #expect(abs((a?.latency.sum ?? 0) - 7.003) < 1e-9)
        tally.retain(["b"])
        #expect(Set(tally.snapshot().keys) == ["b"])
    }

    /// Only failures and changes of verdict reach the supervisor; routine successes do not.
    @Test func aProbeStatusReportsOnlyWhatTheSupervisorMustActOn() {
        let status = ProbeStatus(failureThreshold: 2)
        let tally = ProbeTally()
        func probe(_ ok: Bool) -> ProbeOutcome? {
            status.conclude(
                ProbeRecord(at: .now, succeeded: ok, latency: .milliseconds(2), error: ok ? nil : "timed out"), server: "s", tally: tally)
        }
        #expect(probe(true) == nil)
        #expect(probe(false)?.transition == HealthTracker.Transition.none)
        #expect(probe(false)?.transition == .becameUnhealthy)
        #expect(status.consecutiveFailures == 2)
        #expect(probe(true)?.transition == .recovered)
        #expect(status.last?.succeeded == true)
        status.setFailureThreshold(0)
        #expect(probe(false)?.transition == .becameUnhealthy)
        #expect(tally.snapshot()["s"]?.latency.count == 5)
        #expect(tally.snapshot()["s"]?.failures == 3)
    }
}
