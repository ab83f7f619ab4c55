import Actual
import Desired
import Testing

@testable import Reconciler

/// `controller diff`'s view of a plan: only changes by default, every server with `all`, and a
/// summary line that counts.
@Suite struct PlanReportTests {
    private func report(_ desired: DesiredState, _ actual: ActualState) -> PlanReport {
        PlanReport(desired: desired, actual: actual, plan: Planner.plan(desired: desired, actual: actual, now: .seconds(1000)))
    }

    @Test func aSteadyFleetHasNoChangesAndCountsWhatIsSkipped() {
        let desired = World.desired(
            ["time": "", "off": "", "needs": "secrets: [NEEDS_TOKEN]"], enabled: ["time", "needs"])
        let report = report(desired, World.actual([World.instance(desired.servers["time"]!)]))
        #expect(report.changes.isEmpty)
        #expect(report.summary == "no changes; 1 disabled, 1 missing variables")
        #expect(report.lines(all: false) == ["no changes; 1 disabled, 1 missing variables"])
        #expect(
            report.lines(all: true) == [
                "  needs (skipped: missing NEEDS_TOKEN)", "  off (skipped: disabled)", "  time (unchanged: ready)",
                "no changes; 1 disabled, 1 missing variables",
            ])
    }

    @Test func everyKindOfChangeIsListedAndCounted() {
        let old = World.spec("moved")
        let policy = World.spec("tuned", "limits: { rps: 10, burst: 20 }")
        let gone = World.spec("gone")
        let desired = World.desired(
            ["fresh": "", "moved": "command: [mcp-demo, --era, legacy]", "tuned": "limits: { rps: 20, burst: 20 }", "gone": ""],
            enabled: ["fresh", "moved", "tuned"])
        let actual = World.actual([World.instance(old), World.instance(policy), World.instance(gone)])
        let report = report(desired, actual)
        #expect(
            report.lines(all: false) == [
                "+ start fresh (new server)", "- stop gone (disabled)", "~ replace moved (command changed)",
                "~ update tuned (limits.rps 10 → 20)", "1 to start, 1 to replace, 1 to update, 1 to stop",
            ])
        #expect(report.changes.map(\.instance) == [nil, "gone#1", "moved#1", "tuned#1"])
        // The stopped server is a change, not also a skipped one.
        #expect(report.others.isEmpty)
    }

    @Test func aHeldServerIsUnchangedWithItsHold() {
        let spec = World.spec("flaky")
        let desired = World.desired(["flaky": ""], enabled: ["flaky"])
        let actual = World.actual([], history: [World.exit(spec, at: 1000)])
        let report = report(desired, actual)
        #expect(report.changes.isEmpty)
        #expect(report.others.first?.kind == "unchanged")
        #expect(report.others.first?.detail.hasPrefix("backoff: ") == true)
    }
}
