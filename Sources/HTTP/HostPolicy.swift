/// Which `Host` values a listener answers to.
///
/// A listener on a loopback address answers only to loopback names (`localhost`, `*.localhost`,
/// `127.x.y.z`, `[::1]`) and the extra names given: a web page whose name an attacker pointed at
/// 127.0.0.1 (DNS rebinding) sends its own name as `Host` and is refused with 421. A listener on
/// any other address accepts every `Host` (there, authentication guards the server).
public struct HostPolicy: Sendable, Hashable {
    public let loopbackOnly: Bool
    public let extraNames: Set<String>

    public init(listenHost: String, extraNames: [String] = []) {
        loopbackOnly = HostPolicy.isLoopbackName(listenHost.lowercased())
        self.extraNames = Set(extraNames.map { $0.lowercased() })
    }

    /// Whether a request with this `Host` value (nil: HTTP/1.0 without one) is answered.
    public func allows(_ host: String?) -> Bool {
        guard loopbackOnly, let host else { return true }
        let name = HostPolicy.stripPort(host.lowercased())
        return HostPolicy.isLoopbackName(name) || extraNames.contains(name)
    }

    static func stripPort(_ host: String) -> String {
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { return host }
            return String(host[...close])
        }
        guard let colon = host.lastIndex(of: ":") else { return host }
        return String(host[..<colon])
    }

    static func isLoopbackName(_ name: String) -> Bool {
        if name == "localhost" || name.hasSuffix(".localhost") || name == "[::1]" || name == "::1" { return true }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { part in UInt8(part).map { _ in true } ?? false }
    }
}
