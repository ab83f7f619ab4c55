/// Durations as manifests write them: an integer and a unit, `500ms`, `5s`, `2m`, `1h`.
public enum DurationText {
    /// The duration, or nil when `text` is not `<digits>(ms|s|m|h)` with at most 9 digits.
    public static func parse(_ text: String) -> Duration? {
        let digits = text.prefix { $0.isASCIIDigit }
        guard (1...9).contains(digits.count), let value = Int64(digits) else { return nil }
        switch text.dropFirst(digits.count) {
        case "ms": return .milliseconds(value)
        case "s": return .seconds(value)
        case "m": return .seconds(value * 60)
        case "h": return .seconds(value * 3600)
        default: return nil
        }
    }

    /// The shortest exact spelling: `1500ms`, `5s`, `2m`, `1h`.
    public static func format(_ duration: Duration) -> String {
        let ms = milliseconds(duration)
        if ms % 3_600_000 == 0, ms > 0 { return "\(ms / 3_600_000)h" }
        if ms % 60_000 == 0, ms > 0 { return "\(ms / 60_000)m" }
        if ms % 1000 == 0 { return "\(ms / 1000)s" }
        return "\(ms)ms"
    }

    /// Whole milliseconds (sub-millisecond parts are dropped; manifests cannot write them).
    public static func milliseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
