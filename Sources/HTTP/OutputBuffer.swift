import Glibc

/// Bytes waiting to be written to a non-blocking socket, sent from a cursor (no copying on a
/// partial send), compacted only when the sent part outweighs the rest.
struct OutputBuffer {
    enum Outcome: Equatable {
        /// Everything was sent.
        case drained
        /// The socket's buffer is full: wait for `EPOLLOUT`.
        case blocked
        /// The peer is gone (an errno other than `EAGAIN`).
        case failed(Int32)
    }

    private var bytes: [UInt8] = []
    private var cursor = 0

    /// Bytes not sent yet.
    var pending: Int { bytes.count - cursor }
    var isEmpty: Bool { cursor == bytes.count }

    mutating func append(_ more: some Collection<UInt8>) {
        bytes.append(contentsOf: more)
    }

    /// Sends what the socket takes now; never blocks.
    mutating func send(to fd: Int32) -> Outcome {
        while cursor < bytes.count {
            let start = cursor
            let sent = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress.map { $0 + start }, raw.count - start, Int32(MSG_NOSIGNAL))
            }
            if sent < 0, errno == EINTR { continue }
            if sent < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                if cursor > 65536, cursor * 2 > bytes.count {
                    bytes.removeSubrange(0..<cursor)
                    cursor = 0
                }
                return .blocked
            }
            guard sent > 0 else { return .failed(errno) }
            cursor += sent
        }
        // Small buffers are kept for the next answer; a large one (a big body) is let go.
        bytes.removeAll(keepingCapacity: bytes.capacity <= 65536)
        cursor = 0
        return .drained
    }
}
