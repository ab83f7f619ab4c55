import Desired
import Foundation
import Glibc

/// Starts, watches and stops server processes; the single owner of everything in `Actual`.
///
/// - `start(_:)` spawns a process for a spec and returns at once; the process then goes
///   `starting` → `ready` (MCP handshake within the startup timeout) and is probed every
///   `health.interval`. Each process has its own task, so one slow server never delays another.
/// - `stop(_:reason:)` runs the stop escalation (close stdin, SIGTERM, SIGKILL to the group) and
///   returns when the whole process group is gone and reaped.
/// - Nothing here restarts anything: an exit is recorded and reported as an event, and the
///   reconciler decides what to do (DESIGN.md principle 1).
/// - `snapshot()` is a value; `events` is the stream of what happened, in order per process.
public actor Supervisor {
    /// Everything that happens, in order per process. One consumer (an `AsyncStream`): in the
    /// controller the executor, which re-publishes each event for the logs. Bounded at
    /// `SupervisorOptions.eventBuffer` events: a consumer that falls that far behind loses the
    /// oldest ones, counted in `droppedEvents` (state is level-triggered: `snapshot()` is always
    /// whole, so a dropped event loses a log line, never the truth).
    public nonisolated let events: AsyncStream<ActualEvent>
    /// Events dropped because the consumer fell `eventBuffer` events behind, since start.
    public nonisolated var droppedEvents: Int { dropped.count }
    private nonisolated let dropped = DropCounter()
    /// Health-check latency and failures per server, for metrics (read at scrape time).
    public nonisolated let probeTally = ProbeTally()
    private let emitter: EventEmitter
    private let options: SupervisorOptions
    private let clock: any MonotonicClock
    private var instances: [InstanceID: Instance] = [:]
    private var histories: [String: History] = [:]
    private var numbers: [String: Int] = [:]
    private var ledger: ProcessLedger?
    /// The pending batched write of the ledger (see `ledgerChanged`).
    private var ledgerWrite: Task<Void, Never>?
    /// Set by `stopAll`: nothing new starts afterwards.
    private var closed = false
    private var censusTask: Task<Void, Never>?

    /// What a server's past looks like.
    private struct History {
        var starts: [Date] = []
        var recent: [ExitRecord] = []
        var exits = 0
        var startCount = 0
        var restarts = 0
    }

    public init(options: SupervisorOptions, clock: any MonotonicClock = SystemClock()) {
        self.options = options
        self.clock = clock
        let (events, continuation) = AsyncStream.makeStream(
            of: ActualEvent.self, bufferingPolicy: .bufferingNewest(max(options.eventBuffer, 1)))
        let dropped = dropped
        self.events = events
        emitter = EventEmitter(continuation: continuation, dropped: dropped)
        ledger = options.stateDirectory.map { ProcessLedger(path: $0 + "/processes.json") }
        let emitter = emitter
        IOLoop.shared.addOrphanListener { pid, status in emitter.yield(.orphanReaped(pid: pid, status)) }
        // Now, not at the first handshake: its timerfd must not be the descriptor that a burst
        // of spawns leaves unavailable (a failed precondition there would stop the controller).
        // Stdio health checks run on the real clock (see `StdioProber`); `clock` drives the rest.
        _ = StdioProber.shared
    }

    /// Stops every process a previous run left behind (from the ledger: its groups, sessions
    /// and recorded escapees), then starts a fresh ledger. Call once, before starting anything.
    /// Each process is held by a pidfd from the moment its identity is checked, so a pid reused
    /// meanwhile is never signalled.
    @discardableResult
    public func reclaimLeftovers() async -> [(name: String, pids: [Int32])] {
        guard let ledger else { return [] }
        var stopped: [(name: String, pids: [Int32])] = []
        for entry in ProcessLedger.load(path: ledger.path) {
            let found = ProcessLedger.leftovers(of: entry)
            guard !found.isEmpty else { continue }
            var held = PidfdSet()
            held.adopt(found)
            held.signalAll(SIGTERM)
            // Their stdin went with the old controller: SIGTERM is the first step left, and
            // the grace before SIGKILL is the stdin grace (the controller is starting up).
            let deadline = clock.now + options.stop.stdinGrace
            while held.anyRunning, clock.now < deadline {
                try? await clock.sleep(for: .milliseconds(20))
            }
            // A member forked meanwhile is found by a second look.
            held.adopt(ProcessLedger.leftovers(of: entry))
            held.signalAll(SIGKILL)
            let pids = held.finish().map(\.pid)
            guard !pids.isEmpty else { continue }
            stopped.append((entry.name, pids))
            emitter.yield(.leftoverStopped(name: entry.name, pids: pids))
        }
        self.ledger?.reset()
        return stopped
    }

    /// Looks for escapees of every running server in one `/proc` pass, remembers them (so a stop
    /// finds them after their parents are gone) and records them in the ledger (so the next run
    /// finds them after a crash). Runs every `escapeCensusInterval`; callable at any time.
    public func takeEscapeeCensus() {
        let table = ProcessTable.scan()
        let leaders = IOLoop.shared.watchedLeaders
        let children = instances.values.compactMap { $0.child }.filter { $0.exit.value == nil }
        let known = Set(children.flatMap { $0.knownEscapees.withLock { Array($0.keys) } })
        // The usual case, no escapee anywhere: one pass instead of one per server.
        guard EscapeeFinder.anySuspect(in: table, leaders: Set(children.map(\.pid)).union(leaders), known: known) else { return }
        for instance in instances.values {
            guard let child = instance.child, child.exit.value == nil else { continue }
            let found = child.findEscapees(in: table, otherLeaders: leaders)
            ledger?.record(escapees: found, of: child.pid)
        }
        writeLedger()
    }

    /// Writes the ledger's changes within 25 ms, in one write with whatever else changes
    /// meanwhile. A leader that is not in the file yet when the controller is killed dies with it
    /// (`PR_SET_PDEATHSIG`); only a descendant forked in those first milliseconds could be left.
    private func ledgerChanged() {
        guard ledgerWrite == nil else { return }
        ledgerWrite = Task { [weak self] in
            try? await Task.sleep(for: .milliseconds(25))
            await self?.writeLedger()
        }
    }

    private func writeLedger() {
        ledgerWrite?.cancel()
        ledgerWrite = nil
        ledger?.saveIfChanged()
    }

    /// The census loop, from the first start on. It holds the supervisor only while it counts,
    /// so a supervisor nobody uses any more can go.
    private func startCensus() {
        guard censusTask == nil, let interval = options.escapeCensusInterval else { return }
        censusTask = Task { [weak self, clock] in
            while !Task.isCancelled {
                do {
                    try await clock.sleep(for: interval)
                } catch {
                    return
                }
                guard let self, await self.censusIfOpen() else { return }
            }
        }
    }

    private func censusIfOpen() -> Bool {
        guard !closed else { return false }
        takeEscapeeCensus()
        return true
    }

    /// Starts a process for `spec` and returns its id at once; how it goes is in `events` and
    /// `snapshot()`. A spawn failure is recorded as the server's last exit, never thrown.
    @discardableResult
    public func start(_ spec: ServerSpec) async -> InstanceID {
        let number = (numbers[spec.name] ?? 0) + 1
        numbers[spec.name] = number
        let id = InstanceID(name: spec.name, number: number)
        let instance = Instance(id: id, spec: spec, now: Date(), clock: clock.now)
        instances[id] = instance
        guard !closed else {
            instance.launched.fulfil(())
            _ = finish(instance, status: nil, requested: true, isFailure: false, reason: "not started: the supervisor is stopping")
            return id
        }
        startCensus()
        histories[spec.name, default: History()].starts.append(instance.startedAt)
        histories[spec.name]?.startCount += 1
        if let last = histories[spec.name]?.recent.last, !last.requested { histories[spec.name]?.restarts += 1 }
        if let count = histories[spec.name]?.starts.count, count > 32 { histories[spec.name]?.starts.removeFirst(count - 32) }
        instance.task = Task { await self.run(id) }
        return id
    }

    /// Stops one process (the full escalation) and returns how it ended; nil for an unknown id.
    /// `isFailure` marks a stop that should count against the crash-loop budget (the process
    /// was unhealthy). A stop of a process that is already ending (stopped by another caller, or
    /// exiting on its own) waits for that end and returns its record. Cancelling the caller does
    /// not cut the escalation short: it runs in a task of its own.
    @discardableResult
    public func stop(_ id: InstanceID, reason: String, isFailure: Bool = false) async -> ExitRecord? {
        guard let instance = instances[id] else { return nil }
        if instance.stopping { return await instance.ended.wait() }
        instance.stopping = true
        let escalation = Task { await self.escalate(instance, reason: reason, isFailure: isFailure) }
        return await escalation.value
    }

    private func escalate(_ instance: Instance, reason: String, isFailure: Bool) async -> ExitRecord {
        instance.task?.cancel()
        instance.enter(.draining, reason: reason, clock: clock.now)
        emitter.yield(.draining(instance.id, reason: reason))
        // A launch in flight finishes first, so its process cannot escape the stop.
        _ = await instance.launched.wait()
        var status: ExitStatus?
        var step = StopStep.alreadyExited
        if let child = instance.child {
            let escapees: [EscapeeKill]
            (status, step, escapees) = await child.stop(options.stop, clock: clock)
            report(escapees, of: instance.id)
            ledger?.remove(pid: child.pid)
            ledgerChanged()
        }
        instance.session?.close("stopped")
        let record = finish(
            instance, status: status, requested: true, isFailure: isFailure, reason: "stopped (\(reason); \(step.rawValue))")
        emitter.yield(.stopped(record, step: step))
        return record
    }

    /// Stops every process, all at once, and returns when all are gone.
    public func stopAll(reason: String) async {
        closed = true
        await withTaskGroup(of: Void.self) { group in
            for id in instances.keys { group.addTask { await self.stop(id, reason: reason) } }
        }
        writeLedger()
    }

    /// What is running now. `withStats` adds each process's CPU and RSS from `/proc` (one file
    /// read per process: for `/status` and metrics, not for every planning pass).
    public func snapshot(withStats: Bool = false) -> ActualState {
        var state = ActualState()
        for (name, history) in histories {
            state.servers[name] = ServerSnapshot(
                name: name, instances: [], starts: history.starts, history: history.recent, exits: history.exits,
                startCount: history.startCount,
                restarts: history.restarts)
        }
        for instance in instances.values.sorted(by: { $0.id < $1.id }) {
            state.servers[instance.id.name]?.instances.append(instance.snapshot(withStats: withStats))
        }
        return state
    }

    /// Forgets the history and probe series of every server in `names` that has no process left
    /// (its manifest was removed), so `/status` and metrics stop showing it. A server with a
    /// process is kept.
    public func forget(_ names: Set<String>) {
        let live = Set(instances.keys.map(\.name))
        for name in names where !live.contains(name) { histories[name] = nil }
        probeTally.retain(Set(histories.keys).union(live))
    }

    /// The MCP client of a ready process (for the gateway and for tests), nil otherwise.
    public func client(for id: InstanceID) -> MCPClient? {
        guard let instance = instances[id], instance.phase == .ready || instance.phase == .unhealthy else { return nil }
        return instance.client
    }

    /// What the gateway needs of a ready process: the channel that carries requests to it and
    /// who it said it is; nil when it is not ready (or not an MCP process).
    public func upstream(for id: InstanceID) -> (channel: any ForwardingChannel, identity: ServerIdentity)? {
        guard let instance = instances[id], instance.phase == .ready || instance.phase == .unhealthy,
            let identity = instance.identity
        else { return nil }
        if let session = instance.session { return (session, identity) }
        if let channel = instance.channel as? HTTPChannel { return (channel, identity) }
        return nil
    }

    /// Applies new policies (limits, health, restart) to a running process in place.
    public func update(_ id: InstanceID, to spec: ServerSpec) {
        // Only policies and egress differ (the planner updates in place only when the process
        // hash is equal), so the whole spec can be taken.
        guard let instance = instances[id], instance.spec.processHash == spec.processHash else { return }
        instance.spec = spec
        instance.probes.setFailureThreshold(spec.policies.health.failureThreshold)
        if let key = instance.proberKey { StdioProber.shared.update(key, health: spec.policies.health) }
    }

    // MARK: - One process's life

    private func run(_ id: InstanceID) async {
        guard let instance = instances[id] else { return }
        do {
            try await launch(instance)
            if let child = instance.child {
                emitter.yield(.spawned(id, pid: child.pid))
                Task { if let status = await child.exit.wait() { await self.exited(id, status: status) } }
            }
            instance.launched.fulfil(())
        } catch {
            instance.launched.fulfil(())
            // A stop that arrived during the launch records the end itself.
            guard !instance.stopping else { return }
            _ = finish(
                instance, status: nil, requested: false, isFailure: true, reason: "spawn failed: \(error)", permanent: error.permanent)
            emitter.yield(.spawnFailed(id, error))
            return
        }
        guard !instance.stopping else { return }
        await handshake(instance)
        await watchHealth(instance)
    }

    private func launch(_ instance: Instance) async throws(LaunchError) {
        let spec = instance.spec
        let id = instance.id
        let emitter = emitter
        let clock = clock
        let output = StderrSink(
            id: id, clock: clock, limiter: LogRateLimiter(rate: options.stderrLinesPerSecond, burst: options.stderrBurst),
            emit: { emitter.yield($0) })
        let onSession: @Sendable (SessionEvent) -> Void = { emitter.yield(.session(id, $0)) }
        switch spec.transport {
        case .http:
            guard let url = spec.url.flatMap({ URL(string: $0) }) else {
                throw LaunchError(.resolve, "transport http needs a url")
            }
            instance.channel = HTTPChannel(url: url, clock: clock, maxMessageBytes: options.maxMessageBytes, onEvent: onSession)
            // A remote server: nothing to start, only to probe.
            guard !spec.command.isEmpty else { return }
            // A local process serving HTTP: its stdout is just more log output.
            instance.child = try await spawn(spec, id: id, stdoutSink: { _ in { output.receive($0) } }, output: output)
        case .stdio:
            let box = SessionBox()
            instance.child = try await spawn(
                spec, id: id,
                stdoutSink: { stdin in
                    let session = StdioSession(writer: stdin, clock: clock, onEvent: onSession)
                    box.session = session
                    return { session.receive($0) }
                }, output: output)
            instance.session = box.session
            instance.channel = box.session
        }
    }

    private func spawn(
        _ spec: ServerSpec, id: InstanceID, stdoutSink: @escaping @Sendable (PipeWriter) -> @Sendable (LineEvent) -> Void,
        output: StderrSink
    ) async throws(LaunchError) -> ChildProcess {
        var environment = ChildEnvironment.build(spec: spec.env, controller: options.environment)
        let isolation = try await networkIsolation(for: spec)
        // The proxy's variables win over the manifest's. `finish` releases the instance, also
        // when the start fails below.
        if let egress = options.egress { environment.merge(egress.admit(id)) { _, proxy in proxy } }
        let resolver = CommandResolver(root: options.root, helperDirectory: options.helperDirectory)
        let executable = try resolver.resolve(spec.command.first ?? "", childPath: environment["PATH"]).get()
        let cwd = spec.cwd.map { $0.hasPrefix("/") ? $0 : options.root + "/" + $0 } ?? options.root
        let request = LaunchRequest(
            executable: executable, arguments: spec.command, environment: environment, cwd: cwd,
            maxMessageBytes: options.maxMessageBytes, execTimeoutMilliseconds: options.execTimeoutMilliseconds, isolation: isolation)
        let child = try await ChildProcess.launch(request, stdoutSink: stdoutSink, onStderr: { output.receive($0) })
        // The listener inside the child's namespace: 127.0.0.1:<port> there reaches the proxy.
        if let listener = child.namespaceListener {
            if let egress = options.egress { egress.adopt(listener: listener, for: id) } else { close(listener) }
        }
        if let stats = ProcessStats.read(pid: child.pid) {
            ledger?.add(ProcessLedger.Entry(name: spec.name, pid: child.pid, startTicks: stats.startTicks))
            ledgerChanged()
        }
        return child
    }

    /// The namespace an `isolation: network` spec starts in (nil for `none`), or the reason it
    /// cannot start on this host at all.
    ///
    /// Where namespaces are not permitted the server is not started: the launch fails with a
    /// `permanent` error, which the restart gate turns into a hold with this reason (shown in
    /// `/status` and `controller status`) until the spec changes. Chosen over a skip reason in
    /// desired state: desired state stays a pure function of files and environment (the same
    /// on the machine that validates and the one that runs), and the shim refuses the same way
    /// when the probe is stale, so there is one path to "not started" either way.
    private func networkIsolation(for spec: ServerSpec) async throws(LaunchError) -> NetworkIsolation? {
        guard spec.isolation == .network else { return nil }
        let support: IsolationSupport
        if let injected = options.isolation { support = injected } else { support = await IsolationProbe.support() }
        if case .unsupported(let reason) = support {
            throw LaunchError(.isolation, "isolation: network is not possible on this host: \(reason)", permanent: true)
        }
        // Without a broker nothing listens inside: an isolated server then has no way out at all.
        return NetworkIsolation(listenerPort: options.egress?.port ?? 0)
    }

    /// Era probe and handshake, retried every `health.interval` until it succeeds; past the
    /// startup timeout the process is `unhealthy` (and stays so until a handshake succeeds).
    private func handshake(_ instance: Instance) async {
        guard let channel = instance.channel else { return }
        let started = clock.now
        var client = MCPClient(channel: channel)
        while !Task.isCancelled {
            let health = instance.spec.policies.health
            let attempt = clock.now
            do {
                // While starting, no single probe may run past the startup deadline.
                let left = started + health.startupTimeout - clock.now
                let probe = instance.phase == .starting ? max(min(health.timeout, left), .milliseconds(100)) : health.timeout
                let identity = try await client.handshake(probeTimeout: probe)
                instance.client = client
                instance.identity = identity
                if identity.hasTools { instance.toolCount = try? await client.listTools(timeout: health.timeout).count }
                guard !Task.isCancelled else { return }
                instance.enter(.ready, reason: nil, clock: clock.now)
                emitter.yield(.ready(instance.id, identity, toolCount: instance.toolCount, latency: clock.now - started))
                return
            } catch {
                guard !Task.isCancelled else { return }
                instance.reason = error.description
                if clock.now - started >= health.startupTimeout, instance.phase == .starting {
                    let reason = "no MCP handshake within \(health.startupTimeout.formattedMilliseconds): \(error)"
                    instance.enter(.unhealthy, reason: reason, clock: clock.now)
                    emitter.yield(.startFailed(instance.id, reason: instance.reason ?? error.description))
                }
                // A failure that came back at once (the server refused) is retried after a
                // short pause; one that took a whole timeout is retried at once.
                let pause = min(health.interval, .seconds(1)) - (clock.now - attempt)
                if pause > .zero { try? await clock.sleep(for: pause) }
            }
        }
    }

    /// Health checks every `health.interval` until the process is stopped or exits: on the I/O
    /// loop for stdio servers (see `StdioProber` for why), in this task for HTTP ones. Only
    /// failures and changes of verdict come back here.
    private func watchHealth(_ instance: Instance) async {
        guard !Task.isCancelled, let identity = instance.identity else { return }
        guard let session = instance.session else {
            await probeOverHTTP(instance)
            return
        }
        let target = StdioProber.Target(
            session: session, identity: identity, server: instance.id.name, status: instance.probes, tally: probeTally)
        let (key, outcomes) = StdioProber.shared.watch(target, health: instance.spec.policies.health)
        instance.proberKey = key
        // Ends when this task is cancelled (a stop or an exit; `finish` unwatches the process).
        for await outcome in outcomes {
            guard !Task.isCancelled else { break }
            apply(outcome, to: instance)
        }
    }

    /// The health checks of a `transport: http` server: each one is a URLSession request anyway.
    private func probeOverHTTP(_ instance: Instance) async {
        while !Task.isCancelled {
            let health = instance.spec.policies.health
            do {
                try await clock.sleep(for: health.interval)
            } catch {
                return
            }
            guard let client = instance.client else { return }
            let start = clock.now
            var failure: String?
            do {
                try await client.healthCheck(timeout: health.timeout)
            } catch {
                failure = error.description
            }
            guard !Task.isCancelled else { return }
            let record = ProbeRecord(at: Date(), succeeded: failure == nil, latency: clock.now - start, error: failure)
            if let outcome = instance.probes.conclude(record, server: instance.id.name, tally: probeTally) {
                apply(outcome, to: instance)
            }
        }
    }

    private func apply(_ outcome: ProbeOutcome, to instance: Instance) {
        guard !instance.stopping else { return }
        let failure = outcome.record.error ?? ""
        switch outcome.transition {
        case .becameUnhealthy:
            let reason = "\(outcome.consecutiveFailures) health checks failed in a row: \(failure)"
            instance.enter(.unhealthy, reason: reason, clock: clock.now)
            emitter.yield(.unhealthy(instance.id, reason: reason))
        case .recovered:
            instance.enter(.ready, reason: nil, clock: clock.now)
            emitter.yield(.recovered(instance.id))
        case .none:
            emitter.yield(.probeFailed(instance.id, reason: failure, consecutive: outcome.consecutiveFailures))
        }
    }

    /// The reaper saw the leader exit. A stop in progress handles its own exit; otherwise this
    /// one is ending now, and a stop that arrives during the clean-up waits for its record.
    private func exited(_ id: InstanceID, status: ExitStatus) async {
        guard let instance = instances[id], !instance.stopping else { return }
        instance.stopping = true
        instance.task?.cancel()
        instance.session?.close("the process exited (\(status))")
        if let child = instance.child {
            report(await child.cleanUpAfterExit(clock: clock), of: id)
            ledger?.remove(pid: child.pid)
            ledgerChanged()
        }
        let record = finish(instance, status: status, requested: false, isFailure: true, reason: status.description)
        emitter.yield(.exited(record))
    }

    private func report(_ escapees: [EscapeeKill], of id: InstanceID) {
        for escapee in escapees { emitter.yield(.escapeeKilled(id, pid: escapee.pid, signal: escapee.signal)) }
    }

    /// Records the end of `instance` and forgets it.
    private func finish(
        _ instance: Instance, status: ExitStatus?, requested: Bool, isFailure: Bool, reason: String, permanent: Bool = false
    ) -> ExitRecord {
        let now = clock.now
        let readyFor = instance.readySince.map { now - $0 } ?? .zero
        instance.enter(.stopped, reason: reason, clock: now)
        let record = ExitRecord(
            instance: instance.id, processHash: instance.spec.processHash, pid: instance.child?.pid, status: status, at: Date(),
            clock: now, uptime: now - instance.startedClock, readyFor: readyFor, requested: requested, isFailure: isFailure,
            reason: reason, permanent: permanent)
        var history = histories[instance.id.name, default: History()]
        history.recent.append(record)
        if history.recent.count > 64 { history.recent.removeFirst(history.recent.count - 64) }
        history.exits += 1
        histories[instance.id.name] = history
        instances[instance.id] = nil
        options.egress?.release(instance.id)
        if let key = instance.proberKey { StdioProber.shared.unwatch(key) }
        instance.ended.fulfil(record)
        return record
    }
}

/// Yields to the event stream and counts what the bounded buffer drops.
private struct EventEmitter: Sendable {
    let continuation: AsyncStream<ActualEvent>.Continuation
    let dropped: DropCounter

    func yield(_ event: ActualEvent) {
        if case .dropped = continuation.yield(event) { dropped.add() }
    }
}

/// Carries the session out of the stdout-sink factory, which runs on the spawn thread.
private final class SessionBox: @unchecked Sendable {
    // Written once on the spawn thread before `launch` returns, read after: ordered by the
    // continuation that hands the result back.
    var session: StdioSession?
}
