/// Why `SSEParser` stopped: a limit was passed at `offset` (bytes into the stream, a BOM
/// included).
public struct SSEParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Kind: Sendable, Hashable {
        /// One line (without its line ending) is longer than `maxLineBytes`.
        case lineTooLong
        /// One event's data (its `data:` values joined with `\n`) is longer than `maxDataBytes`.
        case dataTooLarge
    }

    public var kind: Kind
    public var limit: Int
    public var offset: Int

    public init(_ kind: Kind, limit: Int, offset: Int) {
        self.kind = kind
        self.limit = limit
        self.offset = offset
    }

    public var description: String {
        switch kind {
        case .lineTooLong: "Server-Sent Events line longer than \(limit) bytes at byte \(offset)"
        case .dataTooLarge: "Server-Sent Event with more than \(limit) bytes of data at byte \(offset)"
        }
    }
}

/// An incremental Server-Sent Events reader (WHATWG HTML §9.2.6, "Interpreting an event
/// stream") over raw bytes as they arrive, split anywhere.
///
/// Lines end in `\n`, `\r\n` or `\r` (a CR at the end of one chunk and an LF at the start of the
/// next are one line ending). One leading UTF-8 BOM is skipped. A line starting with `:` is a
/// comment, ignored. Otherwise the field name is what precedes the first `:` (the whole line if
/// none) and the value what follows it, one leading space removed: `data` appends the value to
/// the event's data (lines joined with `\n`), `event` sets its type, `id` sets the stream's last
/// event ID (unless the value holds a NUL), `retry` sets the reconnection time when the value is
/// ASCII digits only; other fields are ignored. A blank line dispatches the event if any `data`
/// line was seen (an event with only `id:`, `event:` or `retry:` updates `lastEventID` and
/// `retry` but is not returned), then starts a new one. Per the standard, an event still
/// incomplete when the stream ends is discarded: there is no `finish()`.
///
/// Bounded: the current incomplete line (at most `maxLineBytes`) and the current event's data
/// (at most `maxDataBytes`) are all it keeps; passing either limit throws an `SSEParseError`
/// where the limit was reached, without reading further. Errors are final (drop the stream).
/// Events dispatched before the error in the same `feed` are returned and the error is thrown
/// by the next call; `failure` shows it at once.
///
/// Data stays bytes, as sent: splitting on CR and LF bytes is the same on UTF-8 and on text
/// decoded from it, and `SSEEvent.text` decodes as the standard does. Field names and the
/// `id`, `event` and `retry` values are decoded with replacement characters.
public struct SSEParser: Sendable {
    private static let cr = UInt8(ascii: "\r")
    private static let lf = UInt8(ascii: "\n")
    private static let colon = UInt8(ascii: ":")
    private static let bom: [UInt8] = [0xEF, 0xBB, 0xBF]

    public let maxLineBytes: Int
    public let maxDataBytes: Int
    /// The stream's last event ID (the last valid `id:` field seen, dispatched or not), for a
    /// reconnection's `Last-Event-ID`; nil until one is seen.
    public private(set) var lastEventID: String?
    /// The stream's reconnection time in milliseconds (the last valid `retry:` field), if any.
    public private(set) var retry: Int?
    /// The error to throw from now on, once found.
    public private(set) var failure: SSEParseError?

    /// The current line's bytes from earlier chunks.
    private var line: [UInt8] = []
    /// Stream offset of the current line's first byte.
    private var lineStart = 0
    /// Bytes fed before the current chunk.
    private var position = 0
    /// The last chunk ended with a CR: an LF at the start of the next one belongs to it.
    private var skipLF = false
    /// How much of a leading BOM has been seen; 3 once the check is over (either way).
    private var bomState = 0
    private var data: [UInt8] = []
    private var hasData = false
    private var eventType = ""
    private var eventRetry: Int?

    /// A reader for one stream; `lastEventID` carries the previous connection's over a
    /// reconnection, so that events without an `id:` still report it.
    public init(maxLineBytes: Int = 1 << 22, maxDataBytes: Int = 1 << 22, lastEventID: String? = nil) {
        self.maxLineBytes = maxLineBytes
        self.maxDataBytes = maxDataBytes
        self.lastEventID = lastEventID
    }

    /// Whether part of an event was read that a blank line has not ended yet (it would be
    /// discarded if the stream ended now).
    public var hasPartialEvent: Bool { hasData || !line.isEmpty || !eventType.isEmpty || eventRetry != nil }

    /// Reads the next bytes of the stream; returns the events they complete.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws(SSEParseError) -> [SSEEvent] {
        if let failure { throw failure }
        let chunk = Array(bytes)
        var events: [SSEEvent] = []
        do {
            try read(chunk, &events)
        } catch {
            failure = error
            line = []
            data = []
            if events.isEmpty { throw error }
        }
        position += chunk.count
        return events
    }

    private mutating func read(_ chunk: [UInt8], _ events: inout [SSEEvent]) throws(SSEParseError) {
        var index = 0
        while bomState < 3, index < chunk.count {
            if chunk[index] == Self.bom[bomState] {
                bomState += 1
                index += 1
                if bomState == 3 { lineStart = 3 }
            } else {
                // Not a BOM: what matched of one begins the first line.
                line = Array(Self.bom[0..<bomState])
                bomState = 3
            }
        }
        if skipLF, index < chunk.count {
            skipLF = false
            if chunk[index] == Self.lf {
                index += 1
                lineStart += 1
            }
        }
        var segmentStart = index
        while index < chunk.count {
            let byte = chunk[index]
            guard byte == Self.lf || byte == Self.cr else {
                index += 1
                if line.count + (index - segmentStart) > maxLineBytes {
                    throw SSEParseError(.lineTooLong, limit: maxLineBytes, offset: lineStart + maxLineBytes)
                }
                continue
            }
            try endLine(chunk[segmentStart..<index], &events)
            index += 1
            if byte == Self.cr {
                if index == chunk.count {
                    skipLF = true
                } else if chunk[index] == Self.lf {
                    index += 1
                }
            }
            segmentStart = index
            lineStart = position + index
        }
        line.append(contentsOf: chunk[segmentStart...])
    }

    private mutating func endLine(_ segment: ArraySlice<UInt8>, _ events: inout [SSEEvent]) throws(SSEParseError) {
        if line.isEmpty {
            try interpret(segment, &events)
        } else {
            let whole = line + segment
            line = []
            try interpret(whole[...], &events)
        }
    }

    /// One complete line, without its line ending.
    private mutating func interpret(_ line: ArraySlice<UInt8>, _ events: inout [SSEEvent]) throws(SSEParseError) {
        guard !line.isEmpty else {
            dispatch(&events)
            return
        }
        guard line.first != Self.colon else { return }
        let colon = line.firstIndex(of: Self.colon) ?? line.endIndex
        let name = line[..<colon]
        var value = line[colon...].dropFirst()
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if name.elementsEqual("data".utf8) {
            let separator = hasData ? 1 : 0
            guard data.count + separator + value.count <= maxDataBytes else {
                throw SSEParseError(.dataTooLarge, limit: maxDataBytes, offset: lineStart)
            }
            if hasData { data.append(Self.lf) }
            data.append(contentsOf: value)
            hasData = true
        } else if name.elementsEqual("event".utf8) {
            eventType = String(decoding: value, as: UTF8.self)
        } else if name.elementsEqual("id".utf8) {
            if !value.contains(0) { lastEventID = String(decoding: value, as: UTF8.self) }
        } else if name.elementsEqual("retry".utf8) {
            if !value.isEmpty, value.allSatisfy({ (0x30...0x39).contains($0) }),
                let milliseconds = Int(String(decoding: value, as: UTF8.self))
            {
                retry = milliseconds
                eventRetry = milliseconds
            }
        }
    }

    private mutating func dispatch(_ events: inout [SSEEvent]) {
        if hasData {
            events.append(SSEEvent(event: eventType.isEmpty ? nil : eventType, data: data, id: lastEventID, retry: eventRetry))
        }
        data = []
        hasData = false
        eventType = ""
        eventRetry = nil
    }
}
