import Desired

/// How the supervisor starts, talks to and stops processes.
public struct SupervisorOptions: Sendable {
    /// Relative commands (`./bin/x`) and relative `cwd`s are resolved against it; the default `cwd`.
    public var root: String
    /// Where the leftover-process ledger lives (`<root>/var`); nil keeps no ledger.
    public var stateDirectory: String?
    /// Searched for bare commands after the child's `PATH`: the running controller's directory.
    public var helperDirectory: String?
    /// The controller's environment, for the child's baseline (`PATH`, `HOME`, `LANG`, `TMPDIR`).
    public var environment: Environment
    public var stop: StopPolicy
    /// Longest JSON-RPC message accepted from a server's stdout.
    public var maxMessageBytes: Int
    /// stderr lines per second (and burst) before lines are dropped and counted.
    public var stderrLinesPerSecond: Double
    public var stderrBurst: Int
    /// Events buffered for a slow consumer of `Supervisor.events` before the oldest are dropped.
    public var eventBuffer: Int
    /// How often running servers are searched for escapees (recorded for the next run after a
    /// crash); nil: only when a server stops.
    public var escapeCensusInterval: Duration?
    /// How long a child may take to get through `execve` before its start fails.
    public var execTimeoutMilliseconds: Int32
    /// The egress proxy every started process is registered with; nil: children get no proxy
    /// variables (tests of supervision alone).
    public var egress: (any EgressBroker)?
    /// Whether `isolation: network` servers can be started here; nil: `IsolationProbe`'s cached
    /// answer (probed once per process). Tests inject an answer.
    public var isolation: IsolationSupport?

    public init(
        root: String, stateDirectory: String? = nil, helperDirectory: String? = CommandResolver.runningBinaryDirectory(),
        environment: Environment, stop: StopPolicy = StopPolicy(), maxMessageBytes: Int = 16 << 20,
        stderrLinesPerSecond: Double = 50, stderrBurst: Int = 200, eventBuffer: Int = 10_000,
        escapeCensusInterval: Duration? = .seconds(5), execTimeoutMilliseconds: Int32 = 10_000,
        egress: (any EgressBroker)? = nil, isolation: IsolationSupport? = nil
    ) {
        self.root = root
        self.stateDirectory = stateDirectory
        self.helperDirectory = helperDirectory
        self.environment = environment
        self.stop = stop
        self.maxMessageBytes = maxMessageBytes
        self.stderrLinesPerSecond = stderrLinesPerSecond
        self.stderrBurst = stderrBurst
        self.eventBuffer = eventBuffer
        self.escapeCensusInterval = escapeCensusInterval
        self.execTimeoutMilliseconds = execTimeoutMilliseconds
        self.egress = egress
        self.isolation = isolation
    }
}
