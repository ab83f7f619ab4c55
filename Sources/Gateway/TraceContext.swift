import Glibc

/// W3C trace context for one gateway request: the client's `traceparent` when it sent a valid
/// one, else a new trace. Built once per request: the trace id goes in the log line
/// (`trace_id`), the exported span has `spanID` as its id and `parentSpanID` as its parent, and
/// the server gets a new `traceparent` naming `spanID` as parent in `params._meta`.
public struct TraceContext: Sendable, Hashable {
    /// 32 lower-case hex digits, not all zero.
    public var traceID: String
    /// The gateway's own span id (16 hex digits): the parent the server is given.
    public var spanID: String
    /// The client's span id (16 hex digits) from its `traceparent`; nil for a new trace.
    public var parentSpanID: String?
    /// The sampled flag of the client's `traceparent` (a new trace is sampled). An unsampled
    /// request is not exported, but its context is still passed on (with the flag off).
    public var sampled: Bool

    /// The context of a request with this `traceparent` header (nil: a new trace).
    public init(traceparent: String?, random: () -> UInt64 = TraceContext.randomID) {
        spanID = TraceContext.hex(random(), digits: 16)
        if let parsed = traceparent.flatMap(TraceContext.parse) {
            traceID = parsed.traceID
            parentSpanID = parsed.parentSpanID
            sampled = parsed.sampled
        } else {
            traceID = TraceContext.hex(random(), digits: 16) + TraceContext.hex(random(), digits: 16)
            sampled = true
        }
    }

    /// The `traceparent` the server is given.
    public var traceparent: String { "00-\(traceID)-\(spanID)-\(sampled ? "01" : "00")" }

    /// `version-traceid-parentid-flags`, version 00 (later versions: the first four fields are read).
    static func parse(_ header: String) -> (traceID: String, parentSpanID: String, sampled: Bool)? {
        let parts = header.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", isHex(parts[0]), parts[1].count == 32, isHex(parts[1]),
            parts[2].count == 16, isHex(parts[2]), parts[3].count == 2, isHex(parts[3]),
            parts[1] != Substring(String(repeating: "0", count: 32)), parts[2] != Substring(String(repeating: "0", count: 16))
        else { return nil }
        if parts[0] == "00", parts.count != 4 { return nil }
        let flags = UInt8(parts[3], radix: 16) ?? 0
        return (String(parts[1]), String(parts[2]), flags & 1 == 1)
    }

    private static func isHex(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }
    }

    /// A non-zero random 64-bit value from glibc's `arc4random_buf` (a ChaCha20 generator
    /// reseeded by the kernel, without the `getrandom` system call per value that
    /// `SystemRandomNumberGenerator` makes: three of those per request showed in profiles).
    public static func randomID() -> UInt64 {
        var value: UInt64 = 0
        while value == 0 { arc4random_buf(&value, MemoryLayout<UInt64>.size) }
        return value
    }

    /// `value` as `digits` lower-case hex digits (zero-padded; at most 16).
    static func hex(_ value: UInt64, digits: Int) -> String {
        String(unsafeUninitializedCapacity: digits) { buffer in
            for index in 0..<digits {
                let nibble = UInt8(truncatingIfNeeded: value >> (4 * UInt64(digits - 1 - index))) & 0x0F
                buffer[index] = nibble < 10 ? 0x30 + nibble : 0x57 + nibble
            }
            return digits
        }
    }
}
