import Actual
import Reconciler
import Tracing

/// Spans of the reconcile loop, built from the executor's events (INTERNAL kind): one root span
/// `reconcile` per pass that applied an action or quarantined a server, and under it one span
/// per action, `reconcile spawn|replace|update|stop|quarantine`, from the moment the executor
/// applied it until its outcome: a spawn or replace ends when the new process is ready (`ok`)
/// or failed (`spawn_failed`, `start_failed`, `exited`, `stopped`); a stop ends when the
/// process is gone, with a `reconcile drain` child for the wait for its requests in flight; an
/// update and a quarantine are instants. Pure but for the ids (`random`): the caller gives the
/// time (Unix nanoseconds) of every event.
///
/// Bounded: at most `maxPending` actions wait for an outcome (the oldest is ended `unknown`
/// beyond that), and one that waited `maxAge` (an outcome that never came) is ended `unknown`.
struct ReconcileSpans {
    static let maxPending = 4096
    static let maxAge: UInt64 = 15 * 60 * 1_000_000_000

    private struct Pass {
        var traceID: String
        var spanID: String
        var start: UInt64
        var actions = 0
    }

    private struct Pending {
        var span: Span
        var server: String
        /// Spawn or replace: waits for its process's ready or failure.
        var starts: Bool
        /// The process it waits for (a start's, once spawned; a stop's from the start).
        var instance: InstanceID?
        /// A stop's drain, until the supervisor begins stopping.
        var drain: Span?
    }

    private let random: () -> UInt64
    private var pass: Pass?
    private var pending: [Pending] = []

    init(random: @escaping () -> UInt64 = TraceIDs.random) {
        self.random = random
    }

    /// Actions waiting for their outcome.
    var waiting: Int { pending.count }

    /// The spans `event`, seen at `now`, ends.
    mutating func observe(_ event: ReconcileEvent, at now: UInt64) -> [Span] {
        switch event {
        case .applying(let action):
            return apply(action, at: now)
        case .hold(let server, .quarantined(_, let reason)?):
            var span = child("quarantine", server: server, reason: reason, at: now)
            span.attributes.append(.string("omni.outcome", "quarantined"))
            return [span]
        case .hold:
            return []
        case .reconciled(let duration, _, let generation):
            var out = expire(at: now)
            guard let pass else { return out }
            self.pass = nil
            let took =
                UInt64(clamping: max(0, duration.components.seconds)) &* 1_000_000_000
                &+ UInt64(clamping: max(0, duration.components.attoseconds / 1_000_000_000))
            out.append(
                Span(
                    traceID: pass.traceID, spanID: pass.spanID, parentSpanID: nil, name: "reconcile", kind: .internal,
                    start: min(pass.start, now &- min(now, took)), end: now,
                    attributes: [.int("omni.generation", generation), .int("omni.actions", pass.actions)], status: .ok))
            return out
        case .actual(let actual):
            return observe(actual, at: now)
        }
    }

    /// Ends every action still waiting (at shutdown), with `outcome`.
    mutating func finishAll(at now: UInt64, outcome: String) -> [Span] {
        defer { pending = [] }
        return pending.flatMap { end($0, at: now, outcome: outcome, failed: true) }
    }

    // MARK: Actions

    private mutating func apply(_ action: Action, at now: UInt64) -> [Span] {
        var out: [Span] = []
        let kind = EventReporter.kind(action)
        var span = child(kind, server: action.server, reason: action.reason, at: now)
        pass?.actions += 1
        switch action.kind {
        case .spawn:
            pending.append(Pending(span: span, server: action.server, starts: true))
        case .replace(let old, _):
            span.attributes.append(.string("omni.replaces", old.description))
            pending.append(Pending(span: span, server: action.server, starts: true))
        case .update(let id, _):
            span.attributes += [.string("omni.instance", id.description), .string("omni.outcome", "ok")]
            out.append(span)
        case .stop(let id, let isFailure):
            span.attributes += [.string("omni.instance", id.description), .bool("omni.unhealthy", isFailure)]
            var drain = Span(
                traceID: span.traceID, spanID: TraceIDs.spanID(random), parentSpanID: span.spanID, name: "reconcile drain",
                kind: .internal, start: now, end: now, attributes: span.attributes.filter { $0.key != "omni.action" }, status: .ok)
            drain.attributes.append(.string("omni.action", "drain"))
            pending.append(Pending(span: span, server: action.server, starts: false, instance: id, drain: drain))
        }
        if pending.count > ReconcileSpans.maxPending {
            out += end(pending.removeFirst(), at: now, outcome: "unknown", failed: true)
        }
        return out
    }

    /// A new action span under this pass's span (a pass begins with its first action).
    private mutating func child(_ action: String, server: String, reason: String, at now: UInt64) -> Span {
        if pass == nil { pass = Pass(traceID: TraceIDs.traceID(random), spanID: TraceIDs.spanID(random), start: now) }
        let pass = pass ?? Pass(traceID: "", spanID: "", start: now)
        return Span(
            traceID: pass.traceID, spanID: TraceIDs.spanID(random), parentSpanID: pass.spanID, name: "reconcile \(action)",
            kind: .internal, start: now, end: now,
            attributes: [.string("omni.srv", server), .string("omni.action", action), .string("omni.reason", reason)], status: .ok)
    }

    // MARK: Outcomes

    private mutating func observe(_ event: ActualEvent, at now: UInt64) -> [Span] {
        switch event {
        case .spawned(let id, let pid):
            // The oldest start of that server still without a process is this one's.
            if let index = pending.firstIndex(where: { $0.starts && $0.server == id.name && $0.instance == nil }) {
                pending[index].instance = id
                pending[index].span.attributes += [.string("omni.instance", id.description), .int("process.pid", Int(pid))]
            }
            return []
        case .ready(let id, _, _, _):
            return finishStart(id, at: now, outcome: "ok", failed: false)
        case .spawnFailed(let id, _):
            return finishStart(id, at: now, outcome: "spawn_failed", failed: true, unspawned: true)
        case .startFailed(let id, _):
            return finishStart(id, at: now, outcome: "start_failed", failed: true)
        case .draining(let id, _):
            guard let index = pending.firstIndex(where: { !$0.starts && $0.instance == id }), var drain = pending[index].drain else {
                return []
            }
            pending[index].drain = nil
            drain.end = max(drain.start, now)
            drain.attributes.append(.string("omni.outcome", "ok"))
            return [drain]
        case .exited(let record):
            return finishStart(record.instance, at: now, outcome: "exited", failed: true) + finishStop(record.instance, at: now)
        case .stopped(let record, let step):
            return finishStart(record.instance, at: now, outcome: "stopped", failed: true)
                + finishStop(record.instance, at: now, step: step.rawValue)
        default:
            return []
        }
    }

    private mutating func finishStart(
        _ id: InstanceID, at now: UInt64, outcome: String, failed: Bool, unspawned: Bool = false
    ) -> [Span] {
        let index =
            pending.firstIndex { $0.starts && $0.instance == id }
            ?? (unspawned ? pending.firstIndex { $0.starts && $0.server == id.name && $0.instance == nil } : nil)
        guard let index else { return [] }
        return end(pending.remove(at: index), at: now, outcome: outcome, failed: failed)
    }

    private mutating func finishStop(_ id: InstanceID, at now: UInt64, step: String? = nil) -> [Span] {
        guard let index = pending.firstIndex(where: { !$0.starts && $0.instance == id }) else { return [] }
        var stop = pending.remove(at: index)
        if let step { stop.span.attributes.append(.string("omni.stop_step", step)) }
        return end(stop, at: now, outcome: "ok", failed: false)
    }

    private func end(_ entry: Pending, at now: UInt64, outcome: String, failed: Bool) -> [Span] {
        var out: [Span] = []
        if var drain = entry.drain {
            drain.end = max(drain.start, now)
            drain.attributes.append(.string("omni.outcome", outcome))
            if failed { drain.status = .error(outcome) }
            out.append(drain)
        }
        var span = entry.span
        span.end = max(span.start, now)
        span.attributes.append(.string("omni.outcome", outcome))
        if failed { span.status = .error(outcome) }
        out.append(span)
        return out
    }

    /// Ends actions whose outcome never came within `maxAge`.
    private mutating func expire(at now: UInt64) -> [Span] {
        func old(_ entry: Pending) -> Bool { now > entry.span.start && now - entry.span.start > ReconcileSpans.maxAge }
        guard pending.contains(where: old) else { return [] }
        let expired = pending.filter(old)
        pending.removeAll(where: old)
        return expired.flatMap { end($0, at: now, outcome: "unknown", failed: true) }
    }
}
