/// A server's egress allow-list and the decisions made from it. Pure: resolution happens
/// elsewhere, and `check(addresses:)` decides on what it returned.
public struct EgressPolicy: Sendable, Hashable {
    public let rules: [EgressRule]
    /// Entries that could not be parsed (the manifest schema should have refused them).
    public let invalid: [String]

    public init(_ entries: [String]) {
        var rules: [EgressRule] = []
        var invalid: [String] = []
        for entry in entries {
            if let rule = EgressRule(entry) { rules.append(rule) } else { invalid.append(entry) }
        }
        self.rules = rules
        self.invalid = invalid
    }

    /// Nil when some entry allows `host:port` (host as `EgressRule.normalise` returns it),
    /// else why not.
    public func checkName(_ host: String, port: UInt16) -> String? {
        if rules.contains(where: { $0.matches(host: host, port: port) }) { return nil }
        // The name is listed, for other ports: say so (it is the usual mistake).
        if rules.contains(where: { rule in rule.matches(host: host, port: rule.port ?? 443) }) {
            return "port \(port) is not allowed for \(host)"
        }
        return "\(host) is not in the egress list"
    }

    /// The addresses a connection may go to, in the order given: every address outside the
    /// internal ranges, and those inside only when an entry names them literally. Empty with a
    /// reason when none is left.
    public func check(addresses: [IPAddress], port: UInt16) -> (allowed: [IPAddress], reason: String?) {
        let allowed = addresses.filter { address in
            !address.isInternal || rules.contains { $0.names(address, port: port) }
        }
        if !allowed.isEmpty { return (allowed, nil) }
        guard let first = addresses.first else { return ([], "the name does not resolve") }
        return ([], "resolves to \(first), an internal address no egress entry names")
    }
}
