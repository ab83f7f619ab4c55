import Glibc
import Synchronization

/// The only writer of stdout. Every line is written whole under one lock (so concurrent
/// handlers never interleave), and process exits that must not cut a line in half go through
/// the same lock.
final class OutputChannel: Sendable {
    /// One stdout line before its newline.
    enum Line: Sendable {
        case bytes([UInt8])
        /// `prefix`, then `fillCount` copies of `fill`, then `suffix`: streamed in chunks, so a
        /// multi-gigabyte `--huge-line` never has to exist in memory.
        case padded(prefix: [UInt8], fill: UInt8, fillCount: Int, suffix: [UInt8])
    }

    private struct State {
        var responsesWritten = 0
    }

    private let state = Mutex(State())
    /// `--exit-after-requests`: exit right after this many responses went out.
    private let exitAfterResponses: Int?
    private let exitCode: Int32

    init(exitAfterResponses: Int?, exitCode: Int32) {
        self.exitAfterResponses = exitAfterResponses
        self.exitCode = exitCode
    }

    /// Writes a notification (never counted as a response).
    func send(notification: JSONValue) {
        state.withLock { _ in Self.emit(.bytes(notification.encoded())) }
    }

    /// Writes the one line that answers a request, counts it, and exits with the configured
    /// code when it was the last one `--exit-after-requests` allows.
    func send(response line: Line) {
        state.withLock { state in
            Self.emit(line)
            state.responsesWritten += 1
            if let limit = exitAfterResponses, state.responsesWritten >= limit {
                StandardError.log("exiting with code \(exitCode) after \(state.responsesWritten) responses (--exit-after-requests)")
                _exit(exitCode)
            }
        }
    }

    /// Ends the process with `code` once no line is half written; never returns.
    func terminate(code: Int32) -> Never {
        state.withLock { _ in _exit(code) }
    }

    private static func emit(_ line: Line) {
        let delivered: Bool
        switch line {
        case .bytes(let bytes):
            delivered = FileDescriptorIO.writeAll(1, bytes + [0x0A])
        case .padded(let prefix, let fill, let fillCount, let suffix):
            var ok = FileDescriptorIO.writeAll(1, prefix)
            let chunk = [UInt8](repeating: fill, count: min(fillCount, 1 << 20))
            var remaining = fillCount
            while ok && remaining > 0 {
                let size = min(remaining, chunk.count)
                ok = FileDescriptorIO.writeAll(1, size == chunk.count ? chunk : Array(chunk[..<size]))
                remaining -= size
            }
            delivered = ok && FileDescriptorIO.writeAll(1, suffix + [0x0A])
        }
        // Nobody reads our stdout any more: the client is gone, so leave the way EOF does.
        if !delivered {
            StandardError.log("stdout closed; exiting")
            _exit(0)
        }
    }
}
