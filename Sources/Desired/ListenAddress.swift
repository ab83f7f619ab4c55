/// Where the controller listens: `HOST:PORT` or `[IPv6]:PORT`.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        var host = text[..<colon]
        let port = text[text.index(after: colon)...]
        guard (1...5).contains(port.count), port.allSatisfy(\.isASCIIDigit), let number = Int(port),
            (0...65535).contains(number)
        else { return nil }
        if host.hasPrefix("[") && host.hasSuffix("]") {
            host = host.dropFirst().dropLast()
            guard !host.isEmpty,
                host.utf8.allSatisfy({
                    StringFormat.isAlphanumeric($0) && !(0x47...0x5A).contains($0) && !(0x67...0x7A).contains($0) || $0 == UInt8(ascii: ":")
                        || $0 == UInt8(ascii: ".")
                })
            else { return nil }
        } else {
            guard !host.isEmpty,
                host.utf8.allSatisfy({ StringFormat.isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
            else { return nil }
        }
        self.host = String(host)
        self.port = number
    }

    /// True for 127.0.0.0/8 (a real dotted quad), ::1 and localhost: where no token is required.
    public var isLoopback: Bool {
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets.first == "127" else { return false }
        return octets.allSatisfy { $0.count <= 3 && $0.allSatisfy(\.isASCIIDigit) && (Int($0) ?? 256) <= 255 }
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
