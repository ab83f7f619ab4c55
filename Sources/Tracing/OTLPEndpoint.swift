import HTTP

/// Where spans go: `otel.endpoint` (an OTLP/HTTP base URL such as `http://127.0.0.1:4318`) with
/// `/v1/traces` appended, as OTLP/HTTP specifies for a base URL (a URL that already ends in
/// `/v1/traces` is taken as it is). Plain `http://` only: the controller's HTTP client has no
/// TLS, so the collector is expected on loopback or inside the cluster.
public struct OTLPEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var origin: HTTPOrigin
    /// The request target, `/v1/traces` or `<path>/v1/traces`.
    public var target: String

    /// Why a URL cannot be an endpoint.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    public init(_ url: String) throws(Invalid) {
        guard url.utf8.count <= 2048 else { throw Invalid(description: "the URL is longer than 2048 bytes") }
        if url.lowercased().hasPrefix("https://") {
            throw Invalid(description: "https is not supported (the controller's HTTP client has no TLS): use an http:// collector")
        }
        guard url.lowercased().hasPrefix("http://") else { throw Invalid(description: "\"\(url)\" is not an http:// URL") }
        let rest = url.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = String(rest[authorityEnd...])
        guard !path.contains("?"), !path.contains("#") else { throw Invalid(description: "the URL must have no query or fragment") }
        guard !authority.contains("@") else { throw Invalid(description: "the URL must carry no user name or password") }
        let host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Invalid(description: "unclosed [ in \"\(authority)\"") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Invalid(description: "\"\(authority)\" is not HOST[:PORT]") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw Invalid(description: "\"\(url)\" names no host") }
        var port = 80
        if let portText {
            guard let number = Int(portText), portText.allSatisfy(\.isASCII), (1...65535).contains(number) else {
                throw Invalid(description: "\"\(portText)\" is not a port from 1 to 65535")
            }
            port = number
        }
        while path.hasSuffix("/") { path.removeLast() }
        if !path.hasSuffix("/v1/traces") { path += "/v1/traces" }
        guard path.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw Invalid(description: "the path must be visible ASCII") }
        origin = HTTPOrigin(host: String(host), port: port)
        target = path
    }

    public var description: String { "http://\(origin)\(target)" }
}
