import Actual
import Desired

/// A plan told to people (`controller diff`): what would change, what stays, what is skipped.
///
/// Built from the same `Plan` the executor applies, so a dry run and a reload can never
/// disagree. Reasons name fields and variables, never a variable's value (`SpecDiff`, and
/// `SkipReason` for missing variables); an `invalid` reason may quote a resolved value, so a
/// report leaves through a redactor.
public struct PlanReport: Sendable, Hashable {
    /// One action of the plan.
    public struct Change: Sendable, Hashable {
        /// `start`, `replace`, `update` or `stop`.
        public var action: String
        public var server: String
        /// The process acted on (`demo#3`); nil for a start.
        public var instance: String?
        public var reason: String

        public init(action: String, server: String, instance: String?, reason: String) {
            self.action = action
            self.server = server
            self.instance = instance
            self.reason = reason
        }

        /// `+`, `~` or `-`, as `kubectl diff` marks additions, changes and removals.
        public var sign: String {
            switch action {
            case "start": "+"
            case "stop": "-"
            default: "~"
            }
        }
    }

    /// A server the plan leaves as it is: a desired one with nothing to do, or one skipped.
    public struct Entry: Sendable, Hashable {
        public var server: String
        /// `unchanged`, `disabled`, `missing` (variables) or `invalid`.
        public var kind: String
        /// `ready`, `starting`, a hold (`backoff: …`), or the skip reason.
        public var detail: String

        public init(server: String, kind: String, detail: String) {
            self.server = server
            self.kind = kind
            self.detail = detail
        }
    }

    public var changes: [Change]
    /// Unchanged and skipped servers, in name order. A skipped server that still runs is in
    /// `changes` (its stop), not here.
    public var others: [Entry]

    public init(changes: [Change], others: [Entry]) {
        self.changes = changes
        self.others = others
    }

    /// The report of `plan`, made for `desired` against `actual`.
    public init(desired: DesiredState, actual: ActualState, plan: Plan) {
        changes = plan.actions.map { action in
            switch action.kind {
            case .spawn: Change(action: "start", server: action.server, instance: nil, reason: action.reason)
            case .replace(let id, _): Change(action: "replace", server: action.server, instance: id.description, reason: action.reason)
            case .update(let id, _): Change(action: "update", server: action.server, instance: id.description, reason: action.reason)
            case .stop(let id, _): Change(action: "stop", server: action.server, instance: id.description, reason: action.reason)
            }
        }
        let changed = Set(plan.actions.map(\.server))
        var others: [Entry] = []
        for name in Set(desired.servers.keys).union(desired.skipped.keys).sorted() where !changed.contains(name) {
            if let skip = desired.skipped[name] {
                let kind =
                    switch skip {
                    case .disabled: "disabled"
                    case .missing: "missing"
                    case .invalid: "invalid"
                    }
                others.append(Entry(server: name, kind: kind, detail: skip.description))
            } else if let hold = plan.holds[name] {
                others.append(Entry(server: name, kind: "unchanged", detail: hold.description))
            } else {
                let live = actual.servers[name]?.instances.filter { $0.phase != .draining && $0.phase != .stopped } ?? []
                others.append(Entry(server: name, kind: "unchanged", detail: live.last?.phase.rawValue ?? "not running"))
            }
        }
        self.others = others
    }

    /// `2 to start, 1 to replace, 1 to stop; 25 disabled, 2 missing variables`: the non-zero
    /// counts, `no changes` when nothing would change.
    public var summary: String {
        func count(_ action: String) -> Int { changes.filter { $0.action == action }.count }
        let planned = ["start", "replace", "update", "stop"].compactMap { action in
            count(action) == 0 ? nil : "\(count(action)) to \(action)"
        }
        func skipped(_ kind: String) -> Int { others.filter { $0.kind == kind }.count }
        let left = [("disabled", "disabled"), ("missing", "missing variables"), ("invalid", "invalid")].compactMap { kind, label in
            skipped(kind) == 0 ? nil : "\(skipped(kind)) \(label)"
        }
        let head = planned.isEmpty ? "no changes" : planned.joined(separator: ", ")
        return left.isEmpty ? head : head + "; " + left.joined(separator: ", ")
    }

    /// The text lines: each change (`~ replace demo (command changed)`), with `all` every other
    /// server too (`  time (unchanged: ready)`, `  github (skipped: disabled)`), then the summary.
    public func lines(all: Bool) -> [String] {
        var out = changes.map { "\($0.sign) \($0.action) \($0.server) (\($0.reason))" }
        if all { out += others.map { "  \($0.server) (\($0.kind == "unchanged" ? "unchanged" : "skipped"): \($0.detail))" } }
        return out + [summary]
    }
}
