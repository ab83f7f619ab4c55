import Actual
import Desired
import Metering

/// Applies plans through the `Supervisor`, forever, until shut down.
///
/// Wake-ups (each one plans from scratch, DESIGN.md principle 1): a new desired state, any
/// supervisor event, the earliest hold's end (`Plan.nextWake`), and the periodic resync.
/// Contract:
/// - One server's actions never wait on another's: each action runs in its own task, and at
///   most one action per server is in flight (a server with one in flight is skipped until it
///   finishes, then planned again).
/// - `spawn` and `replace` begin only while fewer than `startWindow` processes are starting
///   (`StartWindow`): a process that becomes ready or fails frees a slot and wakes the executor,
///   so starts are paced by readiness and a change to a shared default does not fork 500
///   processes at once. With a `spawnRate` above 0, starts also wait for a token of that rate
///   (a cap, off by default). The planner already limits replacements to `maxUnavailablePercent`.
/// - `replace` only starts the new process; the old one is stopped by a later plan, once the
///   new one is ready.
/// - `shutdown()` stops planning and stops every process.
/// - With a `router`, traffic follows the processes: a process that becomes ready is routed
///   before the executor is woken to plan the stop of the one it replaces, and a process is
///   drained before it is stopped and retired once it has ended.
public actor Executor {
    public nonisolated let events: AsyncStream<ReconcileEvent>
    private let emitter: AsyncStream<ReconcileEvent>.Continuation
    private let supervisor: Supervisor
    private let clock: any MonotonicClock
    private var rollout: RolloutPolicy
    /// The optional rate cap (nil: none).
    private var bucket: TokenBucket?
    private var startWindow: Int
    /// Starts begun and not yet handed to the supervisor (waiting for a rate token): they hold
    /// a slot of the window before their process shows as `starting`.
    private var launching = 0
    /// Starts the last plan left for later because the window was full.
    private var waitingStarts = 0
    private var resync: Duration
    private var desired: DesiredState?
    private var generation = 0
    private var lastLoad = 0
    private var inFlight: Set<String> = []
    /// Servers whose `replace` is in flight (perhaps still waiting for a spawn token): the
    /// planner counts them against the rollout limit before their new process exists.
    private var replacing: Set<String> = []
    private var holds: [String: Hold] = [:]
    private var wake: AsyncStream<Void>.Continuation?
    private var stopped = false
    private let router: (any TrafficRouter)?

    public init(
        supervisor: Supervisor, clock: any MonotonicClock = SystemClock(), rollout: RolloutPolicy = RolloutPolicy(), startWindow: Int = 8,
        spawnRate: Int = 0, resync: Duration = .seconds(60), router: (any TrafficRouter)? = nil
    ) {
        self.supervisor = supervisor
        self.router = router
        self.clock = clock
        self.rollout = rollout
        self.resync = resync
        self.startWindow = max(1, startWindow)
        bucket = Executor.bucket(rate: spawnRate)
        (events, emitter) = AsyncStream.makeStream(of: ReconcileEvent.self)
    }

    /// The state to converge to; plans at once. `generation` counts these calls. With `load`
    /// (a counter of the caller's loads), a state older than one already applied is ignored, so
    /// reloads that race (SIGHUP, the resync and a file change at once) cannot go backwards.
    public func apply(
        _ state: DesiredState, load: Int? = nil, rollout: RolloutPolicy? = nil, startWindow: Int? = nil, spawnRate: Int? = nil,
        resync: Duration? = nil
    ) {
        if let load {
            guard load > lastLoad else { return }
            lastLoad = load
        }
        desired = state
        generation += 1
        if let rollout { self.rollout = rollout }
        if let startWindow { self.startWindow = max(1, startWindow) }
        // Only a changed rate resets the bucket: a reload must not refill it mid-rollout.
        if let spawnRate, Double(spawnRate) != (bucket?.rate ?? 0) { bucket = Executor.bucket(rate: spawnRate) }
        if let resync { self.resync = resync }
        wake?.yield()
    }

    public var currentGeneration: Int { generation }

    /// The holds of the last plan (backoff, quarantine, queued), by server.
    public var currentHolds: [String: Hold] { holds }

    /// Starts the last plan left for later because `startWindow` processes were starting.
    public var startsWaiting: Int { waitingStarts }

    /// The rate cap's bucket (burst: one second's worth), or nil for a rate of 0 (no cap).
    private static func bucket(rate: Int) -> TokenBucket? {
        rate > 0 ? TokenBucket(rate: Double(rate), burst: rate) : nil
    }

    /// The plan this executor would make for `state` now, against the processes it runs, with
    /// the rollout `state` sets: applies nothing (`controller diff --against`, a server-side
    /// dry run). Returns the actual state it planned against, for the report.
    public func dryRun(_ state: DesiredState) async -> (Plan, ActualState) {
        let actual = await supervisor.snapshot()
        let rollout = RolloutPolicy(maxUnavailablePercent: state.config.maxUnavailablePercent)
        return (Planner.plan(desired: state, actual: actual, now: clock.now, rollout: rollout, replacing: replacing), actual)
    }

    /// Runs the loop until `shutdown()`; returns then. Call once.
    public func run() async {
        let (wakes, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        self.wake = wake
        let supervisor = supervisor
        let emitter = emitter
        let router = router
        let forward = Task {
            for await event in supervisor.events {
                if let router { await Executor.follow(event, supervisor: supervisor, router: router) }
                emitter.yield(.actual(event))
                if Executor.changesThePlan(event) { wake.yield() }
            }
        }
        let ticker = Task { [resync, clock] in
            while !Task.isCancelled {
                try? await clock.sleep(for: resync)
                wake.yield()
            }
        }
        var timer: Task<Void, Never>?
        var timerAt: Duration?
        wake.yield()
        for await _ in wakes {
            if stopped { break }
            let began = ContinuousClock.now
            let next = await reconcile()
            // A pass over a thousand servers costs milliseconds, and a start storm brings an
            // event per process: after a pass that took a while, the next one waits as long
            // (at most 200 ms), so planning takes at most half a core and the events that came
            // meanwhile are planned together. This is about the CPU a pass
            // really cost, so it is measured and waited on the real clock, not `clock` (whose
            // time, fake in tests, governs backoff and the rate cap).
            let took = ContinuousClock.now - began
            if took > .milliseconds(1) { try? await Task.sleep(for: min(took, .milliseconds(200))) }
            guard let nextWake = next else { continue }
            if timerAt != nextWake {
                timer?.cancel()
                timerAt = nextWake
                let delay = max(.zero, nextWake - clock.now)
                timer = Task { [clock] in
                    try? await clock.sleep(for: delay + .milliseconds(1))
                    if !Task.isCancelled { wake.yield() }
                }
            }
        }
        timer?.cancel()
        ticker.cancel()
        forward.cancel()
    }

    /// Stops planning, then stops every process; returns when all are gone.
    public func shutdown(reason: String) async {
        stopped = true
        wake?.yield()
        await supervisor.stopAll(reason: reason)
    }

    /// One planning pass; returns when to look again for a hold's sake.
    private func reconcile() async -> Duration? {
        guard let desired, !stopped else { return nil }
        // The generation of the state this pass plans for, read with it: `apply` may run while
        // this pass waits for the supervisor, and the pass must not claim the newer one.
        let generation = generation
        let started = clock.now
        let actual = await supervisor.snapshot()
        let plan = Planner.plan(desired: desired, actual: actual, now: clock.now, rollout: rollout, replacing: replacing)
        let starting = actual.servers.values.reduce(launching) { count, server in
            count + server.instances.filter { $0.phase == .starting }.count
        }
        let (admitted, waiting) = StartWindow.admit(plan.actions, busy: inFlight, starting: starting, window: startWindow)
        waitingStarts = waiting
        for action in admitted {
            inFlight.insert(action.server)
            if case .replace = action.kind { replacing.insert(action.server) }
            if action.startsAProcess { launching += 1 }
            emitter.yield(.applying(action))
            Task { await self.perform(action) }
        }
        let begun = admitted.count
        for name in Set(holds.keys).union(plan.holds.keys).sorted() where holds[name] != plan.holds[name] {
            emitter.yield(.hold(server: name, plan.holds[name]))
        }
        holds = plan.holds
        // Servers whose manifest is gone and whose last process has ended: their history and
        // metrics go too (a server only disabled or skipped keeps its history for `/status`).
        let gone = actual.servers.filter { name, server in
            server.instances.isEmpty && desired.servers[name] == nil && desired.skipped[name] == nil && !inFlight.contains(name)
        }
        if !gone.isEmpty { await supervisor.forget(Set(gone.keys)) }
        emitter.yield(.reconciled(duration: clock.now - started, actions: begun, generation: generation))
        return plan.nextWake
    }

    private func perform(_ action: Action) async {
        switch action.kind {
        case .spawn(let spec), .replace(_, let spec):
            await pace()
            // A shutdown may have begun while this waited for its token.
            if !stopped { await supervisor.start(spec) }
            // From here the process shows as `starting` in snapshots, which hold its slot.
            launching -= 1
        case .update(let id, let spec):
            await supervisor.update(id, to: spec)
        case .stop(let id, let isFailure):
            if let router {
                // The plan may stop the old process before the new one's ready event reached
                // the router: route the newest ready successor first, so no request is refused.
                let successor = await supervisor.snapshot().servers[id.name]?.instances
                    .filter { $0.id != id && $0.phase == .ready }.map(\.id).max()
                if let successor, let upstream = await supervisor.upstream(for: successor) {
                    router.route(to: successor, channel: upstream.channel, identity: upstream.identity)
                }
                // A planned stop (a replacement, a removal) lets its requests finish first; an
                // unhealthy process is not waited for: its requests are likely stuck with it.
                await router.drain(id, reason: action.reason, wait: !isFailure)
            }
            await supervisor.stop(id, reason: action.reason, isFailure: isFailure)
        }
        inFlight.remove(action.server)
        replacing.remove(action.server)
        wake?.yield()
    }

    /// Keeps the router in step with one supervisor event.
    static func follow(_ event: ActualEvent, supervisor: Supervisor, router: any TrafficRouter) async {
        switch event {
        case .ready(let id, _, _, _):
            if let upstream = await supervisor.upstream(for: id) {
                router.route(to: id, channel: upstream.channel, identity: upstream.identity)
            }
        case .exited(let record): router.retire(record.instance, reason: record.reason)
        case .stopped(let record, _): router.retire(record.instance, reason: record.reason)
        default: break
        }
    }

    /// Whether an event can change what the planner decides (a phase or an exit). Probes,
    /// stderr lines and session notices cannot, and with hundreds of servers they are most of
    /// the traffic.
    static func changesThePlan(_ event: ActualEvent) -> Bool {
        switch event {
        case .ready, .startFailed, .unhealthy, .recovered, .exited, .stopped, .spawnFailed, .spawned: true
        case .probeFailed, .draining, .stderr, .stderrSuppressed, .session, .orphanReaped, .leftoverStopped, .escapeeKilled: false
        }
    }

    /// Waits for a token of the rate cap, if there is one.
    private func pace() async {
        while bucket != nil {
            guard let wait = bucket?.take(at: clock.now) else { return }
            guard wait > .zero else { return }
            try? await clock.sleep(for: wait)
        }
    }
}
