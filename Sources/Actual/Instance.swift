import Desired
import Foundation

/// One process of a server, as the supervisor tracks it. Confined to the `Supervisor` actor.
final class Instance {
    let id: InstanceID
    var spec: ServerSpec
    let startedAt: Date
    let startedClock: Duration
    private(set) var phase = InstancePhase.starting
    private(set) var since: Date
    /// When the current stretch of `ready` began (monotonic), nil when not ready.
    private(set) var readySince: Duration?
    var reason: String?
    var child: ChildProcess?
    /// The stdio session of a `transport: stdio` process (closed when it ends).
    var session: StdioSession?
    /// What MCP travels over: the stdio session, or HTTP for `transport: http`.
    var channel: (any MCPChannel)?
    var client: MCPClient?
    var identity: ServerIdentity?
    var toolCount: Int?
    /// Health-check results, written by the prober (possibly on the I/O loop thread).
    let probes: ProbeStatus
    /// The `StdioProber` watch of a stdio process, once it is ready.
    var proberKey: UInt64?
    /// Ending: a stop is under way, or the process exited and is being cleaned up.
    var stopping = false
    var task: Task<Void, Never>?
    /// Set once the spawn attempt is over (either way).
    let launched = OneShot<Void>()
    /// Set with the exit record when the instance is gone.
    let ended = OneShot<ExitRecord>()

    init(id: InstanceID, spec: ServerSpec, now: Date, clock: Duration) {
        self.id = id
        self.spec = spec
        startedAt = now
        startedClock = clock
        since = now
        probes = ProbeStatus(failureThreshold: spec.policies.health.failureThreshold)
    }

    func enter(_ phase: InstancePhase, reason: String?, clock: Duration) {
        if phase != self.phase { since = Date() }
        if phase == .ready, self.phase != .ready { readySince = clock }
        // A draining process still serves what it has in flight: its ready stretch (recorded in
        // its exit record) ends with the process, not when the stop began.
        if phase != .ready, phase != .draining { readySince = nil }
        self.phase = phase
        self.reason = reason
    }

    func snapshot(withStats: Bool) -> InstanceSnapshot {
        InstanceSnapshot(
            id: id, spec: spec, phase: phase, pid: child?.pid, processHash: spec.processHash, policyHash: spec.policyHash, since: since,
            startedAt: startedAt, reason: reason, identity: identity, toolCount: toolCount, lastProbe: probes.last,
            consecutiveFailures: probes.consecutiveFailures, protocolErrors: channel?.protocolErrors ?? 0,
            stats: withStats ? child.flatMap { ProcessStats.read(pid: $0.pid) } : nil)
    }
}
