/// Splits stdin into lines.
enum StdinLines {
    /// Calls `body` with each line (without `\n`, and without a trailing `\r`), skipping blank
    /// lines, until end of file; a last line without a newline is still delivered.
    static func readUntilEndOfFile(_ body: ([UInt8]) -> Void) {
        var pending: [UInt8] = []
        var searched = 0
        while true {
            let chunk = FileDescriptorIO.read(0, capacity: 65_536)
            guard !chunk.isEmpty else { break }
            pending += chunk
            var lineStart = 0
            // Only the bytes not yet searched are scanned, so a long line costs linear time.
            while let newline = pending[(lineStart + searched)...].firstIndex(of: 0x0A) {
                deliver(pending[lineStart..<newline], to: body)
                lineStart = newline + 1
                searched = 0
            }
            searched = pending.count - lineStart
            pending.removeFirst(lineStart)
        }
        deliver(pending[...], to: body)
    }

    private static func deliver(_ line: ArraySlice<UInt8>, to body: ([UInt8]) -> Void) {
        var bytes = Array(line)
        if bytes.last == 0x0D { bytes.removeLast() }
        guard bytes.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        body(bytes)
    }
}
