/// One entry of a manifest's `egress:` list, parsed: an exact host, a `*.suffix`, or a literal
/// IP address, each with an optional port.
///
/// Without a port an entry allows ports 80 and 443 only: that is where nearly every API lives,
/// and "any port" would turn `api.example.com` into a path to its SSH or database ports. A
/// server that needs another port names it (`api.example.com:8443`).
public struct EgressRule: Sendable, Hashable, CustomStringConvertible {
    public enum Host: Sendable, Hashable {
        /// A lower-case name without a trailing dot.
        case exact(String)
        /// `*.example.com` as `.example.com`: any name ending so (not `example.com` itself).
        case suffix(String)
        /// A literal address: allows connecting to it even in an internal range.
        case address(IPAddress)
    }

    public static let defaultPorts: Set<UInt16> = [80, 443]

    public let host: Host
    public let port: UInt16?

    /// Nil for text that is not `host`, `*.suffix` or an IPv4 address, optionally with `:port`
    /// (1...65535). Case and a trailing dot are ignored.
    public init?(_ text: String) {
        var rest = Substring(text.lowercased())
        var port: UInt16?
        if let colon = rest.lastIndex(of: ":") {
            let digits = rest[rest.index(after: colon)...]
            guard (1...5).contains(digits.count), digits.allSatisfy({ $0 >= "0" && $0 <= "9" }), let number = UInt16(digits), number > 0
            else { return nil }
            port = number
            rest = rest[..<colon]
        }
        if rest.hasSuffix(".") { rest = rest.dropLast() }
        if rest.hasPrefix("*.") {
            let domain = rest.dropFirst(2)
            guard EgressRule.isHostName(domain) else { return nil }
            host = .suffix("." + domain)
        } else if let address = IPAddress(String(rest)), address.isV4 {
            host = .address(address)
        } else {
            guard EgressRule.isHostName(rest) else { return nil }
            host = .exact(String(rest))
        }
        self.port = port
    }

    /// Whether a connection to `port` is allowed by this entry's port (or the default ports).
    public func allows(port: UInt16) -> Bool {
        self.port.map { $0 == port } ?? EgressRule.defaultPorts.contains(port)
    }

    /// Whether the requested `host` (normalised: `EgressRule.normalise`) and port match.
    public func matches(host requested: String, port: UInt16) -> Bool {
        guard allows(port: port) else { return false }
        switch host {
        case .exact(let name): return name == requested
        case .suffix(let suffix): return requested.count > suffix.count && requested.hasSuffix(suffix)
        case .address(let address): return IPAddress(requested) == address
        }
    }

    /// Whether this entry names `address` literally, for `port`.
    public func names(_ address: IPAddress, port: UInt16) -> Bool {
        guard case .address(let named) = host else { return false }
        return named == address && allows(port: port)
    }

    public var description: String {
        let name: String
        switch host {
        case .exact(let text): name = text
        case .suffix(let suffix): name = "*" + suffix
        case .address(let address): name = address.description
        }
        return port.map { "\(name):\($0)" } ?? name
    }

    /// A requested host as rules compare it: lower case, without a trailing dot or IPv6
    /// brackets; nil when it is empty or holds bytes no host name or address has.
    public static func normalise(_ host: String) -> String? {
        var text = Substring(host.lowercased())
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = text.dropFirst().dropLast()
            return IPAddress(String(text)).map { _ in String(text) }
        }
        if text.hasSuffix(".") { text = text.dropLast() }
        guard !text.isEmpty, text.utf8.count <= 253,
            text.utf8.allSatisfy({ (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D || $0 == 0x2E || $0 == 0x5F })
        else { return nil }
        return String(text)
    }

    static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        return text.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            let bytes = Array(label.utf8)
            guard (1...63).contains(bytes.count), bytes.first != 0x2D, bytes.last != 0x2D else { return false }
            return bytes.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2D }
        }
    }
}
