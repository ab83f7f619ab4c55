/// A crash-loop budget: at most `count` restarts within `window` (written `5/60s`).
public struct Budget: Sendable, Hashable, CustomStringConvertible {
    public var count: Int
    public var window: Duration

    public init(count: Int, window: Duration) {
        self.count = count
        self.window = window
    }

    /// Parses `<1-6 digits, not starting with 0>/<duration>`.
    public static func parse(_ text: String) -> Budget? {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2, (1...6).contains(parts[0].count), parts[0].first != "0",
            parts[0].allSatisfy(\.isASCIIDigit), let count = Int(parts[0]),
            let window = DurationText.parse(String(parts[1]))
        else { return nil }
        return Budget(count: count, window: window)
    }

    public var description: String { "\(count)/\(DurationText.format(window))" }
}

/// A byte count written with a binary unit: `512KiB`, `64MiB`.
public enum ByteSize {
    public static func parse(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isASCIIDigit }
        guard (1...12).contains(digits.count), let value = Int64(digits) else { return nil }
        let shift: Int64
        switch text.dropFirst(digits.count) {
        case "B": shift = 0
        case "KiB": shift = 10
        case "MiB": shift = 20
        case "GiB": shift = 30
        default: return nil
        }
        // `<<` drops overflowing bits silently; 17179869184GiB must not become 0.
        let (bytes, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        return overflow ? nil : bytes
    }
}

/// A whole percentage from 1 to 100, written `25%`.
public enum Percent {
    public static func parse(_ text: String) -> Int? {
        guard text.hasSuffix("%") else { return nil }
        let digits = text.dropLast()
        guard (1...3).contains(digits.count), digits.first != "0", digits.allSatisfy(\.isASCIIDigit),
            let value = Int(digits), (1...100).contains(value)
        else { return nil }
        return value
    }
}
