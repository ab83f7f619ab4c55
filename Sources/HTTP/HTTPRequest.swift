/// One parsed HTTP/1.1 request.
public struct HTTPRequest: Sendable, Hashable {
    public var method: String
    /// The request target as sent (origin form: path and query).
    public var target: String
    public var version: String
    /// Header fields in order; names as sent (compare case-insensitively with `header(_:)`).
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(method: String, target: String, version: String = "HTTP/1.1", headers: [(String, String)] = [], body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers.map { (name: $0.0, value: $0.1) }
        self.body = body
    }

    /// The first value of a header, by case-insensitive name.
    public func header(_ name: String) -> String? {
        headers.first { HTTPWireSyntax.equalsIgnoringCase($0.name, name) }?.value
    }

    /// Every value of a header, by case-insensitive name, in order.
    public func values(_ name: String) -> [String] {
        headers.filter { HTTPWireSyntax.equalsIgnoringCase($0.name, name) }.map(\.value)
    }

    /// The path without the query.
    public var path: String { String(target.prefix { $0 != "?" }) }

    /// The query's `name=value` pairs (percent-decoding `%XX` and `+`).
    public var query: [String: String] {
        guard let mark = target.firstIndex(of: "?") else { return [:] }
        var pairs: [String: String] = [:]
        for item in target[target.index(after: mark)...].split(separator: "&") {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = HTTPRequest.decode(parts[0])
            pairs[name] = parts.count > 1 ? HTTPRequest.decode(parts[1]) : ""
        }
        return pairs
    }

    /// Whether the connection stays open after this request (HTTP/1.1 default; `Connection`).
    /// An HTTP/1.0 request with `Transfer-Encoding` never does (RFC 9112 §6.1: its framing may
    /// have been misread by an intermediary, so the connection is not reused).
    public var keepAlive: Bool {
        // `Connection` is a comma-separated list of tokens, possibly over several fields.
        var close = false
        var keepAlive = false
        for field in headers where HTTPWireSyntax.equalsIgnoringCase(field.name, "connection") {
            for token in field.value.split(separator: ",") {
                let name = String(HTTPWireSyntax.trimmingOWS(token))
                if HTTPWireSyntax.equalsIgnoringCase(name, "close") { close = true }
                if HTTPWireSyntax.equalsIgnoringCase(name, "keep-alive") { keepAlive = true }
            }
        }
        if version == "HTTP/1.0" { return keepAlive && !close && header("Transfer-Encoding") == nil }
        return !close
    }

    public static func == (lhs: HTTPRequest, rhs: HTTPRequest) -> Bool {
        lhs.method == rhs.method && lhs.target == rhs.target && lhs.version == rhs.version
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
            && lhs.body == rhs.body
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(method)
        hasher.combine(target)
        hasher.combine(body)
    }

    private static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var index = text.utf8.startIndex
        let utf8 = text.utf8
        while index < utf8.endIndex {
            let byte = utf8[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else if byte == UInt8(ascii: "%"), utf8.distance(from: index, to: utf8.endIndex) >= 3,
                let value = UInt8(
                    String(decoding: utf8[utf8.index(after: index)..<utf8.index(index, offsetBy: 3)], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                index = utf8.index(index, offsetBy: 2)
            } else {
                bytes.append(byte)
            }
            index = utf8.index(after: index)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
