import CSystem
import Glibc
import Synchronization

/// Reads one pipe (a child's stdout or stderr) on the I/O loop and hands out whole lines.
///
/// `onLine` runs on the loop thread (or on the thread that calls `finish`) and must not block.
/// Lines arrive whole and in order, never two calls at once: each read and the delivery of its
/// lines happen under one lock, so the final drain of a stop cannot overtake lines the loop is
/// still delivering. At end of file (the child closed the pipe or exited) the final partial line
/// is delivered and the descriptor is closed.
final class PipeReader: IOHandler {
    private struct State {
        var splitter: LineSplitter
        var token: UInt64 = 0
        var closed = false
    }

    private let fd: Int32
    private let loop: IOLoop
    private let state: Mutex<State>
    /// Held from a read until its lines are delivered (never while waiting for `state`'s owner
    /// to deliver: `state` is taken inside it, never the other way round).
    private let delivery = Mutex(())
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
        // Uninitialised scratch space: zeroing 64 KiB on every wake-up cost more than the read.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: PipeReader.chunkSize) { chunk in
            drain(into: chunk)
        }
    }

    private static let chunkSize = 65536

    private func drain(into chunk: UnsafeMutableBufferPointer<UInt8>) {
        // A bounded number of reads per wake-up keeps one chatty child from starving the others;
        // epoll is level-triggered, so what is left wakes the loop again.
        for _ in 0..<16 {
            // Read under the lock that `finish` closes under: a descriptor closed by a stop on
            // another thread (and perhaps already reused by a new pipe) is never read.
            let (count, error): (Int, Int32) = delivery.withLock { _ in
                let (count, error, lines): (Int, Int32, [LineEvent]) = state.withLock { state in
                    guard !state.closed else { return (-1, EBADF, []) }
                    let count = read(fd, chunk.baseAddress, chunk.count)
                    let error = errno
                    return (count, error, count > 0 ? state.splitter.feed(chunk[0..<count]) : [])
                }
                for line in lines { onLine(line) }
                return (count, error)
            }
            if count > 0 {
                // A short read emptied the pipe: a second read would only say EAGAIN, and
                // level-triggered epoll reports anything that arrives later (end of file too).
                if count < chunk.count { return }
                continue
            }
            if error == EBADF, state.withLock({ $0.closed }) { return }
            if count < 0, error == EAGAIN || error == EINTR { return }
            // 0 is end of file; any other error ends the stream the same way.
            finish()
            return
        }
    }

    /// Stops reading and closes the descriptor (idempotent). What the child wrote and the loop
    /// has not read yet is read first (`finalDrainBytes` at most): a server that prints why it
    /// fails and exits at once must not lose those last lines to the clean-up after its exit.
    func finish() {
        guard !state.withLock({ $0.closed }) else { return }
        delivery.withLock { _ in finishDelivering() }
    }

    private func finishDelivering() {
        let rest: [LineEvent]? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: PipeReader.chunkSize) { chunk in
            state.withLock { state in
                guard !state.closed else { return nil }
                var lines: [LineEvent] = []
                var drained = 0
                while drained < PipeReader.finalDrainBytes {
                    let count = read(fd, chunk.baseAddress, chunk.count)
                    guard count > 0 else { break }  // EAGAIN (a descendant keeps the pipe open), EOF or an error
                    drained += count
                    lines += state.splitter.feed(chunk[0..<count])
                }
                state.closed = true
                loop.deregister(fd: fd, token: state.token)
                close(fd)
                return lines + state.splitter.finish()
            }
        }
        guard let rest else { return }
        for line in rest { onLine(line) }
    }

    /// One read: enough for a crash's last words, and it bounds how long a stop (on a task
    /// thread) holds this reader's lock while a flooding child keeps the pipe full.
    private static let finalDrainBytes = chunkSize
}
