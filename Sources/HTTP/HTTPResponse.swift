/// A response to send: status, headers and a body that is either complete or streamed.
public struct HTTPResponse: Sendable {
    public enum Body: Sendable {
        case bytes([UInt8])
        /// Bytes written as the producer makes them (chunked encoding on HTTP/1.1), e.g.
        /// Server-Sent Events; see `HTTPStream`.
        case stream(HTTPStream)
    }

    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Body

    public init(status: Int, headers: [(String, String)] = [], body: Body = .bytes([])) {
        self.status = status
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    /// A text body (`text/plain; charset=utf-8` unless `contentType` says otherwise).
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", contentType)], body: .bytes(Array(text.utf8)))
    }

    /// A JSON body.
    public static func json(_ status: Int, _ bytes: [UInt8], headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: .bytes(bytes))
    }

    /// A Server-Sent Events response streaming what is written to `stream`.
    public static func eventStream(_ stream: HTTPStream, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(
            status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")] + headers,
            body: .stream(stream))
    }

    /// The status line's reason phrase.
    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 421: "Misdirected Request"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The status line and headers, with `Content-Length` or `Transfer-Encoding: chunked` and
    /// `Connection` added. `chunked` is false for an HTTP/1.0 client, whose stream is
    /// delimited by closing the connection instead.
    func head(keepAlive: Bool, chunked: Bool = true) -> [UInt8] {
        // Rendered straight to bytes: this runs for every answer, and string interpolation
        // would allocate a string per piece.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(128 + headers.count * 48)
        bytes += HTTPResponse.statusLinePrefix
        HTTPResponse.appendDecimal(status, to: &bytes)
        bytes.append(0x20)
        bytes += HTTPResponse.reason(status).utf8
        bytes += HTTPResponse.crlf
        for header in headers {
            bytes += header.name.utf8
            bytes += HTTPResponse.colonSpace
            bytes += header.value.utf8
            bytes += HTTPResponse.crlf
        }
        switch body {
        case .bytes(let body):
            bytes += HTTPResponse.contentLength
            HTTPResponse.appendDecimal(body.count, to: &bytes)
            bytes += HTTPResponse.crlf
        case .stream:
            if chunked { bytes += HTTPResponse.chunkedHeader }
        }
        bytes += keepAlive ? HTTPResponse.keepAliveEnd : HTTPResponse.closeEnd
        return bytes
    }

    private static let statusLinePrefix = Array("HTTP/1.1 ".utf8)
    private static let crlf: [UInt8] = [0x0D, 0x0A]
    private static let colonSpace: [UInt8] = [0x3A, 0x20]
    private static let contentLength = Array("Content-Length: ".utf8)
    private static let chunkedHeader = Array("Transfer-Encoding: chunked\r\n".utf8)
    private static let keepAliveEnd = Array("Connection: keep-alive\r\n\r\n".utf8)
    private static let closeEnd = Array("Connection: close\r\n\r\n".utf8)

    /// A non-negative integer's decimal digits, without a temporary string.
    static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        let value = max(value, 0)
        var divisor = 1
        while divisor <= value / 10 { divisor *= 10 }
        while divisor > 0 {
            bytes.append(UInt8(truncatingIfNeeded: 0x30 + value / divisor % 10))
            divisor /= 10
        }
    }
}
