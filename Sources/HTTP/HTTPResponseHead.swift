/// The status line and header fields of one final (non-1xx) HTTP/1.1 response, as read by
/// `HTTPResponseParser`, with how its body is framed.
public struct HTTPResponseHead: Sendable, Equatable, CustomStringConvertible {
    /// How the body that follows the head is delimited (RFC 9112 §6.3).
    public enum Framing: Sendable, Hashable {
        /// No body at all: a response to HEAD, a 1xx, 204 or 304 (whatever its headers say), or
        /// `Content-Length: 0`.
        case noBody
        /// Exactly this many bytes (`Content-Length`, greater than zero).
        case length(Int)
        /// `Transfer-Encoding: chunked`.
        case chunked
        /// Everything until the server closes the connection (neither header).
        case untilClose
    }

    /// The status code, 100...599.
    public var status: Int
    /// The reason phrase as sent (possibly empty); RFC 9112 §4 says to ignore it.
    public var reason: String
    /// `HTTP/1.0` or `HTTP/1.1` (or a later `HTTP/1.x`, read as 1.1).
    public var version: String
    /// Header fields in order; names as sent (compare case-insensitively with `header(_:)`).
    public var headers: [(name: String, value: String)]
    public var framing: Framing

    public init(
        status: Int, reason: String = "", version: String = "HTTP/1.1", headers: [(String, String)] = [], framing: Framing = .noBody
    ) {
        self.status = status
        self.reason = reason
        self.version = version
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.framing = framing
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { HTTPWireSyntax.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of a header, by case-insensitive name, in order.
    public func values(_ name: String) -> [String] {
        headers.filter { HTTPWireSyntax.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// Whether the connection may carry another request once this response's body has ended:
    /// not for a close-delimited body nor `Connection: close`; an HTTP/1.0 response only with
    /// `Connection: keep-alive`. (The parser must also be idle: see `HTTPResponseParser.isIdle`.)
    public var keepAlive: Bool {
        if framing == .untilClose { return false }
        let tokens = values("Connection").flatMap { $0.split(separator: ",") }.map { HTTPWireSyntax.trimmingOWS($0).lowercased() }
        if tokens.contains("close") { return false }
        return version == "HTTP/1.0" ? tokens.contains("keep-alive") : true
    }

    public var description: String { "\(version) \(status) \(reason) (\(headers.count) headers, \(framing))" }

    public static func == (lhs: HTTPResponseHead, rhs: HTTPResponseHead) -> Bool {
        lhs.status == rhs.status && lhs.reason == rhs.reason && lhs.version == rhs.version && lhs.framing == rhs.framing
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}
