import Foundation
import Glibc

/// The `fetch` tool: an HTTP GET that honours the proxy variables a server is given
/// (`HTTP_PROXY`/`http_proxy`, `HTTPS_PROXY`/`https_proxy`, `NO_PROXY`/`no_proxy`), as the
/// egress tests and a user's server would.
///
/// - `http://` URLs: an absolute-form GET to the proxy, with `Proxy-Authorization: Basic` from
///   the proxy URL's userinfo (or a plain GET to the host when no proxy applies).
/// - `https://` URLs: the demo speaks no TLS. Through a proxy it sends `CONNECT host:port` and
///   reports whether the tunnel was opened (then closes it without a request); without a proxy
///   it returns an error result.
/// - `direct: true` ignores the proxy variables (to show that bypassing the proxy fails where
///   the network allows only the proxy).
///
/// Refusals (any status other than 2xx) and failures are error results (`isError: true`) with
/// the status or reason. The body returned is at most 64 KiB of text; the byte count is whole
/// (up to 64 MiB read). Credentials are never part of a result.
enum FetchTool {
    static let maxBodyText = 64 << 10
    static let maxRead = 64 << 20
    static let timeoutSeconds = 10

    static func run(_ arguments: JSONValue) -> ToolResult {
        guard let text = arguments["url"]?.stringValue, let url = Target(text) else {
            return .failure("Invalid arguments for fetch: \"url\" is required and must be an http:// or https:// URL.")
        }
        var direct = false
        if case .bool(true)? = arguments["direct"] { direct = true }
        let proxy = direct ? nil : ProxySetting.forTarget(url)
        do {
            if url.secure {
                guard let proxy else { return .failure("fetch \(text): https is not supported without a proxy (mcp-demo speaks no TLS)") }
                return try tunnel(to: url, via: proxy)
            }
            return try get(url, via: proxy)
        } catch {
            return .failure("fetch \(text) failed: \(error.message)")
        }
    }

    private static func get(_ url: Target, via proxy: ProxySetting?) throws(FetchError) -> ToolResult {
        let connection = try Connection(host: proxy?.host ?? url.host, port: proxy?.port ?? url.port)
        defer { connection.close() }
        var head = "GET \(proxy == nil ? url.path : url.absolute) HTTP/1.1\r\nHost: \(url.authority)\r\n"
        if let credentials = proxy?.credentials { head += "Proxy-Authorization: Basic \(credentials)\r\n" }
        head += "User-Agent: mcp-demo\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        try connection.send(Array(head.utf8))
        let response = try Response.read(from: connection)
        return response.result(for: url.absolute)
    }

    private static func tunnel(to url: Target, via proxy: ProxySetting) throws(FetchError) -> ToolResult {
        let connection = try Connection(host: proxy.host, port: proxy.port)
        defer { connection.close() }
        var head = "CONNECT \(url.host):\(url.port) HTTP/1.1\r\nHost: \(url.host):\(url.port)\r\n"
        if let credentials = proxy.credentials { head += "Proxy-Authorization: Basic \(credentials)\r\n" }
        head += "User-Agent: mcp-demo\r\n\r\n"
        try connection.send(Array(head.utf8))
        let response = try Response.read(from: connection, headOnly: true)
        guard (200...299).contains(response.status) else { return response.result(for: url.absolute) }
        return ToolResult(
            text: "tunnel to \(url.host):\(url.port) established (HTTP \(response.status)); mcp-demo speaks no TLS, so no request was sent",
            structured: .object([("status", .integer(response.status)), ("tunnel", .bool(true))]))
    }
}

/// A URL the tool fetches.
struct Target {
    var secure: Bool
    var host: String
    var port: Int
    var path: String
    var absolute: String

    init?(_ text: String) {
        let lower = text.lowercased()
        let rest: Substring
        if lower.hasPrefix("http://") {
            secure = false
            rest = text.dropFirst(7)
        } else if lower.hasPrefix("https://") {
            secure = true
            rest = text.dropFirst(8)
        } else {
            return nil
        }
        guard text.utf8.count <= 4096, text.utf8.allSatisfy({ (0x21...0x7E).contains($0) }) else { return nil }
        let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<end]
        // Userinfo in the target URL is not sent anywhere: it is dropped.
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard let (host, port) = Target.split(authority, defaultPort: secure ? 443 : 80) else { return nil }
        self.host = host
        self.port = port
        var path = String(rest[end...].prefix { $0 != "#" })
        if path.isEmpty || path.hasPrefix("?") { path = "/" + path }
        self.path = path
        absolute =
            (secure ? "https://" : "http://") + (port == (secure ? 443 : 80) ? Target.bracket(host) : "\(Target.bracket(host)):\(port)")
            + path
    }

    var authority: String { port == (secure ? 443 : 80) ? Target.bracket(host) : "\(Target.bracket(host)):\(port)" }

    static func bracket(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// `host`, `host:port`, `[v6]`, `[v6]:port`.
    static func split(_ authority: Substring, defaultPort: Int) -> (String, Int)? {
        var host = authority
        var port = defaultPort
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":", let number = Int(after.dropFirst()), (1...65535).contains(number) else { return nil }
                port = number
            }
        } else if let colon = authority.lastIndex(of: ":") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else { return nil }
            port = number
            host = authority[..<colon]
        }
        guard !host.isEmpty else { return nil }
        return (host.lowercased(), port)
    }
}

/// The proxy a fetch goes through, from the environment.
struct ProxySetting {
    var host: String
    var port: Int
    /// base64 of `user:password`, percent-decoded from the URL's userinfo.
    var credentials: String?

    /// The proxy for `target`, or nil when none is set or `NO_PROXY` names the host.
    static func forTarget(_ target: Target) -> ProxySetting? {
        let names = target.secure ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
        guard let value = names.lazy.compactMap(variable).first(where: { !$0.isEmpty }) else { return nil }
        let exempt = ["no_proxy", "NO_PROXY"].lazy.compactMap(variable).first ?? ""
        if bypasses(target.host, exempt) { return nil }
        return parse(value)
    }

    /// Whether `NO_PROXY` (comma-separated names, `.suffix` or `suffix`, `*`) covers `host`.
    static func bypasses(_ host: String, _ list: String) -> Bool {
        for raw in list.split(separator: ",") {
            var entry = raw.trimmingCharacters(in: .whitespaces).lowercased()
            if entry == "*" { return true }
            if entry.hasPrefix(".") { entry.removeFirst() }
            if entry.isEmpty { continue }
            if host == entry || host.hasSuffix("." + entry) { return true }
        }
        return false
    }

    /// `http://[user:password@]host[:port][/]`.
    static func parse(_ text: String) -> ProxySetting? {
        var rest = Substring(text)
        if rest.lowercased().hasPrefix("http://") { rest = rest.dropFirst(7) }
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        var credentials: String?
        if let at = rest.lastIndex(of: "@") {
            let userinfo = String(rest[..<at]).removingPercentEncoding ?? String(rest[..<at])
            credentials = Data(userinfo.utf8).base64EncodedString()
            rest = rest[rest.index(after: at)...]
        }
        guard let (host, port) = Target.split(rest, defaultPort: 80) else { return nil }
        return ProxySetting(host: host, port: port, credentials: credentials)
    }

    private static func variable(_ name: String) -> String? {
        // The demo is a stand-alone peer: it reads its own environment (see EnvironmentFlags).
        getenv(name).map { String(cString: $0) }
    }
}

/// Why a fetch failed, without credentials.
struct FetchError: Error {
    var message: String
}
