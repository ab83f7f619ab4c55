import Desired

/// Names on the aggregate endpoint `/mcp`: `<server>__<name>`, routed by that prefix. Server
/// names never contain `_`, so the first `__` splits a name unambiguously and two servers never
/// collide. A name longer than `maxLength` is cut and given a stable hash suffix of the whole
/// pair, so it stays unique and the same on every listing; such names are resolved through the
/// mapping the last listing recorded.
enum AggregateNames {
    static let separator = "__"
    static let maxLength = 64

    static func publicName(server: String, name: String) -> String {
        let full = server + separator + name
        guard full.utf8.count > maxLength else { return full }
        let digest = SHA256.digest(Array((server + "\u{0}" + name).utf8))
        let suffix = "-" + digest.prefix(4).map { TraceContext.hex(UInt64($0), digits: 2) }.joined()
        var cut = ""
        for character in full where cut.utf8.count + character.utf8.count + suffix.utf8.count <= maxLength {
            cut.append(character)
        }
        return cut + suffix
    }

    /// The server and its own name for a public name: from `known` (the last listing's
    /// mapping, which holds every cut name), else by splitting at the first separator.
    static func resolve(_ publicName: String, known: [String: (String, String)]) -> (server: String, name: String)? {
        if let pair = known[publicName] { return pair }
        guard let range = publicName.range(of: separator) else { return nil }
        let server = String(publicName[..<range.lowerBound])
        let name = String(publicName[range.upperBound...])
        guard !server.isEmpty, !name.isEmpty else { return nil }
        return (server, name)
    }
}
