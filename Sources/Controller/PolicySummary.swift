import Desired
import JSON

/// The non-secret part of a spec, as `/status` shows it and `controller diff` compares it:
/// policies and egress, never command, env or url (which may carry secrets).
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
        ])
    }

    /// `limits.rps 10 → 20` for each field that differs.
    static func differences(from old: JSONValue, to new: JSONValue) -> [String] {
        (new.objectValue ?? []).compactMap { key, value in
            let before = old[key]
            // Compare as rendered: 50.0 travels as `50` and comes back an integer.
            guard before?.rendered() != value.rendered() else { return nil }
            return "\(key) \(before.map(text) ?? "?") → \(text(value))"
        }
    }

    private static func text(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): text.isEmpty ? "[]" : text
        default: value.rendered()
        }
    }
}
