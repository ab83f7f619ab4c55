/// What one request may be, how long each phase of a connection may take, and how many
/// connections the server holds.
///
/// Each phase has its own deadline, so no client can hold a connection longer than the phase it
/// is in allows: `headTimeout` from the first byte of a request (or from accepting the
/// connection) to its last header, `bodyTimeout` from the end of the head to the end of the
/// body, `idleTimeout` between a response and the next request on a kept-alive connection, and
/// `sendTimeout` for writing one whole response (for a stream: for the oldest unsent byte).
public struct HTTPLimits: Sendable, Hashable {
    /// Longest request line (`GET /path HTTP/1.1`), bytes.
    public var requestLine: Int
    /// All header lines together (trailers included), bytes.
    public var headerBytes: Int
    /// Header fields, trailers included.
    public var headerCount: Int
    /// Longest body, bytes.
    public var body: Int
    /// Longer bodies for targets under these path prefixes (the longest matching prefix wins),
    /// so that an API that takes large messages does not raise the limit for every path.
    public var bodyByPrefix: [String: Int]
    public var headTimeout: Duration
    public var bodyTimeout: Duration
    public var idleTimeout: Duration
    public var sendTimeout: Duration
    /// Connections held at once, from everyone.
    public var connections: Int
    /// Connections held at once from one peer address.
    public var connectionsPerPeer: Int
    /// Connections accepted beyond the caps to answer the always-served paths (health probes);
    /// any other request on them gets 503.
    public var reserve: Int
    /// Requests read ahead of their answers on one connection (pipelining); reading pauses
    /// beyond it.
    public var pipelineDepth: Int
    /// Unsent response bytes one connection may hold; a client that does not read a stream is
    /// dropped once it has this much waiting.
    public var outputBuffer: Int

    public init(
        requestLine: Int = 8192, headerBytes: Int = 16384, headerCount: Int = 64, body: Int = 4 << 20,
        headTimeout: Duration = .seconds(5), bodyTimeout: Duration = .seconds(30), idleTimeout: Duration = .seconds(60),
        sendTimeout: Duration = .seconds(30), connections: Int = 8192, connectionsPerPeer: Int = 4096, reserve: Int = 64,
        pipelineDepth: Int = 16, outputBuffer: Int = 1 << 20, bodyByPrefix: [String: Int] = [:]
    ) {
        self.requestLine = requestLine
        self.headerBytes = headerBytes
        self.headerCount = headerCount
        self.body = body
        self.bodyByPrefix = bodyByPrefix
        self.headTimeout = headTimeout
        self.bodyTimeout = bodyTimeout
        self.idleTimeout = idleTimeout
        self.sendTimeout = sendTimeout
        self.connections = connections
        self.connectionsPerPeer = connectionsPerPeer
        self.reserve = reserve
        self.pipelineDepth = pipelineDepth
        self.outputBuffer = outputBuffer
    }

    /// The body limit for a request to `target`.
    public func bodyLimit(for target: String) -> Int {
        var limit = body
        var matched = -1
        for (prefix, value) in bodyByPrefix where prefix.count > matched && target.hasPrefix(prefix) {
            limit = value
            matched = prefix.count
        }
        return limit
    }
}

extension Duration {
    /// Whole nanoseconds (saturating; 0 for a negative duration), for deadlines on the event
    /// loop's clock (`EventLoop.now()`).
    public var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        return overflow ? UInt64.max / 2 : whole + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
