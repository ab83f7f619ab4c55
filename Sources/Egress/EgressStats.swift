/// One server's egress counters since start (for metrics and `/status`).
public struct EgressStats: Sendable, Hashable {
    /// Connections the policy allowed and the proxy connected.
    public var allowed = 0
    /// Connections refused by policy (403).
    public var denied = 0
    /// Requests refused at the tunnel bound (429).
    public var busy = 0
    /// Allowed connections that failed (resolution, connect, timeout before connecting).
    public var failed = 0
    /// Bytes from the server to upstreams, and back.
    public var bytesSent = 0
    public var bytesReceived = 0
    /// Tunnels open now.
    public var active = 0

    public init() {}
}
