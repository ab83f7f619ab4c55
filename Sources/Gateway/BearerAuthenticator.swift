/// Bearer tokens from the variable `auth.tokens_env` names (comma-separated), checked in
/// constant time: how long a check takes says nothing about how much of a token was right.
public struct BearerAuthenticator: Sendable, Hashable {
    private let tokens: [[UInt8]]

    /// Tokens from a comma-separated list; blanks around them and empty entries are dropped.
    public init(list: String) {
        tokens = list.split(separator: ",").map { Array($0.trimmingSpaces.utf8) }.filter { !$0.isEmpty }
    }

    /// Whether any token is configured (with none, only loopback may be served, unauthenticated).
    public var isEnabled: Bool { !tokens.isEmpty }

    /// Whether an `Authorization` header value carries one of the tokens (`Bearer <token>`).
    /// Every configured token is compared in full, whatever matched.
    public func accepts(authorization: String?) -> Bool {
        guard let authorization else { return false }
        let prefix = Array("bearer ".utf8)
        let bytes = Array(authorization.utf8)
        guard bytes.count > prefix.count, zip(bytes, prefix).allSatisfy({ $0 | 0x20 == $1 | 0x20 }) else { return false }
        let presented = Array(bytes[prefix.count...])
        var matched = false
        for token in tokens { matched = BearerAuthenticator.constantTimeEqual(presented, token) || matched }
        return matched
    }

    /// Compares every byte of the longer input (a length mismatch still costs the full loop).
    static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        let length = max(lhs.count, rhs.count)
        for index in 0..<length {
            let a = index < lhs.count ? lhs[index] : 0
            let b = index < rhs.count ? rhs[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && lhs.count == rhs.count
    }
}

extension Substring {
    fileprivate var trimmingSpaces: Substring {
        var text = self
        while text.first == " " || text.first == "\t" { text = text.dropFirst() }
        while text.last == " " || text.last == "\t" { text = text.dropLast() }
        return text
    }
}
