import Desired

/// Human reasons for a plan's `replace` and `update`: what changed between two specs.
///
/// Values of environment variables are never shown (any of them may be a secret); only names.
public enum SpecDiff {
    /// What changed that needs a new process (the fields behind `processHash`).
    public static func process(from old: ServerSpec, to new: ServerSpec) -> [String] {
        var changes: [String] = []
        if old.transport != new.transport { changes.append("transport \(old.transport.rawValue) → \(new.transport.rawValue)") }
        if old.command != new.command { changes.append("command changed") }
        if old.url != new.url { changes.append("url changed") }
        if old.cwd != new.cwd { changes.append("cwd changed") }
        if old.isolation != new.isolation { changes.append("isolation \(old.isolation.rawValue) → \(new.isolation.rawValue)") }
        let names = Set(old.env.keys).union(new.env.keys).sorted()
        for name in names where old.env[name] != new.env[name] {
            switch (old.env[name], new.env[name]) {
            case (nil, _): changes.append("env \(name) added")
            case (_, nil): changes.append("env \(name) removed")
            default: changes.append("env \(name) changed")
            }
        }
        return changes
    }

    /// What changed that is applied in place (the fields behind `policyHash`), with values.
    public static func policies(from old: ServerSpec, to new: ServerSpec) -> [String] {
        var changes: [String] = []
        func compare<T: Equatable>(_ path: String, _ a: T, _ b: T, _ show: (T) -> String) {
            if a != b { changes.append("\(path) \(show(a)) → \(show(b))") }
        }
        let duration = DurationText.format
        let (a, b) = (old.policies, new.policies)
        compare("limits.rps", a.limits.rps, b.limits.rps) { $0 == $0.rounded() ? String(Int($0)) : String($0) }
        compare("limits.burst", a.limits.burst, b.limits.burst) { String($0) }
        compare("limits.concurrency", a.limits.concurrency, b.limits.concurrency) { String($0) }
        compare("limits.request_timeout", a.limits.requestTimeout, b.limits.requestTimeout, duration)
        compare("health.interval", a.health.interval, b.health.interval, duration)
        compare("health.timeout", a.health.timeout, b.health.timeout, duration)
        compare("health.failure_threshold", a.health.failureThreshold, b.health.failureThreshold) { String($0) }
        compare("health.startup_timeout", a.health.startupTimeout, b.health.startupTimeout, duration)
        compare("restart.policy", a.restart.mode, b.restart.mode) { $0.rawValue }
        compare("restart.backoff", a.restart.backoff, b.restart.backoff) { "[" + $0.map(duration).joined(separator: ", ") + "]" }
        compare("restart.budget", a.restart.budget, b.restart.budget) { $0.description }
        compare("restart.quarantine", a.restart.quarantine, b.restart.quarantine, duration)
        compare("restart.reset_after", a.restart.resetAfter, b.restart.resetAfter, duration)
        compare("egress", old.egress, new.egress) { "[" + $0.joined(separator: ", ") + "]" }
        return changes
    }
}
