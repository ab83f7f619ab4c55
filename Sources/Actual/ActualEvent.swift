import Desired

/// What happened to the processes, as it happened: for the reconciler (a reason to re-plan) and
/// for the controller's logs, audit and metrics. Core code reports; it never logs.
public enum ActualEvent: Sendable, Hashable {
    case spawned(InstanceID, pid: Int32)
    /// The process could not be started at all (missing executable, bad `cwd`, …).
    case spawnFailed(InstanceID, LaunchError)
    /// The handshake completed: the process serves MCP.
    case ready(InstanceID, ServerIdentity, toolCount: Int?, latency: Duration)
    /// No handshake within the startup timeout.
    case startFailed(InstanceID, reason: String)
    /// One health check failed (latency of every check is in `Supervisor.probeTally`).
    case probeFailed(InstanceID, reason: String, consecutive: Int)
    /// `failure_threshold` probes failed in a row.
    case unhealthy(InstanceID, reason: String)
    /// A probe succeeded again after `unhealthy`.
    case recovered(InstanceID)
    case draining(InstanceID, reason: String)
    /// The process ended without being asked to.
    case exited(ExitRecord)
    /// The process ended because the supervisor stopped it.
    case stopped(ExitRecord, step: StopStep)
    /// One line the process wrote to stderr (cut at the log-line limit).
    case stderr(InstanceID, line: String)
    /// Lines dropped by the stderr rate limit since the last reported line.
    case stderrSuppressed(InstanceID, lines: Int)
    /// Something on the stdio session: invalid output, an unknown response, a notification.
    case session(InstanceID, SessionEvent)
    /// A re-parented descendant (not a server's leader) was reaped.
    case orphanReaped(pid: Int32, ExitStatus)
    /// A process that had left its server's process group (an escapee) was signalled when the
    /// server stopped or exited, and is gone; `signal` is the last one it needed.
    case escapeeKilled(InstanceID, pid: Int32, signal: Int32)
    /// A process group left by a previous run of the controller was found and stopped.
    case leftoverStopped(name: String, pids: [Int32])
}
