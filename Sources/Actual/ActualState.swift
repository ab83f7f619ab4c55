import Desired
import Foundation

/// Names one process of a server: `time#3` is the third process the supervisor started for `time`.
public struct InstanceID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let name: String
    public let number: Int

    public init(name: String, number: Int) {
        self.name = name
        self.number = number
    }

    public var description: String { "\(name)#\(number)" }

    public static func < (lhs: InstanceID, rhs: InstanceID) -> Bool {
        (lhs.name, lhs.number) < (rhs.name, rhs.number)
    }
}

/// Where one process is in its life, as far as the supervisor knows.
///
/// The server-level phases `backoff` and `quarantined` of DESIGN.md belong to the reconciler,
/// which decides restarts; a process is only ever one of these.
public enum InstancePhase: String, Sendable, Hashable {
    /// Spawned; the MCP handshake has not completed yet.
    case starting
    /// Handshake done and the last `failure_threshold` probes did not all fail.
    case ready
    /// No handshake within the startup timeout, or `failure_threshold` probes failed in a row.
    case unhealthy
    /// Being stopped (stdin closed, signals on their way).
    case draining
    /// Gone: exited, stopped, or never started.
    case stopped
}

/// The outcome of one health probe.
public struct ProbeRecord: Sendable, Hashable {
    public var at: Date
    public var succeeded: Bool
    public var latency: Duration
    public var error: String?
}

/// How a process ended (or failed to start).
public struct ExitRecord: Sendable, Hashable {
    public var instance: InstanceID
    /// The spec's `processHash`: a changed spec starts a fresh restart history.
    public var processHash: String
    public var pid: Int32?
    /// nil when the process never started.
    public var status: ExitStatus?
    public var at: Date
    /// `at` on the supervisor's monotonic clock, for backoff arithmetic.
    public var clock: Duration
    /// How long it ran.
    public var uptime: Duration
    /// How long it had been continuously `ready` when it ended (zero if it was not ready).
    public var readyFor: Duration
    /// Whether the supervisor asked it to stop (versus a crash or a spawn failure).
    public var requested: Bool
    /// Whether it counts against the crash-loop budget: crashes, spawn failures, and stops
    /// requested because the process was unhealthy.
    public var isFailure: Bool
    /// For people: `exit 1`, `killed by SIGSEGV`, `stopped (stdin closed): exit 0`, `spawn failed: …`.
    public var reason: String
    /// A spawn failure that cannot succeed on this host until the spec changes (`isolation:
    /// network` where namespaces are not permitted): `reason` says why.
    public var permanent = false
}

/// One live process, as seen in a snapshot.
public struct InstanceSnapshot: Sendable, Hashable {
    public var id: InstanceID
    /// The spec it was started with (policies updated in place included). Holds secret values:
    /// render only what `ServerSpec` documents as safe.
    public var spec: ServerSpec
    public var phase: InstancePhase
    public var pid: Int32?
    public var processHash: String
    public var policyHash: String
    /// When it entered `phase`.
    public var since: Date
    public var startedAt: Date
    /// Why it is `unhealthy` or `starting` longer than expected.
    public var reason: String?
    public var identity: ServerIdentity?
    public var toolCount: Int?
    public var lastProbe: ProbeRecord?
    public var consecutiveFailures: Int
    public var protocolErrors: Int
    /// CPU and memory of the group's leader, read from `/proc` when the snapshot was taken.
    public var stats: ProcessStats?
}

/// Everything known about one server name: its live processes and its history.
public struct ServerSnapshot: Sendable, Hashable {
    public var name: String
    /// Live processes, oldest first (more than one only while a replacement is under way).
    public var instances: [InstanceSnapshot]
    /// When each of the most recent processes was started, oldest first (at most 32).
    public var starts: [Date]
    /// The most recent exits and spawn failures, oldest first (at most 64).
    public var history: [ExitRecord]
    /// Every exit and spawn failure since the controller started.
    public var exits: Int
    /// Every process started since the controller started (`starts` keeps only the last 32).
    public var startCount = 0
    /// Starts that followed an exit nobody asked for (a crash, a failed spawn): restarts in the
    /// Kubernetes sense. Replacements and re-enables are not restarts.
    public var restarts = 0

    public var lastExit: ExitRecord? { history.last }
}

/// A value snapshot of what is running; cheap to copy and safe to hand to any task.
public struct ActualState: Sendable, Hashable {
    public var servers: [String: ServerSnapshot]

    public init(servers: [String: ServerSnapshot] = [:]) {
        self.servers = servers
    }

    /// All live processes, ordered by server name and start.
    public var instances: [InstanceSnapshot] {
        servers.keys.sorted().flatMap { servers[$0]?.instances ?? [] }
    }
}
