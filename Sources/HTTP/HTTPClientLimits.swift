/// What one response from an untrusted server may be, as read by `HTTPResponseParser`.
///
/// Every limit bounds what the parser buffers or scans: exceeding one throws an `HTTPParseError`
/// (status 502) at the byte where the limit was reached, never after reading further. Body bytes
/// are never buffered (they are handed on as they arrive), so their only bound is the optional
/// `maxBody` on the body's total.
public struct HTTPClientLimits: Sendable, Hashable {
    /// Longest status line (`HTTP/1.1 200 OK`) without its CRLF, bytes; any empty lines tolerated
    /// before it count towards the same budget.
    public var statusLine: Int
    /// All header lines of one response head together, CRLFs included, bytes.
    public var headerBytes: Int
    /// Header fields in one response head.
    public var headerCount: Int
    /// Longest body in total, bytes, whatever its framing; nil for no limit (a stream, e.g.
    /// Server-Sent Events, whose consumer bounds what it keeps).
    public var maxBody: Int?
    /// Longest chunk-size line (the size and its ignored extensions), bytes.
    public var chunkLine: Int
    /// Trailer fields after a chunked body.
    public var trailerCount: Int
    /// All trailer lines together, CRLFs included, bytes.
    public var trailerBytes: Int
    /// Interim (1xx) responses skipped before a final one.
    public var interimResponses: Int

    public init(
        statusLine: Int = 8192, headerBytes: Int = 65536, headerCount: Int = 100, maxBody: Int? = nil, chunkLine: Int = 4096,
        trailerCount: Int = 32, trailerBytes: Int = 16384, interimResponses: Int = 16
    ) {
        self.statusLine = statusLine
        self.headerBytes = headerBytes
        self.headerCount = headerCount
        self.maxBody = maxBody
        self.chunkLine = chunkLine
        self.trailerCount = trailerCount
        self.trailerBytes = trailerBytes
        self.interimResponses = interimResponses
    }
}
