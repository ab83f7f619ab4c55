import Actual
import Desired

/// One step of a plan, with the reason a person reads in logs, the audit trail and `diff`.
public struct Action: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// Start a process for a server that has none.
        case spawn(ServerSpec)
        /// Start a new process for the new spec; once it is ready, the old one is drained
        /// (a later plan emits that `stop`: level-triggered, never a promise).
        case replace(InstanceID, with: ServerSpec)
        /// Apply new policies (limits, health, restart, egress) to a running process in place.
        case update(InstanceID, to: ServerSpec)
        /// Stop a process (full escalation); `isFailure` when it is stopped for being unhealthy,
        /// so that it counts against the crash-loop budget.
        case stop(InstanceID, isFailure: Bool)
    }

    public var kind: Kind
    public var server: String
    public var reason: String

    public init(_ kind: Kind, server: String, reason: String) {
        self.kind = kind
        self.server = server
        self.reason = reason
    }

    /// `+ spawn time (enabled)`, `~ replace github#2 (command changed)`, like `kubectl diff`.
    public var description: String {
        switch kind {
        case .spawn: "+ spawn \(server) (\(reason))"
        case .replace(let old, _): "~ replace \(old) (\(reason))"
        case .update(let id, _): "~ update \(id) (\(reason))"
        case .stop(let id, _): "- stop \(id) (\(reason))"
        }
    }
}

/// Why a desired server has no action and no process right now.
public enum Hold: Sendable, Hashable, CustomStringConvertible {
    /// Backing off after an exit; may start at `until`.
    case backoff(until: Duration, reason: String)
    /// Crash-looping: quarantined until `until`, then one half-open start.
    case quarantined(until: Duration, reason: String)
    /// The restart policy says not to start it again until its spec changes.
    case finished(reason: String)
    /// Waiting for its turn: the rollout limit (replacements at once) is reached.
    case queued(reason: String)

    public var description: String {
        switch self {
        case .backoff(_, let reason): "backoff: \(reason)"
        case .quarantined(_, let reason): "quarantined: \(reason)"
        case .finished(let reason): "not restarted: \(reason)"
        case .queued(let reason): "queued: \(reason)"
        }
    }

    /// When the hold ends by itself (the executor's next timer), if it does.
    public var until: Duration? {
        switch self {
        case .backoff(let until, _), .quarantined(let until, _): until
        case .finished, .queued: nil
        }
    }
}

/// The output of `Planner.plan`: actions in order, holds by server, and when to look again.
public struct Plan: Sendable, Hashable {
    public var actions: [Action] = []
    public var holds: [String: Hold] = [:]
    /// The earliest time a hold ends: plan again then even if nothing else happens.
    public var nextWake: Duration? {
        holds.values.compactMap(\.until).min()
    }

    public var isEmpty: Bool { actions.isEmpty }

    public init(actions: [Action] = [], holds: [String: Hold] = [:]) {
        self.actions = actions
        self.holds = holds
    }
}
