import Actual
import Desired
import Testing

@testable import Reconciler

/// Which actions may begin while the start window is full.
@Suite struct StartWindowTests {
    private func actions(_ desired: DesiredState, _ actual: ActualState) -> [Action] {
        Planner.plan(desired: desired, actual: actual, now: .seconds(1000)).actions
    }

    @Test func startsFillTheWindowInPlanOrderAndTheRestWait() {
        let desired = World.desired(["a": "", "b": "", "c": "", "d": ""], enabled: ["a", "b", "c", "d"])
        let plan = actions(desired, ActualState())
        let (admitted, waiting) = StartWindow.admit(plan, busy: [], starting: 1, window: 3)
        #expect(admitted.map(\.server) == ["a", "b"])
        #expect(waiting == 2)
        let full = StartWindow.admit(plan, busy: [], starting: 3, window: 3)
        #expect(full.admitted.isEmpty && full.waiting == 4)
    }

    @Test func stopsAndUpdatesNeverWaitAndBusyServersAreSkipped() {
        let tuned = World.spec("tuned", "limits: { rps: 10, burst: 20 }")
        let gone = World.spec("gone")
        let desired = World.desired(
            ["new": "", "tuned": "limits: { rps: 20, burst: 20 }", "gone": "", "other": ""], enabled: ["new", "tuned", "other"])
        let plan = actions(desired, World.actual([World.instance(tuned), World.instance(gone)]))
        #expect(plan.map(\.server) == ["gone", "new", "other", "tuned"])
        let (admitted, waiting) = StartWindow.admit(plan, busy: ["other"], starting: 8, window: 8)
        #expect(admitted.map(\.server) == ["gone", "tuned"])
        #expect(waiting == 1)
    }

    @Test func aReplacementIsAStart() {
        let old = World.spec("moved")
        let desired = World.desired(["moved": "command: [mcp-demo, --era, legacy]"], enabled: ["moved"])
        let plan = actions(desired, World.actual([World.instance(old)]))
        #expect(plan.first?.startsAProcess == true)
        #expect(StartWindow.admit(plan, busy: [], starting: 2, window: 2).waiting == 1)
    }
}
