/// A request for the HTTP/1.1 client to send: method, target, header fields and a complete body.
///
/// `serialized(host:)` renders it after checking every part, so that nothing a caller passes
/// (a header value from configuration, a session id from a server) can split the request or
/// smuggle another one: a CR, LF or other control character anywhere, a method or header name
/// that is not a token, or a target with spaces is refused with an `Invalid` error, never a trap.
/// Framing is the serializer's alone: `Host` comes from `host`, `Content-Length` from the body
/// (sent when the body is not empty, and as 0 for an empty POST, PUT or PATCH), and a header
/// list that names `Host`, `Content-Length` or `Transfer-Encoding` itself is refused.
public struct HTTPClientRequest: Sendable, Equatable {
    /// Why a request cannot be rendered.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String

        public init(_ message: String) {
            self.message = message
        }

        public var description: String { message }
    }

    public var method: String
    /// Origin form (`/mcp?x=1`), absolute form or `*`: visible ASCII, no spaces.
    public var target: String
    /// Header fields in order, sent as given (after `Host`, before `Content-Length`).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    /// The request line, `Host`, the headers, `Content-Length` when due, the blank line and the
    /// body, as bytes to write. `host` is the authority (`example.com`, `127.0.0.1:8080`,
    /// `[::1]:80`).
    public func serialized(host: String) throws(Invalid) -> [UInt8] {
        guard !method.isEmpty, method.utf8.allSatisfy(HTTPWireSyntax.isTokenByte) else {
            throw Invalid("invalid method \(method.prefix(32).debugDescription)")
        }
        guard !target.isEmpty, target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw Invalid("invalid request target \(target.prefix(64).debugDescription)")
        }
        guard !host.isEmpty, host.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && !"/?#@".utf8.contains($0) }) else {
            throw Invalid("invalid host \(host.prefix(64).debugDescription)")
        }
        for header in headers {
            guard !header.name.isEmpty, header.name.utf8.allSatisfy(HTTPWireSyntax.isTokenByte) else {
                throw Invalid("invalid header name \(header.name.prefix(32).debugDescription)")
            }
            guard !["host", "content-length", "transfer-encoding"].contains(header.name.lowercased()) else {
                throw Invalid("\(header.name) is set by the serializer")
            }
            // field-value: VCHAR and obs-text, with spaces and tabs only between them.
            let value = header.value.utf8
            guard value.allSatisfy(HTTPWireSyntax.isFieldByte), value.first != 0x20, value.first != 0x09,
                value.last != 0x20, value.last != 0x09
            else {
                throw Invalid("invalid value for header \(header.name)")
            }
        }
        var text = "\(method) \(target) HTTP/1.1\r\nHost: \(host)\r\n"
        for header in headers { text += "\(header.name): \(header.value)\r\n" }
        if !body.isEmpty || ["POST", "PUT", "PATCH"].contains(method) { text += "Content-Length: \(body.count)\r\n" }
        text += "\r\n"
        var bytes = Array(text.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }

    public static func == (lhs: HTTPClientRequest, rhs: HTTPClientRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.body == rhs.body
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }
}
