import Actual
import Desired
import Metering

/// When a server whose process has ended may start again: DESIGN.md's backoff, crash-loop
/// budget and quarantine, as one pure function of the exit history.
///
/// Level-triggered: nothing is remembered between calls. The history (exits of the *current*
/// spec only, since a changed spec resets backoff and lifts quarantine) is replayed from the
/// start every time, so the same history and `now` always give the same answer.
///
/// - Backoff: the n-th exit since the last healthy stretch (an exit after at least
///   `reset_after` continuously ready) waits `backoff[n-1]` (the last entry repeats), ±20%
///   jitter derived from `seed` and n so that it is deterministic yet spread across servers.
/// - Budget: more than `budget.count` exits within `budget.window` (counting only exits after
///   the last quarantine) quarantines the server for `quarantine`.
/// - Exit code 78 (EX_CONFIG: "this configuration cannot work") quarantines at once.
/// - After a quarantine, one half-open start; if it fails before a healthy stretch, the next
///   quarantine is twice as long, up to 1 h; a healthy stretch ends the doubling.
/// - `restart: never` never restarts; `on-failure` does not restart after exit 0.
/// - A start that cannot succeed on this host (`PastExit.permanentReason`) is not tried again
///   until the spec changes, whatever the policy: retrying would fail the same way.
public struct RestartGate: Sendable, Hashable {
    public enum Decision: Sendable, Hashable {
        /// Never ran, or may start now; `attempt` counts exits since the last healthy stretch.
        case startNow(reason: String)
        /// Backing off: may start at `at`.
        case wait(until: Duration, reason: String)
        /// Crash-looping: no start before `until`; then one half-open attempt.
        case quarantined(until: Duration, reason: String)
        /// The restart policy says not to start it again (until the spec changes).
        case done(reason: String)
    }

    public static let maxQuarantine = Duration.seconds(3600)
    /// sysexits.h EX_CONFIG.
    public static let configurationExitCode: Int32 = 78

    public var policy: RestartPolicy
    /// Spreads the jitter across servers (e.g. a hash of the name).
    public var seed: UInt64

    public init(policy: RestartPolicy, seed: UInt64) {
        self.policy = policy
        self.seed = seed
    }

    public func decide(history: [PastExit], now: Duration) -> Decision {
        let exits = history.filter { !$0.requested }.sorted { $0.at < $1.at }
        guard let last = exits.last else { return .startNow(reason: "not running") }
        if let why = last.permanentReason { return .done(reason: why) }
        switch policy.mode {
        case .never: return .done(reason: "restart policy never; \(describe(last))")
        case .onFailure where last.code == 0: return .done(reason: "exited cleanly; restart policy on-failure")
        default: break
        }
        var level = 0
        var quarantineEnd: Duration?
        var quarantineReason = ""
        var streak = 0
        var halfOpen = false
        var sinceQuarantine: [PastExit] = []
        for exit in exits {
            let healthy = exit.readyFor >= policy.resetAfter
            streak = healthy ? 1 : streak + 1
            if healthy { level = 0 }
            sinceQuarantine.append(exit)
            let inWindow = sinceQuarantine.filter { $0.at > exit.at - policy.budget.window }.count
            var trip: String?
            if exit.code == RestartGate.configurationExitCode {
                trip = "exit 78 (EX_CONFIG): the configuration cannot work"
            } else if halfOpen && !healthy {
                level += 1
                trip = "the half-open start after quarantine failed (\(describe(exit)))"
            } else if inWindow > policy.budget.count {
                trip = "\(inWindow) exits within \(DurationText.format(policy.budget.window)), budget \(policy.budget)"
            }
            halfOpen = false
            if let trip {
                let length = min(policy.quarantine * (1 << min(level, 20)), RestartGate.maxQuarantine)
                quarantineEnd = exit.at + length
                quarantineReason = "\(trip); quarantined for \(DurationText.format(length))"
                sinceQuarantine = []
                streak = 0
                halfOpen = true
            }
        }
        if let end = quarantineEnd, sinceQuarantine.isEmpty {
            if now < end { return .quarantined(until: end, reason: quarantineReason) }
            return .startNow(reason: "half-open start after quarantine")
        }
        let delay = jittered(policy.backoff[min(max(streak, 1), policy.backoff.count) - 1], attempt: streak)
        let reason = "restart after \(describe(last)), attempt \(streak) (backoff \(DurationText.format(delay)))"
        return now >= last.at + delay ? .startNow(reason: reason) : .wait(until: last.at + delay, reason: reason)
    }

    /// `base` ±20%, the same for the same seed and attempt.
    func jittered(_ base: Duration, attempt: Int) -> Duration {
        var x = seed &+ UInt64(attempt) &* 0x9E37_79B9_7F4A_7C15
        x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
        x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
        x ^= x >> 31
        let unit = Double(x >> 11) / Double(1 << 53)  // [0, 1)
        let factor = 0.8 + 0.4 * unit
        let ms = (base.milliseconds * factor).rounded()
        return .milliseconds(Int64(ms))
    }

    private func describe(_ exit: PastExit) -> String {
        exit.code.map { "exit \($0)" } ?? "a signal"
    }
}
