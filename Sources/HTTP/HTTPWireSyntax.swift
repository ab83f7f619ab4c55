/// RFC 9110 character classes shared by the client-side wire code (`HTTPResponseParser`,
/// `HTTPClientRequest`), kept apart from the server's parser so that each can change alone.
enum HTTPWireSyntax {
    /// RFC 9110 `tchar`: the bytes of a method or a field name.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        // ! # $ % & ' * + - . ^ _ ` | ~
        case 0x21, 0x23...0x27, 0x2A, 0x2B, 0x2D, 0x2E, 0x5E...0x60, 0x7C, 0x7E: true
        default: false
        }
    }

    /// HTAB, SP, VCHAR or obs-text: what a field value, reason phrase or chunk extension may hold.
    static func isFieldByte(_ byte: UInt8) -> Bool { byte == 0x09 || (byte >= 0x20 && byte != 0x7F) }

    static func isDigit(_ byte: UInt8) -> Bool { (0x30...0x39).contains(byte) }

    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    static func trimmingOWS(_ text: Substring) -> Substring {
        var utf8 = text.utf8[...]
        while let first = utf8.first, first == 0x20 || first == 0x09 { utf8 = utf8.dropFirst() }
        while let last = utf8.last, last == 0x20 || last == 0x09 { utf8 = utf8.dropLast() }
        return Substring(utf8)
    }

    /// ASCII case-insensitive comparison, without allocating lower-cased copies.
    static func equalsIgnoringCase(_ lhs: String, _ rhs: String) -> Bool {
        guard lhs.utf8.count == rhs.utf8.count else { return false }
        for (a, b) in zip(lhs.utf8, rhs.utf8) where a != b {
            // Letters differ only in bit 0x20; anything else must match exactly.
            let lower = a | 0x20
            guard lower >= UInt8(ascii: "a"), lower <= UInt8(ascii: "z"), lower == b | 0x20 else { return false }
        }
        return true
    }

}
