/// An egress allow-list entry: `api.example.com`, `*.example.com`, either with `:port`.
public enum HostPattern {
    public static func isValid(_ text: String) -> Bool {
        var host = Substring(text)
        if host.hasPrefix("*.") { host = host.dropFirst(2) }
        if let colon = host.firstIndex(of: ":") {
            let port = host[host.index(after: colon)...]
            guard (1...5).contains(port.count), port.allSatisfy(\.isASCIIDigit) else { return false }
            host = host[..<colon]
        }
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy(isLabel)
    }

    /// 1-63 of a-z, 0-9 and -, not starting or ending with -.
    static func isLabel(_ label: Substring) -> Bool {
        let bytes = Array(label.utf8)
        guard (1...63).contains(bytes.count) else { return false }
        func alnum(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        guard let first = bytes.first, let last = bytes.last, alnum(first), alnum(last) else { return false }
        return bytes.allSatisfy { alnum($0) || $0 == UInt8(ascii: "-") }
    }

    /// Whether `host` (lower case, no port) is allowed by `pattern` (ports ignored).
    public static func matches(_ pattern: String, host: String) -> Bool {
        let bare = pattern.split(separator: ":", maxSplits: 1).first.map(String.init) ?? pattern
        if bare.hasPrefix("*.") {
            return host.hasSuffix(bare.dropFirst(1))
        }
        return bare == host
    }
}
