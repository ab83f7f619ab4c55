import Glibc

/// Raw, unbuffered descriptor I/O: nothing is ever held in a user-space buffer, so a line is
/// "flushed" as soon as the call returns and `_exit` can never lose output.
enum FileDescriptorIO {
    /// Writes every byte, retrying short writes and EINTR. False when the descriptor is
    /// broken (for stdout: the client closed its end).
    @discardableResult
    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return true }
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(descriptor, base + offset, buffer.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += written
            }
            return true
        }
    }

    /// Reads up to `capacity` bytes; an empty array means end of file (or an unrecoverable error).
    static func read(_ descriptor: Int32, capacity: Int) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: capacity)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, capacity) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return [] }
            buffer.removeSubrange(count...)
            return buffer
        }
    }
}
