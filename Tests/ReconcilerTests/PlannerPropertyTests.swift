import Desired
import Foundation
import Testing

@testable import Actual
@testable import Reconciler

/// Random desired and actual states: the planner's contract must hold for all of them.
@Suite struct PlannerPropertyTests {
    static let names = ["alpha", "beta", "gamma", "delta", "epsilon"]
    /// Per name, four specs: two commands × two rps values (process and policy variants).
    static let variants: [String: [String]] = Dictionary(
        uniqueKeysWithValues: names.map { name in
            (
                name,
                ["", "command: [mcp-demo, --era, legacy]"].flatMap { command in
                    ["limits: { rps: 5, burst: 10 }", "limits: { rps: 9, burst: 10 }"].map { command.isEmpty ? $0 : command + "\n" + $0 }
                }
            )
        })
    /// Every variant's spec, built once (YAML parsing is the slow part of a round).
    static let specs: [String: [ServerSpec]] = Dictionary(
        uniqueKeysWithValues: names.map { name in (name, variants[name]!.map { World.spec(name, $0) }) })

    private func spec(_ name: String, _ variant: Int) -> ServerSpec { Self.specs[name]![variant] }

    private func randomWorld(_ rng: inout SplitMix64) -> (DesiredState, ActualState) {
        var manifests: [String: String] = [:]
        var enabled: Set<String> = []
        for name in Self.names where Bool.random(using: &rng) {
            manifests[name] = Self.variants[name]![Int.random(in: 0..<4, using: &rng)]
            if Bool.random(using: &rng) { enabled.insert(name) }
        }
        let desired = World.desired(manifests, enabled: enabled)
        var instances: [InstanceSnapshot] = []
        var history: [ExitRecord] = []
        let phases: [InstancePhase] = [.starting, .ready, .ready, .unhealthy, .draining]
        for name in Self.names {
            for number in 1...Int.random(in: 1...3, using: &rng) where Int.random(in: 0..<3, using: &rng) == 0 {
                let spec = spec(name, Int.random(in: 0..<4, using: &rng))
                instances.append(World.instance(spec, number, phases.randomElement(using: &rng)!))
            }
            for index in 0..<Int.random(in: 0...7, using: &rng) {
                let spec = spec(name, Int.random(in: 0..<4, using: &rng))
                history.append(World.exit(spec, at: 900 + Int64(index * 10), code: [0, 1, 78].randomElement(using: &rng)))
            }
        }
        return (desired, World.actual(instances, history: history))
    }

    /// What the executor would bring about. Ideally (`startsReady`): every action done and every
    /// replacement finished. Otherwise as it happens: a new process (spawned, or a replacement
    /// next to the old one, which keeps serving) is `starting`, and `advance` makes it ready.
    private func apply(_ plan: Plan, to actual: ActualState, startsReady: Bool = true, number: Int = 100) -> ActualState {
        var state = actual
        func remove(_ id: InstanceID, isFailure: Bool = false) {
            guard let instance = state.servers[id.name]?.instances.first(where: { $0.id == id }) else { return }
            state.servers[id.name]?.instances.removeAll { $0.id == id }
            if isFailure || instance.phase == .unhealthy {
                var record = World.exit(instance.spec, at: 1000, code: nil, number: id.number)
                record.requested = true
                state.servers[id.name]?.history.append(record)
            }
        }
        for action in plan.actions {
            switch action.kind {
            case .spawn(let spec):
                state.servers[spec.name, default: ServerSnapshot(name: spec.name, instances: [], starts: [], history: [], exits: 0)]
                    .instances.append(World.instance(spec, number, startsReady ? .ready : .starting))
            case .replace(let old, let spec):
                guard startsReady else {
                    state.servers[spec.name]?.instances.append(World.instance(spec, number + 1, .starting))
                    continue
                }
                for instance in state.servers[spec.name]?.instances ?? [] where instance.phase != .draining { remove(instance.id) }
                remove(old)
                state.servers[spec.name]?.instances.append(World.instance(spec, number + 1, .ready))
            case .update(let id, let spec):
                if let index = state.servers[id.name]?.instances.firstIndex(where: { $0.id == id }) {
                    state.servers[id.name]?.instances[index].spec = spec
                    state.servers[id.name]?.instances[index].policyHash = spec.policyHash
                }
            case .stop(let id, let isFailure): remove(id, isFailure: isFailure)
            }
        }
        return state
    }

    @Test func theContractHoldsForRandomWorlds() {
        var rng = SplitMix64(state: 20_261_125)
        for round in 0..<300 {
            let (desired, actual) = randomWorld(&rng)
            let rollout = RolloutPolicy(maxUnavailablePercent: 100)
            let plan = Planner.plan(desired: desired, actual: actual, now: .seconds(1000), rollout: rollout)
            // Deterministic.
            #expect(plan == Planner.plan(desired: desired, actual: actual, now: .seconds(1000), rollout: rollout), "round \(round)")
            // Every action names a server that is desired or has a live process.
            for action in plan.actions {
                let running = !(actual.servers[action.server]?.instances.isEmpty ?? true)
                #expect(desired.servers[action.server] != nil || running, "round \(round): \(action)")
            }
            // Applying the plan, then planning again: nothing left to do.
            let after = apply(plan, to: actual)
            let again = Planner.plan(desired: desired, actual: after, now: .seconds(1000), rollout: rollout)
            #expect(again.isEmpty, "round \(round): \(plan.actions) then \(again.actions)")
        }
    }

    /// With the default rollout limit (25%, at least one), planning and applying again and
    /// again converges to an empty plan, and no single plan starts more replacements than the
    /// limit allows.
    @Test func withTheRolloutLimitPlansConvergeWithinBoundedRounds() {
        var rng = SplitMix64(state: 7)
        for round in 0..<150 {
            let (desired, start) = randomWorld(&rng)
            let rollout = RolloutPolicy()
            let limit = max(1, desired.servers.count * rollout.maxUnavailablePercent / 100)
            var actual = start
            var converged = false
            for _ in 0..<20 {
                let plan = Planner.plan(desired: desired, actual: actual, now: .seconds(1000), rollout: rollout)
                let replaces = plan.actions.filter { if case .replace = $0.kind { true } else { false } }.count
                #expect(replaces <= limit, "round \(round): \(replaces) replaces, limit \(limit)")
                if plan.isEmpty {
                    converged = true
                    break
                }
                actual = apply(plan, to: actual)
            }
            #expect(converged, "round \(round) did not converge")
        }
    }

    /// Time passes: every starting process completes its handshake.
    private func advance(_ actual: ActualState) -> ActualState {
        var state = actual
        for name in state.servers.keys {
            for index in state.servers[name]?.instances.indices ?? 0..<0 where state.servers[name]?.instances[index].phase == .starting {
                state.servers[name]?.instances[index].phase = .ready
            }
        }
        return state
    }

    private func replacing(_ desired: DesiredState, _ actual: ActualState) -> Int {
        desired.servers.keys.filter { (actual.servers[$0]?.instances.filter { $0.phase != .draining }.count ?? 0) > 1 }.count
    }

    /// As it happens: a replacement starts next to the old process and is ready only a round
    /// later, when a later plan stops the old one. Plans still converge, and the servers
    /// mid-replacement never exceed the limit (or what the random start already had).
    @Test func replacementsThatTakeTimeStayWithinTheLimitAndConverge() {
        var rng = SplitMix64(state: 42)
        for round in 0..<150 {
            let (desired, start) = randomWorld(&rng)
            let rollout = RolloutPolicy()
            let limit = max(1, desired.servers.count * rollout.maxUnavailablePercent / 100)
            let bound = max(limit, replacing(desired, start))
            var actual = start
            var converged = false
            for step in 0..<40 {
                let plan = Planner.plan(desired: desired, actual: actual, now: .seconds(1000), rollout: rollout)
                let starting = actual.instances.contains { $0.phase == .starting }
                if plan.isEmpty, !starting {
                    converged = true
                    break
                }
                actual = apply(plan, to: actual, startsReady: false, number: 200 + 2 * step)
                #expect(replacing(desired, actual) <= bound, "round \(round) step \(step): over the limit \(limit)")
                actual = advance(actual)
            }
            #expect(converged, "round \(round) did not converge")
        }
    }
}
