/// Which requests the gateway may send again after a failure, and when.
///
/// Only idempotent methods are retried: `ping`, `server/discover` and the list methods
/// (`tools/list`, `prompts/list`, `resources/list`, `resources/templates/list`). `tools/call`
/// and everything else with effects never are. Retries follow the manifest's backoff list (the
/// last entry repeats) and only while the retry would still start before the request's deadline.
public struct RetryPolicy: Sendable, Hashable {
    public let backoff: [Duration]
    public let maxAttempts: Int

    public init(backoff: [Duration], maxAttempts: Int = 3) {
        self.backoff = backoff.isEmpty ? [.milliseconds(100)] : backoff
        self.maxAttempts = max(1, maxAttempts)
    }

    public static func isIdempotent(_ method: String) -> Bool {
        switch method {
        case "ping", "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list": true
        default: false
        }
    }

    /// The wait before attempt `attempt + 1` (attempts count from 1), or nil when there is none:
    /// not idempotent, out of attempts, or the retry would start after `deadline`.
    public func delay(method: String, after attempt: Int, now: Duration, deadline: Duration) -> Duration? {
        guard RetryPolicy.isIdempotent(method), attempt >= 1, attempt < maxAttempts else { return nil }
        let wait = backoff[min(attempt - 1, backoff.count - 1)]
        return now + wait < deadline ? wait : nil
    }
}
