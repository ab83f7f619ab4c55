import Desired
import JSON

/// The non-secret part of a spec, as `/status` shows it:
/// policies, egress and isolation, never command, env or url (which may carry secrets).
enum PolicySummary {
    static func json(_ spec: ServerSpec) -> JSONValue {
        let p = spec.policies
        let duration = { (d: Duration) -> JSONValue in .string(DurationText.format(d)) }
        return .object([
            ("limits.rps", .double(p.limits.rps)), ("limits.burst", .int(p.limits.burst)),
            ("limits.concurrency", .int(p.limits.concurrency)), ("limits.request_timeout", duration(p.limits.requestTimeout)),
            ("health.interval", duration(p.health.interval)), ("health.timeout", duration(p.health.timeout)),
            ("health.failure_threshold", .int(p.health.failureThreshold)), ("health.startup_timeout", duration(p.health.startupTimeout)),
            ("restart.policy", .string(p.restart.mode.rawValue)),
            ("restart.backoff", .string(p.restart.backoff.map(DurationText.format).joined(separator: ", "))),
            ("restart.budget", .string(p.restart.budget.description)), ("restart.quarantine", duration(p.restart.quarantine)),
            ("restart.reset_after", duration(p.restart.resetAfter)), ("egress", .string(spec.egress.joined(separator: ", "))),
            ("isolation", .string(spec.isolation.rawValue)),
        ])
    }
}
