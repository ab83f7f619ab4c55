import Actual
import Desired

/// How many servers may be changed at once (DESIGN.md's mass-change row).
public struct RolloutPolicy: Sendable, Hashable {
    /// At most this share of the desired servers may be mid-replacement at once (at least one).
    public var maxUnavailablePercent: Int

    public init(maxUnavailablePercent: Int = 25) {
        self.maxUnavailablePercent = maxUnavailablePercent
    }

    func limit(desired: Int) -> Int { max(1, desired * maxUnavailablePercent / 100) }
}

/// The reconciler's pure core: what to do to make `actual` equal `desired` at `now`.
public enum Planner {
    /// Computes the plan from scratch; it carries no memory between calls (level-triggered: an
    /// event only says *when* to plan again, never *what* to do).
    ///
    /// Per server, in name order:
    /// - **Desired, no live process**: the restart gate decides over the exits of the *current*
    ///   spec (a changed spec resets backoff and lifts quarantine): `spawn`, or a `Hold`
    ///   (backoff, quarantine, restart policy).
    /// - **Desired, one live process**: a different `processHash`, or `unhealthy` → `replace`
    ///   (new process first; the old one is stopped by a later plan once the new one is ready),
    ///   when the restart gate allows a start for the current spec, else a `Hold` (an unhealthy
    ///   process under quarantine is stopped; a serving one keeps serving). Only a different
    ///   `policyHash` → `update` in place. `starting` or `ready` with equal hashes → nothing.
    ///   Replacements are limited to `rollout.maxUnavailablePercent` of the desired servers at
    ///   once; the rest are `queued`.
    /// - **Desired, several live processes** (a replacement in flight): once the newest is
    ///   `ready`, `stop` the older ones (an unhealthy one counts as a failure); if the newest
    ///   is `unhealthy`, `stop` it as a failure and keep the old one; while it is `starting`,
    ///   wait. Then the newest is treated as the single process above, so a spec that changed
    ///   again mid-replacement is replaced (or updated) in the same plan.
    /// - **Not desired** (removed, disabled, skipped for a missing variable or an invalid value):
    ///   `stop` every live process, with the skip reason.
    ///
    /// Processes already `draining` are being stopped and are left alone. The same inputs
    /// always give the same plan; applying a plan and planning again gives an empty plan (once
    /// the actions took effect); no action names a server that is neither desired nor running.
    ///
    /// `replacing` names servers whose `replace` was issued but whose new process is not in
    /// `actual` yet (the executor is waiting for a spawn token): they count against the
    /// rollout limit too, so a plan made meanwhile cannot overshoot it.
    public static func plan(
        desired: DesiredState, actual: ActualState, now: Duration, rollout: RolloutPolicy = RolloutPolicy(),
        replacing issued: Set<String> = []
    ) -> Plan {
        var plan = Plan()
        let names = Set(desired.servers.keys).union(actual.servers.filter { !$0.value.instances.isEmpty }.keys).sorted()
        func midReplacement(_ name: String) -> Bool {
            (actual.servers[name]?.instances.filter { $0.phase != .draining }.count ?? 0) > 1
        }
        // Replacements in flight among desired servers: more than one live process, or issued
        // and not started yet.
        var replacing = desired.servers.keys.filter { midReplacement($0) || issued.contains($0) }.count
        let limit = rollout.limit(desired: desired.servers.count)
        for name in names {
            let server = actual.servers[name]
            let live = (server?.instances ?? []).filter { $0.phase != .draining && $0.phase != .stopped }.sorted { $0.id < $1.id }
            guard let spec = desired.servers[name] else {
                let why = desired.skipped[name].map { "\($0)" } ?? "removed"
                for instance in live { plan.actions.append(Action(.stop(instance.id, isFailure: false), server: name, reason: why)) }
                continue
            }
            let gate = RestartGate(policy: spec.policies.restart, seed: seed(name))
            let history = (server?.history ?? []).filter { $0.processHash == spec.processHash }.map { record in
                PastExit(
                    at: record.clock, readyFor: record.readyFor, code: record.status?.code, requested: !record.isFailure,
                    permanentReason: record.permanent ? record.reason : nil)
            }
            guard var newest = live.last else {
                switch gate.decide(history: history, now: now) {
                case .startNow(let reason):
                    let why = history.isEmpty ? (server == nil ? "new server" : "not running") : reason
                    plan.actions.append(Action(.spawn(spec), server: name, reason: why))
                case .wait(let until, let reason): plan.holds[name] = .backoff(until: until, reason: reason)
                case .quarantined(let until, let reason): plan.holds[name] = .quarantined(until: until, reason: reason)
                case .done(let reason): plan.holds[name] = .finished(reason: reason)
                }
                continue
            }
            // A server mid-replacement is already counted against the rollout limit.
            let inFlight = live.count > 1 || issued.contains(name)
            // A replacement of the current spec just failed: no new attempt in this plan.
            var pausing = false
            if live.count > 1 {
                if newest.phase == .ready {
                    for old in live.dropLast() {
                        plan.actions.append(
                            Action(.stop(old.id, isFailure: old.phase == .unhealthy), server: name, reason: "replaced by \(newest.id)"))
                    }
                } else {
                    // Replacements that never became healthy: drop them and keep the oldest
                    // serving. The failures count, so the restart gate paces the next attempt
                    // (and a new spec that cannot start ends in quarantine).
                    let failed = live.dropFirst().filter { $0.phase == .unhealthy }
                    for attempt in failed {
                        let why = "replacement failed: \(attempt.reason ?? "not ready")"
                        plan.actions.append(Action(.stop(attempt.id, isFailure: true), server: name, reason: why))
                    }
                    // A failure of the current spec: the next plan's gate decides when to retry.
                    pausing = failed.contains { $0.spec.processHash == spec.processHash }
                    let remaining = live.filter { instance in !failed.contains { $0.id == instance.id } }
                    newest = remaining.last ?? newest
                    // A replacement still starting: wait for it, unless the spec has moved on.
                    if !pausing, remaining.count > 1, newest.spec.processHash == spec.processHash { continue }
                }
                // The newest now stands for the server: it may itself need a replace or update.
            }
            var reason: String?
            if newest.spec.processHash != spec.processHash {
                let changes = SpecDiff.process(from: newest.spec, to: spec)
                reason = changes.isEmpty ? "spec changed" : changes.joined(separator: ", ")
            } else if newest.phase == .unhealthy {
                reason = "unhealthy: \(newest.reason ?? "health checks failed")"
            }
            guard let reason else {
                if newest.spec.policyHash != spec.policyHash {
                    let changes = SpecDiff.policies(from: newest.spec, to: spec)
                    let why = changes.isEmpty ? "policies changed" : changes.joined(separator: ", ")
                    plan.actions.append(Action(.update(newest.id, to: spec), server: name, reason: why))
                }
                continue
            }
            if pausing { continue }
            switch gate.decide(history: history, now: now) {
            case .startNow:
                if !inFlight {
                    guard replacing < limit else {
                        plan.holds[name] = .queued(reason: "\(replacing) of at most \(limit) servers are being replaced; then: \(reason)")
                        continue
                    }
                    replacing += 1
                }
                plan.actions.append(Action(.replace(newest.id, with: spec), server: name, reason: reason))
            case .wait(let until, let why):
                plan.holds[name] = .backoff(until: until, reason: why)
            case .quarantined(let until, let why):
                plan.holds[name] = .quarantined(until: until, reason: why)
                // A process that serves keeps serving; one that does not is stopped.
                if newest.phase == .unhealthy {
                    plan.actions.append(Action(.stop(newest.id, isFailure: false), server: name, reason: "quarantined: \(why)"))
                }
            case .done(let why):
                plan.holds[name] = .finished(reason: why)
            }
        }
        return plan
    }

    /// A stable per-server seed for backoff jitter (FNV-1a of the name).
    static func seed(_ name: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in name.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01B3
        }
        return hash
    }
}
