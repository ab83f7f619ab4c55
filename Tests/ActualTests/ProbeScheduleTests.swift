import Testing

@testable import Actual

/// The timing rules of health checks, with time as plain numbers (a fake clock).
@Suite struct ProbeScheduleTests {
    typealias Schedule = ProbeSchedule<String>
    let every10s = Schedule.Timing(interval: .seconds(10), timeout: .seconds(2))

    func at(_ seconds: Double) -> Duration { .milliseconds(Int(seconds * 1000)) }

    @Test func theFirstProbeIsDueOneIntervalAfterTheHandshake() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        #expect(schedule.nextDeadline() == at(10))
        #expect(schedule.due(now: at(9.999)).isEmpty)
        #expect(schedule.due(now: at(10)) == [.probe("a")])
        // Handed out once: not due again until reported.
        #expect(schedule.due(now: at(11)).isEmpty)
        #expect(schedule.nextDeadline() == nil)
    }

    /// Probes that fall due within a sixteenth of their interval (and the slack) share one
    /// wake-up; none is sent earlier than that, and a timeout is never early.
    @Test func probesDueCloseTogetherShareAWakeUpButNeverComeMoreThanASixteenthEarly() {
        var schedule = Schedule()
        let every16s = Schedule.Timing(interval: .seconds(16), timeout: .seconds(2))
        for (key, start) in [("a", 0.0), ("b", 0.5), ("c", 0.999), ("d", 1.1)] { schedule.add(key, timing: every16s, now: at(start)) }
        // At 16 s, a 1 s slack lets a, b and c (due by 17 s) go together; d is due after that.
        #expect(schedule.due(now: at(16), slack: .seconds(1)) == [.probe("a"), .probe("b"), .probe("c")])
        // A 10 s interval allows 625 ms early at most, whatever the slack.
        var short = Schedule()
        short.add("x", timing: every10s, now: at(0))
        short.add("y", timing: every10s, now: at(0.7))
        #expect(short.due(now: at(10), slack: .seconds(1)) == [.probe("x")])
        #expect(short.due(now: at(10.075), slack: .seconds(1)) == [.probe("y")])
        // Timeouts wait for their deadline even with a slack.
        short.sent("x", request: 1, now: at(10))
        #expect(short.due(now: at(11.9), slack: .seconds(1)).isEmpty)
        #expect(short.due(now: at(12), slack: .seconds(1)) == [.timeout("x", request: 1)])
    }

    @Test func theNextProbeIsDueOneIntervalAfterTheLastOneCompleted() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        _ = schedule.due(now: at(10))
        schedule.sent("a", request: 7, now: at(10))
        #expect(schedule.nextDeadline() == at(12))
        #expect(schedule.completed("a", request: 7, now: at(10.5)) == at(0.5))
        #expect(schedule.nextDeadline() == at(20.5))
        #expect(schedule.due(now: at(20.5)) == [.probe("a")])
    }

    @Test func aProbeWithoutAnAnswerTimesOutAndALateAnswerIsNotCounted() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        _ = schedule.due(now: at(10))
        schedule.sent("a", request: 1, now: at(10))
        #expect(schedule.due(now: at(11.9)).isEmpty)
        #expect(schedule.due(now: at(12)) == [.timeout("a", request: 1)])
        #expect(schedule.completed("a", request: 1, now: at(12)) == at(2))
        // The answer to request 1 arrives after the timeout: not the probe in flight.
        #expect(schedule.completed("a", request: 1, now: at(12.5)) == nil)
        #expect(schedule.nextDeadline() == at(22))
        // A wrong request id never completes the probe in flight.
        _ = schedule.due(now: at(22))
        schedule.sent("a", request: 2, now: at(22))
        #expect(schedule.completed("a", request: 1, now: at(22.1)) == nil)
        #expect(schedule.completed("a", request: 2, now: at(22.2)) == at(0.2))
    }

    @Test func aProbeThatCouldNotBeSentIsTriedAgainAnIntervalLater() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        _ = schedule.due(now: at(10))
        schedule.skipped("a", now: at(10))
        #expect(schedule.nextDeadline() == at(20))
    }

    @Test func probesDueWithinTheSlackShareOneWakeUpInDeadlineOrder() {
        var schedule = Schedule()
        schedule.add("late", timing: every10s, now: at(0.004))
        schedule.add("early", timing: every10s, now: at(0))
        schedule.add("far", timing: every10s, now: at(3))
        #expect(schedule.due(now: at(10), slack: .milliseconds(5)) == [.probe("early"), .probe("late")])
        #expect(schedule.nextDeadline() == at(13))
    }

    @Test func removedAndUpdatedEntriesLeaveNoStaleDeadlines() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        schedule.add("b", timing: every10s, now: at(1))
        schedule.remove("a")
        #expect(schedule.nextDeadline() == at(11))
        #expect(!schedule.contains("a") && schedule.count == 1)
        // A shorter interval applies at once to the waiting probe.
        schedule.update("b", timing: Schedule.Timing(interval: .seconds(2), timeout: .seconds(1)))
        #expect(schedule.nextDeadline() == at(3))
        #expect(schedule.due(now: at(20)) == [.probe("b")])
        // Removed and added again: the old deadline does not come back.
        schedule.remove("b")
        schedule.add("b", timing: every10s, now: at(20))
        #expect(schedule.due(now: at(29)).isEmpty)
        #expect(schedule.due(now: at(30)) == [.probe("b")])
        // Reports about unknown keys change nothing.
        schedule.sent("zzz", request: 1, now: at(30))
        schedule.skipped("zzz", now: at(30))
        #expect(schedule.completed("zzz", request: 1, now: at(30)) == nil)
    }

    @Test func manyUpdatesKeepTheHeapBounded() {
        var schedule = Schedule()
        for index in 0..<10 { schedule.add("s\(index)", timing: every10s, now: at(0)) }
        for round in 1...1000 {
            let interval = Duration.seconds(100 + round)
            schedule.update("s\(round % 10)", timing: Schedule.Timing(interval: interval, timeout: .seconds(1)))
        }
        #expect(schedule.heapCount <= 4 * schedule.count + 64)
        // Every entry is still due exactly once, at its own latest deadline.
        let due = schedule.due(now: at(2000))
        #expect(due.count == 10)
        #expect(Set(due) == Set((0..<10).map { Schedule.Due.probe("s\($0)") }))
    }

    @Test func aHeapOfManyEntriesHandsThemOutInDeadlineOrder() {
        var schedule = Schedule()
        // Deterministic shuffle of 200 start times.
        let starts = (0..<200).map { ($0 * 7919) % 200 }
        for start in starts { schedule.add("s\(start)", timing: every10s, now: .milliseconds(start)) }
        var order: [String] = []
        var now = Duration.seconds(10)
        while order.count < 200, now < .seconds(11) {
            for case .probe(let key) in schedule.due(now: now) { order.append(key) }
            now += .milliseconds(1)
        }
        #expect(order == (0..<200).map { "s\($0)" })
    }

    /// A handed-out probe stays parked until reported, even when its policy changes meanwhile.
    @Test func anUpdateDoesNotHandOutAParkedProbeTwice() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        #expect(schedule.due(now: at(10)) == [.probe("a")])
        schedule.update("a", timing: Schedule.Timing(interval: .seconds(1), timeout: .seconds(1)))
        #expect(schedule.due(now: at(50)).isEmpty)
        schedule.sent("a", request: 1, now: at(50))
        #expect(schedule.nextDeadline() == at(51))
    }

    /// The slack lets probes share a wake-up; a timeout is a verdict and is never declared early.
    @Test func timeoutsIgnoreTheSlack() {
        var schedule = Schedule()
        schedule.add("a", timing: every10s, now: at(0))
        _ = schedule.due(now: at(10))
        schedule.sent("a", request: 1, now: at(10))
        #expect(schedule.due(now: at(11.998), slack: .milliseconds(5)).isEmpty)
        #expect(schedule.due(now: at(12), slack: .milliseconds(5)) == [.timeout("a", request: 1)])
    }
}
