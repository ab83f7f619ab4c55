import CSystem
import Glibc
import Synchronization

/// Reads one pipe (a child's stdout or stderr) on the I/O loop and hands out whole lines.
///
/// `onLine` runs on the loop thread and must not block. At end of file (the child closed the
/// pipe or exited) the final partial line is delivered and the descriptor is closed.
final class PipeReader: IOHandler {
    private struct State {
        var splitter: LineSplitter
        var token: UInt64 = 0
        var closed = false
    }

    private let fd: Int32
    private let loop: IOLoop
    private let state: Mutex<State>
    private let onLine: @Sendable (LineEvent) -> Void

    init(
        fd: Int32, loop: IOLoop, maxLineLength: Int, onLine: @escaping @Sendable (LineEvent) -> Void
    ) {
        self.fd = fd
        self.loop = loop
        self.onLine = onLine
        state = Mutex(State(splitter: LineSplitter(maxLength: maxLineLength)))
        _ = omni_set_nonblocking_cloexec(fd)
    }

    func start() {
        let token = loop.register(fd: fd, events: UInt32(EPOLLIN.rawValue), handler: self)
        state.withLock { $0.token = token }
    }

    func handle(events: UInt32) {
        var chunk = [UInt8](repeating: 0, count: 65536)
        // A bounded number of reads per wake-up keeps one chatty child from starving the others;
        // epoll is level-triggered, so what is left wakes the loop again.
        for _ in 0..<16 {
            // Read under the lock that `finish` closes under: a descriptor closed by a stop on
            // another thread (and perhaps already reused by a new pipe) is never read.
            let (count, error, lines): (Int, Int32, [LineEvent]) = state.withLock { state in
                guard !state.closed else { return (-1, EBADF, []) }
                let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                let error = errno
                return (count, error, count > 0 ? state.splitter.feed(chunk[0..<count]) : [])
            }
            if count > 0 {
                for line in lines { onLine(line) }
                continue
            }
            if error == EBADF, state.withLock({ $0.closed }) { return }
            if count < 0, error == EAGAIN || error == EINTR { return }
            // 0 is end of file; any other error ends the stream the same way.
            finish()
            return
        }
    }

    /// Stops reading and closes the descriptor (idempotent).
    func finish() {
        let rest: [LineEvent]? = state.withLock { state in
            guard !state.closed else { return nil }
            state.closed = true
            loop.deregister(fd: fd, token: state.token)
            close(fd)
            return state.splitter.finish()
        }
        guard let rest else { return }
        for line in rest { onLine(line) }
    }
}
