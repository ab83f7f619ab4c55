import Actual
import Desired
import Testing

@testable import Reconciler

@Suite struct PlannerTests {
    private func plan(_ desired: DesiredState, _ actual: ActualState, now: Duration = .seconds(1000), rollout: Int = 25) -> Plan {
        Planner.plan(desired: desired, actual: actual, now: now, rollout: RolloutPolicy(maxUnavailablePercent: rollout))
    }

    private func lines(_ plan: Plan) -> [String] { plan.actions.map(\.description) }

    @Test func aNewlyEnabledServerIsSpawned() {
        let desired = World.desired(["time": ""], enabled: ["time"])
        #expect(lines(plan(desired, ActualState())) == ["+ spawn time (new server)"])
    }

    @Test func aServerRunningItsSpecNeedsNothing() {
        let desired = World.desired(["time": ""], enabled: ["time"])
        let actual = World.actual([World.instance(desired.servers["time"]!, 1, .ready)])
        #expect(plan(desired, actual).isEmpty)
        let starting = World.actual([World.instance(desired.servers["time"]!, 1, .starting)])
        #expect(plan(desired, starting).isEmpty)
    }

    @Test(arguments: [
        ("command: [mcp-demo, --era, legacy]", "command changed"),
        ("env: { MODE: slow }", "env MODE added"),
        ("cwd: /tmp", "cwd changed"),
        ("isolation: network", "isolation none → network"),
    ])
    func aProcessChangeIsAReplace(extra: String, reason: String) {
        let old = World.spec("time")
        let desired = World.desired(["time": extra], enabled: ["time"])
        #expect(lines(plan(desired, World.actual([World.instance(old)]))) == ["~ replace time#1 (\(reason))"])
    }

    @Test func aPolicyChangeIsAnUpdateInPlaceWithValues() {
        let old = World.spec("time", "limits: { rps: 10, burst: 20 }")
        let desired = World.desired(["time": "limits: { rps: 20, burst: 20 }\nhealth: { interval: 30s }"], enabled: ["time"])
        let plan = plan(desired, World.actual([World.instance(old)]))
        #expect(lines(plan) == ["~ update time#1 (limits.rps 10 → 20, health.interval 15s → 30s)"])
    }

    @Test func anUnhealthyProcessIsReplaced() {
        let spec = World.spec("time")
        let desired = World.desired(["time": ""], enabled: ["time"])
        let actual = World.actual([World.instance(spec, 3, .unhealthy, reason: "2 health checks failed in a row")])
        #expect(lines(plan(desired, actual)) == ["~ replace time#3 (unhealthy: 2 health checks failed in a row)"])
    }

    @Test func aReplacementStopsTheOldOneOnlyOnceTheNewOneIsReady() {
        let old = World.spec("time")
        let new = World.spec("time", "command: [mcp-demo, --era, legacy]")
        let desired = World.desired(["time": "command: [mcp-demo, --era, legacy]"], enabled: ["time"])
        #expect(plan(desired, World.actual([World.instance(old, 1), World.instance(new, 2, .starting)])).isEmpty)
        let ready = plan(desired, World.actual([World.instance(old, 1), World.instance(new, 2, .ready)]))
        #expect(
            ready.actions == [
                Action(.stop(InstanceID(name: "time", number: 1), isFailure: false), server: "time", reason: "replaced by time#2")
            ])
        let failed = plan(desired, World.actual([World.instance(old, 1), World.instance(new, 2, .unhealthy, reason: "no handshake")]))
        #expect(
            failed.actions == [
                Action(
                    .stop(InstanceID(name: "time", number: 2), isFailure: true), server: "time", reason: "replacement failed: no handshake")
            ])
    }

    @Test func serversNoLongerDesiredAreStoppedWithTheReason() {
        let spec = World.spec("time")
        let actual = World.actual([World.instance(spec)])
        #expect(lines(plan(World.desired(["time": ""], enabled: []), actual)) == ["- stop time#1 (disabled)"])
        #expect(lines(plan(World.desired([:], enabled: []), actual)) == ["- stop time#1 (removed)"])
        let needsToken = World.desired(["time": "env: { TOKEN: \"${TIME_TOKEN}\" }\nsecrets: [TIME_TOKEN]"], enabled: ["time"])
        #expect(lines(plan(needsToken, actual)) == ["- stop time#1 (missing TIME_TOKEN)"])
    }

    @Test func drainingProcessesAreLeftAlone() {
        let spec = World.spec("time")
        #expect(plan(World.desired([:], enabled: []), World.actual([World.instance(spec, 1, .draining)])).isEmpty)
        let desired = World.desired(["time": ""], enabled: ["time"])
        let plan = plan(desired, World.actual([World.instance(spec, 1, .draining)]))
        #expect(lines(plan) == ["+ spawn time (not running)"])
    }

    @Test func anExitedServerBacksOffThenRestarts() throws {
        let desired = World.desired(["time": ""], enabled: ["time"])
        let spec = try #require(desired.servers["time"])
        let actual = World.actual([], history: [World.exit(spec, at: 1000)])
        let waiting = plan(desired, actual, now: .seconds(1000))
        #expect(waiting.isEmpty)
        guard case .backoff(let until, _) = waiting.holds["time"] else {
            Issue.record("expected a backoff hold")
            return
        }
        #expect(waiting.nextWake == until)
        let restart = plan(desired, actual, now: until)
        #expect(restart.actions.count == 1)
        #expect(restart.actions.first?.description.hasPrefix("+ spawn time (restart after exit 1, attempt 1 (backoff ") == true)
    }

    @Test func aCrashLoopIsQuarantinedAndAChangedSpecLiftsIt() throws {
        let desired = World.desired(["time": ""], enabled: ["time"])
        let spec = try #require(desired.servers["time"])
        let crashes = (0..<6).map { World.exit(spec, at: 990 + Int64($0), number: $0 + 1) }
        let quarantined = plan(desired, World.actual([], history: crashes))
        #expect(quarantined.isEmpty)
        guard case .quarantined = quarantined.holds["time"] else {
            Issue.record("expected quarantine")
            return
        }
        // The same crash loop, but the spec has changed since: a fresh start.
        let changed = World.desired(["time": "command: [mcp-demo, --era, modern]"], enabled: ["time"])
        #expect(lines(plan(changed, World.actual([], history: crashes))) == ["+ spawn time (not running)"])
    }

    @Test func anUnhealthyProcessUnderQuarantineIsStoppedAndAServingOneKept() throws {
        let desired = World.desired(["time": ""], enabled: ["time"])
        let spec = try #require(desired.servers["time"])
        let crashes = (0..<6).map { World.exit(spec, at: 990 + Int64($0), number: $0 + 1) }
        let unhealthy = plan(desired, World.actual([World.instance(spec, 7, .unhealthy)], history: crashes))
        #expect(lines(unhealthy).first?.hasPrefix("- stop time#7 (quarantined: 6 exits within 1m") == true)
        let newSpec = World.desired(["time": "command: [mcp-demo, --x]"], enabled: ["time"])
        let newCrashes = (0..<6).map { World.exit(newSpec.servers["time"]!, at: 990 + Int64($0), number: $0 + 1) }
        let serving = plan(newSpec, World.actual([World.instance(spec, 7, .ready)], history: newCrashes))
        #expect(serving.isEmpty)
        guard case .quarantined = serving.holds["time"] else {
            Issue.record("expected quarantine of the new spec")
            return
        }
    }

    /// A change to a shared default touches every server: at most 25% are replaced at once.
    @Test func aMassChangeReplacesAtMostAQuarterAtOnce() {
        let names = (1...8).map { "s\($0)" }
        let old = names.map { World.instance(World.spec($0)) }
        let desired = World.desired(Dictionary(uniqueKeysWithValues: names.map { ($0, "cwd: /srv") }), enabled: Set(names))
        let plan = plan(desired, World.actual(old))
        #expect(plan.actions.count == 2)
        #expect(plan.holds.values.filter { if case .queued = $0 { true } else { false } }.count == 6)
    }

    /// Replacements the executor issued but has not started (waiting for a spawn token) are not
    /// in `actual` yet: they still count against the limit, so a plan made meanwhile does not
    /// start two more.
    @Test func issuedReplacementsCountAgainstTheLimitBeforeTheyStart() {
        let names = (1...8).map { "s\($0)" }
        let old = names.map { World.instance(World.spec($0)) }
        let desired = World.desired(Dictionary(uniqueKeysWithValues: names.map { ($0, "cwd: /srv") }), enabled: Set(names))
        // s8's replace was issued by an earlier plan and waits for its token; the limit is 2.
        let plan = Planner.plan(desired: desired, actual: World.actual(old), now: .seconds(1000), replacing: ["s8"])
        // One more (s1), and s8 again (the executor skips what is in flight): 2 at once, not 3.
        #expect(Set(plan.actions.map(\.server)) == ["s1", "s8"])
        #expect(plan.holds.values.filter { if case .queued = $0 { true } else { false } }.count == 6)
    }
}
