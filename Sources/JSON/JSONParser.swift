/// Why a JSON text was rejected, with the byte offset where reading stopped.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public var description: String { "byte \(offset): \(message)" }
}

/// A strict RFC 8259 parser for untrusted input (JSON-RPC from child processes and clients).
///
/// Limits: nesting at most `maxDepth` (deep input is an error, never a stack overflow), and the
/// caller bounds the input size. Objects keep key order; a duplicate key is an error (JSON-RPC
/// peers that send one are broken, and last-wins would hide which value was meant). Integers
/// that fit `Int` stay exact; other numbers become `Double`.
public struct JSONParser {
    public static let defaultMaxDepth = 128

    private let bytes: [UInt8]
    private let maxDepth: Int
    private var index = 0
    private var depth = 0

    /// Parses exactly one JSON value; surrounding whitespace is allowed, anything else is not.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: bytes, maxDepth: maxDepth)
        parser.skipWhitespace()
        let value = try parser.value()
        parser.skipWhitespace()
        if parser.index < bytes.count { throw parser.error("unexpected \(parser.describeCurrent()) after the value") }
        return value
    }

    public static func parse(_ text: String, maxDepth: Int = defaultMaxDepth) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }

    private init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    private func error(_ message: String) -> JSONParseError { JSONParseError(offset: index, message: message) }

    private func describeCurrent() -> String {
        guard index < bytes.count else { return "end of input" }
        let byte = bytes[index]
        return byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private mutating func value() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("expected a value, got end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try object()
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("expected a value, got \(describeCurrent())")
        }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONParseError) -> JSONValue {
        let matched = word.withUTF8Buffer { expected in
            guard bytes.count - index >= expected.count else { return false }
            return expected.indices.allSatisfy { bytes[index + $0] == expected[$0] }
        }
        guard matched else {
            // The error points at the first byte that differs.
            index = word.withUTF8Buffer { expected in
                var at = index
                for byte in expected {
                    guard at < bytes.count, bytes[at] == byte else { break }
                    at += 1
                }
                return at
            }
            throw error("expected \(word), got \(describeCurrent())")
        }
        index += word.utf8CodeUnitCount
        return value
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > maxDepth { throw error("nesting deeper than \(maxDepth)") }
    }

    private mutating func object() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var pairs: [(String, JSONValue)] = []
        // Keys compare as bytes: String equality is canonical equivalence, under which
        // "\u00e9" and "e\u0301" are equal though a peer sent two different keys. Small objects
        // (nearly all of JSON-RPC) are checked by a scan; a set takes over past 8 keys, so a
        // huge object stays linear.
        var seen: Set<[UInt8]>?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(pairs)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a string key, got \(describeCurrent())")
            }
            let keyOffset = index
            let key = try string()
            if JSONParser.isDuplicate(key, in: pairs, seen: &seen) {
                throw JSONParseError(offset: keyOffset, message: "duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':', got \(describeCurrent())") }
            index += 1
            skipWhitespace()
            pairs.append((key, try value()))
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "}") else { throw error("expected ',' or '}', got \(describeCurrent())") }
            index += 1
            depth -= 1
            return .object(pairs)
        }
    }

    /// Whether `key` is already among `pairs`' keys; `seen` is the set of them once there are many.
    private static func isDuplicate(_ key: String, in pairs: [(String, JSONValue)], seen: inout Set<[UInt8]>?) -> Bool {
        if seen == nil, pairs.count >= 8 { seen = Set(pairs.map { Array($0.0.utf8) }) }
        if seen != nil { return seen?.insert(Array(key.utf8)).inserted == false }
        return pairs.contains { $0.0.utf8.elementsEqual(key.utf8) }
    }

    private mutating func array() throws(JSONParseError) -> JSONValue {
        try enter()
        index += 1
        var items: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(items)
        }
        while true {
            skipWhitespace()
            items.append(try value())
            skipWhitespace()
            guard index < bytes.count else { throw error("unterminated array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            guard bytes[index] == UInt8(ascii: "]") else { throw error("expected ',' or ']', got \(describeCurrent())") }
            index += 1
            depth -= 1
            return .array(items)
        }
    }

    private mutating func number() throws(JSONParseError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        func digits(_ parser: inout JSONParser) -> Int {
            let from = parser.index
            while parser.index < parser.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(parser.bytes[parser.index]) {
                parser.index += 1
            }
            return parser.index - from
        }
        let intStart = index
        let intDigits = digits(&self)
        if intDigits == 0 { throw error("expected a digit, got \(describeCurrent())") }
        if intDigits > 1, bytes[intStart] == UInt8(ascii: "0") {
            throw JSONParseError(offset: intStart, message: "leading zero in a number")
        }
        var integral = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            integral = false
            index += 1
            if digits(&self) == 0 { throw error("expected a digit after '.', got \(describeCurrent())") }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            integral = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            if digits(&self) == 0 { throw error("expected a digit in the exponent, got \(describeCurrent())") }
        }
        if integral, intDigits <= 18 {
            // At most 18 digits always fit an Int: no text, no overflow check.
            var magnitude = 0
            for byte in bytes[intStart..<index] { magnitude = magnitude * 10 + Int(byte - UInt8(ascii: "0")) }
            return .int(bytes[start] == UInt8(ascii: "-") ? -magnitude : magnitude)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        if integral, let exact = Int(text) { return .int(exact) }
        guard let double = Double(text), double.isFinite else {
            throw JSONParseError(offset: start, message: "number \(text.prefix(40)) is out of range")
        }
        return .double(double)
    }

    private mutating func string() throws(JSONParseError) -> String {
        index += 1
        // Fast path: no escapes, so the bytes between the quotes are the string.
        let start = index
        var ascii = true
        while index < bytes.count, bytes[index] != UInt8(ascii: "\""), bytes[index] != UInt8(ascii: "\\"), bytes[index] >= 0x20 {
            if bytes[index] >= 0x80 { ascii = false }
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "\"") {
            // ASCII is valid UTF-8 as it stands; only other text needs validating.
            if ascii {
                index += 1
                return String(decoding: bytes[start..<(index - 1)], as: UTF8.self)
            }
            guard let text = String(validating: bytes[start..<index], as: UTF8.self) else {
                throw JSONParseError(offset: start, message: "invalid UTF-8 in a string")
            }
            index += 1
            return text
        }
        // Escapes: gather the decoded UTF-8 bytes (runs copied whole, escapes encoded), then
        // validate once. Appending scalar by scalar to a String cost several times more, and
        // tool results routinely carry escaped JSON text.
        index = start
        var decoded: [UInt8] = []
        decoded.reserveCapacity(64)
        var runStart = index
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                decoded.append(contentsOf: bytes[runStart..<index])
                index += 1
                if ascii { return String(decoding: decoded, as: UTF8.self) }
                guard let text = String(validating: decoded, as: UTF8.self) else {
                    throw JSONParseError(offset: start, message: "invalid UTF-8 in a string")
                }
                return text
            }
            if byte < 0x20 { throw error("control character 0x\(String(byte, radix: 16)) in a string (escape it)") }
            if byte >= 0x80 { ascii = false }
            if byte == UInt8(ascii: "\\") {
                decoded.append(contentsOf: bytes[runStart..<index])
                index += 1
                UTF8.encode(try escape()) { decoded.append($0) }
                runStart = index
                continue
            }
            index += 1
        }
    }

    private mutating func escape() throws(JSONParseError) -> Unicode.Scalar {
        guard index < bytes.count else { throw error("unterminated escape") }
        let byte = bytes[index]
        index += 1
        switch byte {
        case UInt8(ascii: "\""): return "\""
        case UInt8(ascii: "\\"): return "\\"
        case UInt8(ascii: "/"): return "/"
        case UInt8(ascii: "b"): return "\u{08}"
        case UInt8(ascii: "f"): return "\u{0C}"
        case UInt8(ascii: "n"): return "\n"
        case UInt8(ascii: "r"): return "\r"
        case UInt8(ascii: "t"): return "\t"
        case UInt8(ascii: "u"):
            let unit = try hex4()
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                guard bytes.count - index >= 6, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                    throw error("lone high surrogate \\u\(String(unit, radix: 16))")
                }
                index += 2
                let low = try hex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw error("invalid low surrogate \\u\(String(low, radix: 16))") }
                let combined = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                guard let scalar = Unicode.Scalar(combined) else { throw error("invalid surrogate pair") }
                return scalar
            }
            guard let scalar = Unicode.Scalar(unit) else { throw error("lone low surrogate \\u\(String(unit, radix: 16))") }
            return scalar
        default:
            index -= 1
            throw error("invalid escape \\\(describeCurrent())")
        }
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - index >= 4 else { throw error("expected 4 hex digits after \\u") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw error("expected a hex digit, got \(describeCurrent())")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
