/// The shapes a text value can be required to have.
///
/// Each format has two faces that must agree: `check` (what the validator runs) and
/// `pattern` (the ECMA-262 regular expression the generated JSON Schema carries). The
/// differential test in `Tests/differential` holds them to each other.
public enum StringFormat: Sendable, Hashable {
    /// Any text of 1...max characters.
    case text(max: Int)
    /// A server name: `[a-z0-9][a-z0-9-]{0,47}`.
    case name
    /// One of a fixed set of words.
    case oneOf([String])
    /// `<digits>(ms|s|m|h)`, within the range (the range is the validator's alone).
    case duration(ClosedRange<Duration>)
    /// `<count>/<duration>`: at most count events in the window.
    case budget
    /// `<digits>(B|KiB|MiB|GiB)`.
    case byteSize
    /// `1%` ... `100%`.
    case percent
    /// A host name, `*.domain` wildcard, optional `:port`; lower case.
    case hostPattern
    /// An `http://` or `https://` URL with a host.
    case url
    /// `HOST:PORT` or `[IPv6]:PORT`.
    case listenAddress
    /// An environment variable name as a child sees it: `[A-Za-z_][A-Za-z0-9_]*`.
    case envName
    /// A controller-side variable name: `[A-Z_][A-Z0-9_]*`.
    case variableName

    /// The JSON Schema `pattern`, or nil when `minLength`/`maxLength`/`enum` say it all.
    public var pattern: String? {
        switch self {
        case .text, .oneOf: nil
        case .name: "^[a-z0-9][a-z0-9-]{0,47}$"
        case .duration: "^[0-9]{1,9}(ms|s|m|h)$"
        case .budget: "^[1-9][0-9]{0,5}/[0-9]{1,9}(ms|s|m|h)$"
        case .byteSize: "^[0-9]{1,12}(B|KiB|MiB|GiB)$"
        case .percent: "^(100|[1-9][0-9]?)%$"
        case .hostPattern:
            "^(\\*\\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(:[0-9]{1,5})?$"
        case .url: "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[!-~]*)?$"
        case .listenAddress: "^([A-Za-z0-9.-]+|\\[[0-9A-Fa-f:.]+\\]):[0-9]{1,5}$"
        case .envName: "^[A-Za-z_][A-Za-z0-9_]*$"
        case .variableName: "^[A-Z_][A-Z0-9_]*$"
        }
    }

    /// Nil when `text` has this format, else what is wrong with it and a hint.
    public func check(_ text: String) -> (message: String, hint: String?)? {
        switch self {
        case .text(let max):
            let count = text.unicodeScalars.count
            if count == 0 { return ("must not be empty", nil) }
            if count > max { return ("is \(count) characters long; at most \(max) are allowed", nil) }
            return nil
        case .name:
            return StringFormat.isName(text)
                ? nil
                : ("\"\(text)\" is not a valid name", "use 1-48 of a-z, 0-9 and -, starting with a letter or digit")
        case .oneOf(let words):
            if words.contains(text) { return nil }
            let list = words.map { "\"\($0)\"" }.joined(separator: ", ")
            let guess = Suggestion.closest(to: text, among: words)
            return ("\"\(text)\" is not one of \(list)", guess.map { "did you mean \"\($0)\"?" })
        case .duration(let range):
            guard let duration = DurationText.parse(text) else {
                return ("\"\(text)\" is not a duration", "write a whole number and a unit: 500ms, 5s, 2m, 1h")
            }
            if !range.contains(duration) {
                let low = DurationText.format(range.lowerBound)
                let high = DurationText.format(range.upperBound)
                return ("\(text) is out of range; it must be between \(low) and \(high)", nil)
            }
            return nil
        case .budget:
            return Budget.parse(text) == nil
                ? ("\"\(text)\" is not a budget", "write restarts/window, e.g. 5/60s")
                : nil
        case .byteSize:
            return ByteSize.parse(text) == nil
                ? ("\"\(text)\" is not a size", "write a whole number and a unit: 512KiB, 64MiB, 1GiB")
                : nil
        case .percent:
            return Percent.parse(text) == nil ? ("\"\(text)\" is not a percentage from 1% to 100%", nil) : nil
        case .hostPattern:
            return HostPattern.isValid(text)
                ? nil
                : (
                    "\"\(text)\" is not a host pattern",
                    "write a lower-case host (api.example.com), a wildcard (*.example.com), optionally with :port"
                )
        case .url:
            return StringFormat.isURL(text)
                ? nil : ("\"\(text)\" is not an http(s) URL", "write e.g. https://mcp.example.com/mcp")
        case .listenAddress:
            if ListenAddress(text) != nil { return nil }
            // Right shape, impossible port: say so rather than "not HOST:PORT".
            if let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 65535,
                ListenAddress(text[..<colon] + ":0") != nil
            {
                return ("port \(port) is out of range; it must be between 0 and 65535", nil)
            }
            return ("\"\(text)\" is not HOST:PORT", "write e.g. 127.0.0.1:8765")
        case .envName:
            return StringFormat.isIdentifier(text, allowLower: true)
                ? nil : ("\"\(text)\" is not an environment variable name", "use letters, digits and _, not starting with a digit")
        case .variableName:
            return StringFormat.isIdentifier(text, allowLower: false)
                ? nil : ("\"\(text)\" is not a variable name", "use A-Z, 0-9 and _, not starting with a digit")
        }
    }

    static func isName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...48).contains(bytes.count) else { return false }
        func allowed(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        return allowed(bytes[0]) && bytes.allSatisfy { allowed($0) || $0 == UInt8(ascii: "-") }
    }

    static func isIdentifier(_ text: String, allowLower: Bool) -> Bool {
        guard let first = text.utf8.first, !(0x30...0x39).contains(first) else { return false }
        return text.utf8.allSatisfy { byte in
            (0x41...0x5A).contains(byte) || (0x30...0x39).contains(byte) || byte == UInt8(ascii: "_")
                || (allowLower && (0x61...0x7A).contains(byte))
        }
    }

    static func isURL(_ text: String) -> Bool {
        let rest: Substring
        if text.hasPrefix("http://") {
            rest = text.dropFirst(7)
        } else if text.hasPrefix("https://") {
            rest = text.dropFirst(8)
        } else {
            return false
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        let hostPart = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let host = hostPart.first, !host.isEmpty,
            host.utf8.allSatisfy({ isAlphanumeric($0) || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") })
        else { return false }
        if hostPart.count == 2 {
            let port = hostPart[1]
            guard (1...5).contains(port.count), port.allSatisfy(\.isASCIIDigit) else { return false }
        }
        // Printable ASCII only, the same set as the pattern's [!-~]: Unicode's idea of
        // whitespace differs between Swift, ECMA-262 and Python, so none of it is allowed.
        return path.utf8.allSatisfy { (0x21...0x7E).contains($0) }
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
    }
}
