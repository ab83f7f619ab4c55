/// Diagnostics on stderr, one whole line per call, each prefixed `mcp-demo: `.
enum StandardError {
    static func log(_ message: String) {
        // A closed stderr is not worth dying for; the line is simply lost.
        FileDescriptorIO.writeAll(2, Array("mcp-demo: \(message)\n".utf8))
    }
}
