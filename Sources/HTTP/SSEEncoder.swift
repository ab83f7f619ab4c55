/// Renders Server-Sent Events (WHATWG HTML §9.2) for a server to write, e.g. as the chunks of
/// an `HTTPResponse.Body.stream` with `Content-Type: text/event-stream`. Pure: bytes in, bytes
/// out.
///
/// An event is written as `event:`, `id:` and `retry:` lines (each only when set; an empty
/// event name is the default type and is not written), then the data split at every `\r\n`,
/// `\r` or `\n` into `data:` lines (at least one, so that an empty data is still an event), then
/// a blank line. Line endings are `\n`. A reader therefore gets the data back with every line
/// ending as `\n`, and the `id` as its last event ID (an event written without an `id` keeps
/// the previous one there; write `id: ""` to clear it).
///
/// It refuses, never sanitises: an event name, id or comment holding CR or LF (it would end the
/// field and inject lines), an id holding NUL (a reader ignores it) or a negative retry throws
/// `SSEEncoder.Invalid`.
public enum SSEEncoder {
    /// Why an event or comment cannot be written.
    public struct Invalid: Error, Sendable, Hashable, CustomStringConvertible {
        public var message: String

        public init(_ message: String) {
            self.message = message
        }

        public var description: String { message }
    }

    /// A comment line `: keep-alive` and a blank line: readers ignore it; it keeps proxies and
    /// idle timers from closing a quiet stream.
    public static let keepAlive: [UInt8] = Array(": keep-alive\n\n".utf8)

    /// The bytes of one event, ending with the blank line that dispatches it.
    public static func encode(_ event: SSEEvent) throws(Invalid) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(event.data.count + 32)
        if let name = event.event, !name.isEmpty {
            guard !name.utf8.contains(where: isLineBreak) else { throw Invalid("event name holds CR or LF") }
            append(field: "event", Array(name.utf8), to: &bytes)
        }
        if let id = event.id {
            guard !id.utf8.contains(where: isLineBreak) else { throw Invalid("event id holds CR or LF") }
            guard !id.utf8.contains(0) else { throw Invalid("event id holds NUL") }
            append(field: "id", Array(id.utf8), to: &bytes)
        }
        if let retry = event.retry {
            guard retry >= 0 else { throw Invalid("retry \(retry) is negative") }
            append(field: "retry", Array(String(retry).utf8), to: &bytes)
        }
        var lineStart = event.data.startIndex
        var index = lineStart
        while index < event.data.endIndex {
            let byte = event.data[index]
            guard isLineBreak(byte) else {
                index += 1
                continue
            }
            append(field: "data", event.data[lineStart..<index], to: &bytes)
            index += 1
            if byte == UInt8(ascii: "\r"), index < event.data.endIndex, event.data[index] == UInt8(ascii: "\n") { index += 1 }
            lineStart = index
        }
        append(field: "data", event.data[lineStart...], to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// A comment (`: text`) and a blank line, which readers ignore.
    public static func comment(_ text: String) throws(Invalid) -> [UInt8] {
        guard !text.utf8.contains(where: isLineBreak) else { throw Invalid("comment holds CR or LF") }
        return Array((text.isEmpty ? ":\n\n" : ": \(text)\n\n").utf8)
    }

    /// `name: value\n`, or `name:\n` for an empty value.
    private static func append(field name: String, _ value: some Collection<UInt8>, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: name.utf8)
        bytes.append(UInt8(ascii: ":"))
        if !value.isEmpty {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: value)
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    private static func isLineBreak(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") }
}
