import CSystem
import Desired
import Foundation
import Glibc
import JSON
import Synchronization

/// Health checks of stdio servers, run on the I/O loop thread.
///
/// A probe used to be a task per process: sleep, send, await the answer under a timeout, report
/// an event. At 500 servers that was most of the controller's idle CPU (about 0.5 ms per probe,
/// nearly all of it task and actor hops, not JSON or syscalls). Here a probe costs one write and
/// one line read on the thread that already reads every child's stdout:
/// - one timerfd in the loop's epoll set is armed for the earliest deadline of a
///   `ProbeSchedule` (probes due within `slack` of each other share a wake-up);
/// - answers come back through the session's callback, on the same thread;
/// - results go into the process's `ProbeStatus` and the server's `ProbeTally` under a lock;
/// - the supervisor hears only of failures and changes of verdict (`ProbeOutcome`), in order,
///   through the stream `watch` returns.
///
/// Timing uses the real clock (the timerfd is real); the schedule's rules are unit-tested with a
/// fake one. Sends happen on the loop thread, which also reads the answers, so an answer is not
/// handled before its send is recorded. The exception is a stop: `PipeReader.finish` reads what
/// is left on the stopping thread, and an answer read there may find no probe in flight; by
/// then the watch is ending and nothing is recorded for it.
final class StdioProber: IOHandler {
    static let shared = StdioProber(loop: .shared)
    /// Probes due within this much of each other (and within a sixteenth of their interval)
    /// share one wake-up: at the default 15 s interval, 200 servers' probes take about one
    /// wake-up a second instead of thirteen, and their answers arrive together. On a small
    /// virtual machine each wake-up after idling costs tens of microseconds of cold caches.
    static let slack = Duration.seconds(1)

    /// What one watched process is probed over, and where its results go.
    struct Target: Sendable {
        var session: StdioSession
        var identity: ServerIdentity
        var server: String
        var status: ProbeStatus
        var tally: ProbeTally
    }

    private struct Watch {
        var target: Target
        var report: AsyncStream<ProbeOutcome>.Continuation
        /// The session's protocol-error count when the probe in flight was sent.
        var errorsBefore = 0
    }

    private struct State {
        var schedule = ProbeSchedule<UInt64>()
        var watches: [UInt64: Watch] = [:]
        var nextKey: UInt64 = 1
        /// The deadline the timer is armed for, nil when it is not armed.
        var armed: Duration?
    }

    private let timer: Int32
    private let clock = SystemClock()
    private let state = Mutex(State())

    private init(loop: IOLoop) {
        timer = omni_timerfd_create()
        // Without a timer no stdio server would ever be health-checked; fail loudly at once.
        precondition(timer >= 0, "timerfd unavailable: \(LaunchError.text(errno))")
        _ = loop.register(fd: timer, events: UInt32(EPOLLIN.rawValue), handler: self)
    }

    /// Probes `target` every `health.interval` from now on, until the returned stream's consumer
    /// stops (its task is cancelled) or `unwatch` is called. The stream carries the outcomes the
    /// supervisor must act on.
    func watch(_ target: Target, health: HealthPolicy) -> (key: UInt64, outcomes: AsyncStream<ProbeOutcome>) {
        let (outcomes, report) = AsyncStream.makeStream(of: ProbeOutcome.self)
        let now = clock.now
        let key = state.withLock { state in
            let key = state.nextKey
            state.nextKey += 1
            state.watches[key] = Watch(target: target, report: report)
            state.schedule.add(key, timing: StdioProber.timing(health), now: now)
            return key
        }
        report.onTermination = { [self] _ in unwatch(key) }
        rearm()
        return (key, outcomes)
    }

    /// New interval or timeout for a watched process (the threshold lives in its `ProbeStatus`).
    func update(_ key: UInt64, health: HealthPolicy) {
        state.withLock { $0.schedule.update(key, timing: StdioProber.timing(health)) }
        rearm()
    }

    /// Stops probing (idempotent). A probe in flight is forgotten; its answer is ignored.
    func unwatch(_ key: UInt64) {
        let watch = state.withLock { state in
            state.schedule.remove(key)
            return state.watches.removeValue(forKey: key)
        }
        watch?.report.finish()
    }

    func handle(events: UInt32) {
        var expirations: UInt64 = 0
        _ = read(timer, &expirations, 8)
        let now = clock.now
        let due: [(ProbeSchedule<UInt64>.Due, Watch)] = state.withLock { state in
            state.armed = nil
            return state.schedule.due(now: now, slack: StdioProber.slack).compactMap { item in
                switch item {
                case .probe(let key), .timeout(let key, _): state.watches[key].map { (item, $0) }
                }
            }
        }
        for (item, watch) in due {
            switch item {
            case .probe(let key): send(key, watch)
            case .timeout(let key, let request): timedOut(key, request: request, watch)
            }
        }
        rearm()
    }

    private func send(_ key: UInt64, _ watch: Watch) {
        let session = watch.target.session
        let check = MCPClient.healthCheck(for: watch.target.identity)
        let errorsBefore = session.protocolErrors
        let sent = session.send(check.method, params: check.params) { [self] request, outcome in
            answered(key, request: request, outcome)
        }
        let now = clock.now
        switch sent {
        case .success(let request):
            state.withLock { state in
                state.schedule.sent(key, request: request, now: now)
                state.watches[key]?.errorsBefore = errorsBefore
            }
        case .failure(.closed):
            // The process is ending; the supervisor unwatches it when it has cleaned up.
            state.withLock { $0.schedule.remove(key) }
        case .failure(let error):
            // Stdin is full: the server stopped reading, which is a failed check.
            state.withLock { $0.schedule.skipped(key, now: now) }
            conclude(key, watch, latency: .zero, failure: error.description)
        }
    }

    private func timedOut(_ key: UInt64, request: Int, _ watch: Watch) {
        let check = MCPClient.healthCheck(for: watch.target.identity)
        watch.target.session.abandon(request, notifying: check.cancellable ? "timed out" : nil)
        let now = clock.now
        guard let latency = state.withLock({ $0.schedule.completed(key, request: request, now: now) }) else { return }
        let timeout = RPCError.timedOut(method: check.method, after: latency)
        conclude(key, watch, latency: latency, failure: timeout.description)
    }

    /// An answer (loop thread), or `.closed` when the session ends (any thread).
    private func answered(_ key: UInt64, request: Int, _ outcome: Result<JSONValue, RPCError>) {
        let now = clock.now
        if case .failure(.closed) = outcome {
            // Not a failed check: the process is going away, and its exit is reported as such.
            state.withLock { $0.schedule.remove(key) }
            return
        }
        let found: (Duration, Watch)? = state.withLock { state in
            guard let watch = state.watches[key], let latency = state.schedule.completed(key, request: request, now: now) else {
                return nil
            }
            return (latency, watch)
        }
        guard let (latency, watch) = found else { return }
        var failure: String?
        switch outcome {
        case .success(let result):
            let session = watch.target.session
            do {
                try MCPClient.judgeHealthCheck(
                    result, identity: watch.target.identity, newProtocolErrors: session.protocolErrors - watch.errorsBefore)
            } catch {
                failure = error.description
            }
        case .failure(let error):
            failure = error.description
        }
        conclude(key, watch, latency: latency, failure: failure)
        rearm()
    }

    private func conclude(_ key: UInt64, _ watch: Watch, latency: Duration, failure: String?) {
        // An unwatched process (stopped, its server perhaps forgotten) records nothing more:
        // a result landing after `Supervisor.forget` would bring its series back.
        guard state.withLock({ $0.watches[key] != nil }) else { return }
        let record = ProbeRecord(at: Date(), succeeded: failure == nil, latency: latency, error: failure)
        let target = watch.target
        if let outcome = target.status.conclude(record, server: target.server, tally: target.tally) {
            watch.report.yield(outcome)
        }
    }

    /// Arms the timer for the earliest deadline when that is earlier than what it is armed for
    /// (a later one only costs a spurious wake-up, which `handle` turns into a re-arm).
    private func rearm() {
        state.withLock { state in
            guard let next = state.schedule.nextDeadline() else { return }
            if let armed = state.armed, armed <= next { return }
            state.armed = next
            let wait = next - clock.now
            let nanoseconds = wait.components.seconds * 1_000_000_000 + wait.components.attoseconds / 1_000_000_000
            _ = omni_timerfd_arm_after(timer, max(nanoseconds, 1))
        }
    }

    private static func timing(_ health: HealthPolicy) -> ProbeSchedule<UInt64>.Timing {
        ProbeSchedule.Timing(interval: max(health.interval, .milliseconds(10)), timeout: max(health.timeout, .milliseconds(10)))
    }
}
