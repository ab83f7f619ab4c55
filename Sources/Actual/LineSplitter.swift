/// What a stream of bytes turned into: whole lines, or the fact that a line was too long.
enum LineEvent: Sendable, Equatable {
    /// One line without its `\n` (a trailing `\r` is kept; JSON parsing treats it as whitespace).
    case line([UInt8])
    /// A line longer than the limit: its bytes were dropped as they arrived (never buffered
    /// beyond the limit) and this reports how many there were, once the line ended.
    case oversized(Int)
}

/// Splits a byte stream into `\n`-terminated lines of at most `maxLength` bytes.
///
/// Memory stays bounded by `maxLength` whatever the peer sends: an oversized line is discarded
/// while it streams in and reported once, then splitting resumes at the next line.
struct LineSplitter {
    let maxLength: Int
    private var buffer: [UInt8] = []
    /// Bytes of the current line dropped so far; non-zero while skipping an oversized line.
    private var skipped = 0

    init(maxLength: Int) {
        self.maxLength = maxLength
    }

    /// Bytes buffered for the current, incomplete line.
    var pending: Int { buffer.count }

    mutating func feed(_ chunk: some Collection<UInt8>) -> [LineEvent] {
        var events: [LineEvent] = []
        var rest = chunk[...]
        while let newline = rest.firstIndex(of: UInt8(ascii: "\n")) {
            append(rest[..<newline])
            if skipped > 0 {
                events.append(.oversized(skipped))
                skipped = 0
            } else {
                events.append(.line(buffer))
            }
            buffer.removeAll(keepingCapacity: buffer.count <= 65536)
            rest = rest[rest.index(after: newline)...]
        }
        append(rest)
        return events
    }

    /// At end of stream: a final line without `\n` still counts.
    mutating func finish() -> [LineEvent] {
        defer {
            buffer = []
            skipped = 0
        }
        if skipped > 0 { return [.oversized(skipped)] }
        return buffer.isEmpty ? [] : [.line(buffer)]
    }

    private mutating func append(_ bytes: some Collection<UInt8>) {
        if skipped > 0 {
            skipped += bytes.count
        } else if buffer.count + bytes.count > maxLength {
            skipped = buffer.count + bytes.count
            buffer = []
        } else {
            buffer.append(contentsOf: bytes)
        }
    }
}
