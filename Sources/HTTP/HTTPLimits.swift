/// What one request may be, and how long a client may take to send it.
public struct HTTPLimits: Sendable, Hashable {
    /// Longest request line (`GET /path HTTP/1.1`), bytes.
    public var requestLine: Int
    /// All header lines together, bytes.
    public var headerBytes: Int
    public var headerCount: Int
    /// Longest body, bytes.
    public var body: Int
    /// Time to receive a whole request once its first byte arrived.
    public var readTimeout: Duration
    /// Time an idle keep-alive connection stays open.
    public var idleTimeout: Duration
    /// Connections served at once; more are answered 503 and closed.
    public var connections: Int

    public init(
        requestLine: Int = 8192, headerBytes: Int = 16384, headerCount: Int = 64, body: Int = 1 << 20,
        readTimeout: Duration = .seconds(10), idleTimeout: Duration = .seconds(60), connections: Int = 256
    ) {
        self.requestLine = requestLine
        self.headerBytes = headerBytes
        self.headerCount = headerCount
        self.body = body
        self.readTimeout = readTimeout
        self.idleTimeout = idleTimeout
        self.connections = connections
    }
}
