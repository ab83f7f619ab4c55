/// Which browser origins may call the gateway (MCP's Streamable HTTP: "Servers MUST validate the
/// `Origin` header"; an invalid one gets 403).
///
/// A request without `Origin` is not from a browser page and passes. Loopback origins
/// (`http://localhost`, `http://127.0.0.1`, `http://[::1]`, any port, http or https) pass, and so
/// do the exact origins in `auth.allowed_origins`; any other page is refused, so that a web page
/// cannot drive the servers through a user's browser.
public struct OriginPolicy: Sendable, Hashable {
    public let allowed: Set<String>

    public init(allowed: [String]) {
        self.allowed = Set(allowed.map { OriginPolicy.normalised($0) })
    }

    public func allows(_ origin: String?) -> Bool {
        guard let origin else { return true }
        let normal = OriginPolicy.normalised(origin)
        return allowed.contains(normal) || OriginPolicy.isLoopback(normal)
    }

    /// Lower case, no trailing slash (origins are `scheme://host[:port]`).
    static func normalised(_ origin: String) -> String {
        var text = origin.lowercased()
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }

    static func isLoopback(_ origin: String) -> Bool {
        for scheme in ["http://", "https://"] where origin.hasPrefix(scheme) {
            let authority = origin.dropFirst(scheme.count)
            for host in ["localhost", "127.0.0.1", "[::1]"] where authority.hasPrefix(host) {
                let rest = authority.dropFirst(host.count)
                if rest.isEmpty { return true }
                if rest.first == ":", rest.count > 1, rest.dropFirst().allSatisfy(\.isASCII), UInt16(rest.dropFirst()) != nil {
                    return true
                }
            }
        }
        return false
    }
}
