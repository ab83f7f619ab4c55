import Glibc

/// An IPv4 (4 bytes) or IPv6 (16 bytes) address, and whether it lies in a range the proxy keeps
/// servers out of unless a manifest names the address itself.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// Parses a dotted quad or an IPv6 text (brackets allowed); nil for anything else,
    /// including the shorthand forms `inet_aton` would take (`127.1`, `0x7f.1`).
    public init?(_ text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, text.count <= 45 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, String(text), &v6) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &v6) { Array($0) }
    }

    public var isV4: Bool { bytes.count == 4 }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isV4 ? bytes[0] == 127 : bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
    }

    /// Loopback, private, link-local, shared (CGNAT), unspecified, multicast, broadcast and
    /// reserved ranges, and the IPv6 forms that embed such an IPv4 address. A proxy that
    /// connected there for a public-looking name would let a server reach the host's own
    /// network by DNS rebinding.
    public var isInternal: Bool {
        isV4 ? IPAddress.isInternalV4(bytes[0], bytes[1]) : isInternalV6
    }

    static func isInternalV4(_ a: UInt8, _ b: UInt8) -> Bool {
        switch a {
        case 0, 10, 127: true  // "this network", private, loopback
        case 100: (64...127).contains(b)  // 100.64/10 shared address space
        case 169: b == 254  // link-local (cloud metadata lives here)
        case 172: (16...31).contains(b)
        case 192: b == 168  // 192.168/16 (192.0.0/24 and the documentation nets are not routed either)
        case 198: b == 18 || b == 19  // 198.18/15 benchmarking
        case 224...255: true  // multicast, reserved, broadcast
        default: false
        }
    }

    private var isInternalV6: Bool {
        let b = bytes
        // ::/96 holds :: (unspecified), ::1 (loopback) and the deprecated IPv4-compatible form.
        if b[0..<12].allSatisfy({ $0 == 0 }) { return true }
        // ::ffff:a.b.c.d, IPv4-mapped: the IPv4 address decides.
        if b[0..<10].allSatisfy({ $0 == 0 }), b[10] == 0xFF, b[11] == 0xFF { return IPAddress.isInternalV4(b[12], b[13]) }
        // 64:ff9b::/96, NAT64: the embedded IPv4 address decides.
        if b[0] == 0x00, b[1] == 0x64, b[2] == 0xFF, b[3] == 0x9B, b[4..<12].allSatisfy({ $0 == 0 }) {
            return IPAddress.isInternalV4(b[12], b[13])
        }
        // 2002::/16, 6to4: the IPv4 address in bytes 2...5 decides.
        if b[0] == 0x20, b[1] == 0x02 { return IPAddress.isInternalV4(b[2], b[3]) }
        if b[0] == 0xFE, b[1] & 0xC0 == 0x80 { return true }  // fe80::/10 link-local
        if b[0] == 0xFE, b[1] & 0xC0 == 0xC0 { return true }  // fec0::/10 site-local (deprecated)
        if b[0] & 0xFE == 0xFC { return true }  // fc00::/7 unique local
        if b[0] == 0xFF { return true }  // multicast
        return false
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { inet_ntop(isV4 ? AF_INET : AF_INET6, $0.baseAddress, &text, socklen_t(text.count)) != nil }
        return ok ? String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : "?"
    }
}
