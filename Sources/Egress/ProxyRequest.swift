import HTTP

/// Where a proxy request goes: `CONNECT host:port` (a tunnel) or an absolute-form
/// `GET http://host[:port]/path` (forwarded), with the host normalised for the policy.
struct ProxyTarget: Sendable, Hashable {
    var host: String
    var port: UInt16
    /// Nil for a tunnel; the origin-form target (`/path?query`) for a forwarded request.
    var path: String?

    enum Failure: Error, Hashable {
        case badRequest(String)
    }

    /// Reads the target of `request`; a text for a 400 when it is not a proxy request.
    static func parse(_ request: HTTPRequest) -> Result<ProxyTarget, Failure> {
        if request.method == "CONNECT" {
            guard let (host, port) = authority(Substring(request.target), defaultPort: nil) else {
                return .failure(.badRequest("CONNECT needs host:port"))
            }
            return .success(ProxyTarget(host: host, port: port, path: nil))
        }
        let target = request.target
        guard target.utf8.count > 7, target.prefix(7).lowercased() == "http://" else {
            if target.lowercased().hasPrefix("https://") {
                return .failure(.badRequest("https:// is reached through CONNECT"))
            }
            return .failure(.badRequest("a proxy request needs an absolute http:// target or CONNECT"))
        }
        let rest = target.dropFirst(7)
        let end = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        guard let (host, port) = authority(rest[..<end], defaultPort: 80) else {
            return .failure(.badRequest("the target's host is not valid"))
        }
        var path = String(rest[end...])
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        return .success(ProxyTarget(host: host, port: port, path: path))
    }

    /// `host`, `host:port`, `[v6]` or `[v6]:port`, without userinfo.
    static func authority(_ text: Substring, defaultPort: UInt16?) -> (String, UInt16)? {
        guard !text.contains("@") else { return nil }
        var hostPart = text
        var port = defaultPort
        if let close = text.lastIndex(of: "]") {
            let after = text[text.index(after: close)...]
            hostPart = text[...close]
            if !after.isEmpty {
                guard after.first == ":", let number = UInt16(after.dropFirst()), number > 0 else { return nil }
                port = number
            }
        } else if let colon = text.lastIndex(of: ":") {
            guard let number = UInt16(text[text.index(after: colon)...]), number > 0 else { return nil }
            port = number
            hostPart = text[..<colon]
        }
        guard let port, let host = EgressRule.normalise(String(hostPart)) else { return nil }
        return (host, port)
    }

    /// The request as forwarded upstream: origin-form target, `Host` from the target, hop-by-hop
    /// headers and every `Proxy-*` header removed (the credentials never leave the proxy),
    /// `Connection: close` (one request per connection), the body re-framed by length.
    static func forwarded(_ request: HTTPRequest, to target: ProxyTarget) -> [UInt8] {
        // `Expect` too: the proxy answered it and has the whole body.
        var named: Set<String> = [
            "connection", "keep-alive", "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length", "expect",
        ]
        for value in request.values("Connection") {
            for token in value.split(separator: ",") { named.insert(token.trimmingCharacters(in: .whitespaces).lowercased()) }
        }
        let host = target.host.contains(":") ? "[\(target.host)]" : target.host
        var head = "\(request.method) \(target.path ?? "/") HTTP/1.1\r\nHost: \(target.port == 80 ? host : "\(host):\(target.port)")\r\n"
        for field in request.headers {
            let name = field.name.lowercased()
            if named.contains(name) || name.hasPrefix("proxy-") { continue }
            head += "\(field.name): \(field.value)\r\n"
        }
        if !request.body.isEmpty || !["GET", "HEAD", "DELETE", "OPTIONS"].contains(request.method) {
            head += "Content-Length: \(request.body.count)\r\n"
        }
        head += "Connection: close\r\n\r\n"
        return Array(head.utf8) + request.body
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: Set<Character>) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return text
    }
}

extension Set<Character> {
    fileprivate static let whitespaces: Set<Character> = [" ", "\t"]
}

/// The proxy's own answers: a status line, a short text body, `Connection: close`.
enum ProxyResponse {
    static func text(_ status: Int, _ reason: String, _ body: String, extra: [String] = []) -> [UInt8] {
        let text = body + "\n"
        var head = "HTTP/1.1 \(status) \(reason)\r\nContent-Type: text/plain; charset=utf-8\r\n"
        for line in extra { head += line + "\r\n" }
        head += "Content-Length: \(text.utf8.count)\r\nConnection: close\r\n\r\n"
        return Array((head + text).utf8)
    }

    static let established = Array("HTTP/1.1 200 Connection Established\r\n\r\n".utf8)
    static let `continue` = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
}
