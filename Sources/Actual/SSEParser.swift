/// Server-Sent Events (WHATWG HTML §9.2) as MCP's Streamable HTTP uses them: the `data:` lines of
/// one event joined with `\n`, dispatched at a blank line. `event:`, `id:` and `retry:` are read
/// past (MCP messages are in `data`), and comment lines (`: keep-alive`) are ignored.
struct SSEParser {
    /// Longest event (all its `data:` lines together); more is an error, never buffered.
    let maxBytes: Int
    private var data: [UInt8] = []
    private var hasData = false

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    struct Overflow: Error {}

    /// Feeds one line (without its `\n`; a trailing `\r` is dropped); returns a complete event's
    /// data when the line ends one.
    mutating func feed(line raw: [UInt8]) throws(Overflow) -> [UInt8]? {
        var line = raw
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        if line.isEmpty {
            defer {
                data = []
                hasData = false
            }
            return hasData ? data : nil
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        guard line[..<colon].elementsEqual("data".utf8) else { return nil }
        var value = colon < line.endIndex ? line[(colon + 1)...] : []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        guard data.count + value.count + 1 <= maxBytes else {
            data = []
            hasData = false
            throw Overflow()
        }
        if hasData { data.append(UInt8(ascii: "\n")) }
        data.append(contentsOf: value)
        hasData = true
        return nil
    }
}
