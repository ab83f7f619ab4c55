import Metering
import Synchronization

/// Health-check latency and failures per server, for metrics. Written by whoever probes (the I/O
/// loop for stdio servers, a task for HTTP ones) and read at scrape time: a lock, not an event
/// per probe, because an event costs task hops on every probe of every server.
public final class ProbeTally: Sendable {
    public struct Server: Sendable, Hashable {
        public var latency = LatencyHistogram()
        public var failures = 0
    }

    private let servers = Mutex<[String: Server]>([:])

    public init() {}

    func record(_ server: String, latency: Duration, succeeded: Bool) {
        servers.withLock { servers in
            servers[server, default: Server()].latency.observe(latency.seconds)
            if !succeeded { servers[server, default: Server()].failures += 1 }
        }
    }

    public func snapshot() -> [String: Server] { servers.withLock { $0 } }

    /// Drops the series of servers not in `names` (removed from the configuration and gone).
    public func retain(_ names: Set<String>) {
        servers.withLock { servers in servers = servers.filter { names.contains($0.key) } }
    }
}
