import CSystem
import Glibc
import Synchronization

/// Writes to a child's stdin without ever blocking the caller.
///
/// A write goes straight to the pipe when nothing is queued; whatever the pipe cannot take now is
/// queued and flushed by the I/O loop when the pipe becomes writable. The queue is bounded: a
/// child that stops reading its stdin gets `false` back (the session fails that request) instead
/// of growing the controller's memory without end.
final class PipeWriter: IOHandler {
    static let maxQueuedBytes = 32 << 20

    private struct State {
        var queue: [UInt8] = []
        var token: UInt64 = 0
        var closed = false
        var closeWhenDrained = false
        var waitingForWritable = false
    }

    private let fd: Int32
    private let loop: IOLoop
    private let state = Mutex(State())

    init(fd: Int32, loop: IOLoop) {
        self.fd = fd
        self.loop = loop
        _ = omni_set_nonblocking_cloexec(fd)
        let token = loop.register(fd: fd, events: 0, handler: self)
        state.withLock { $0.token = token }
    }

    /// Queues `bytes` for the child. `false` when stdin is closed (the child went away or
    /// `close()` was called) or the queue is full.
    func write(_ bytes: [UInt8]) -> Bool {
        state.withLock { state in
            guard !state.closed, !state.closeWhenDrained else { return false }
            guard state.queue.count + bytes.count <= PipeWriter.maxQueuedBytes else { return false }
            state.queue.append(contentsOf: bytes)
            if !state.waitingForWritable { flush(&state) }
            return !state.closed
        }
    }

    /// Closes stdin once everything queued is written: the MCP stdio way to ask a server to stop.
    func close() {
        state.withLock { state in
            guard !state.closed else { return }
            state.closeWhenDrained = true
            if state.queue.isEmpty { closeNow(&state) }
        }
    }

    var isClosed: Bool { state.withLock { $0.closed } }

    func handle(events: UInt32) {
        state.withLock { state in
            if events & UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 && state.queue.isEmpty {
                closeNow(&state)
                return
            }
            flush(&state)
        }
    }

    private func flush(_ state: inout State) {
        while !state.queue.isEmpty, !state.closed {
            let written = state.queue.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written > 0 {
                state.queue.removeFirst(written)
                continue
            }
            if written < 0, errno == EINTR { continue }
            if written < 0, errno == EAGAIN {
                if !state.waitingForWritable {
                    state.waitingForWritable = true
                    loop.modify(fd: fd, events: UInt32(EPOLLOUT.rawValue), token: state.token)
                }
                return
            }
            // EPIPE: the child closed its stdin or exited; what is queued can never be delivered.
            state.queue = []
            closeNow(&state)
            return
        }
        if state.waitingForWritable {
            state.waitingForWritable = false
            loop.modify(fd: fd, events: 0, token: state.token)
        }
        if state.closeWhenDrained { closeNow(&state) }
    }

    private func closeNow(_ state: inout State) {
        guard !state.closed else { return }
        state.closed = true
        loop.deregister(fd: fd, token: state.token)
        Glibc.close(fd)
    }
}
