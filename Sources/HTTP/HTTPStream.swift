import Synchronization

/// The body of a streamed response: a producer on any thread writes, the connection sends.
///
/// - Important: Back-pressure is by dropping, never by unbounded buffering: once more than the
///   server's `outputBuffer` bytes are waiting (the client does not read), the connection is
///   closed, `write` returns false from then on, and the `onClose` callbacks run. A producer
///   stops when `write` returns false or `onClose` fires.
///
/// With `keepAlive` set, the connection writes an SSE comment (`: keep-alive`) whenever nothing
/// was written for that long, so proxies and clients do not time an idle stream out; only use
/// it for `text/event-stream` bodies.
public final class HTTPStream: Sendable {
    /// How the connection that sends this stream hears of new bytes.
    protocol Sink: AnyObject, Sendable {
        /// Called (on any thread) when bytes or the end were queued while no pull was pending.
        func streamHasData()
    }

    private struct State {
        var pending: [UInt8] = []
        var finished = false
        var closed = false
        /// Closed because too much was waiting (the client does not read).
        var overflowed = false
        var pullRequested = false
        var sink: (any Sink)?
        var limit: Int
        var onClose: [@Sendable () -> Void] = []
    }

    public let keepAlive: Duration?
    private let state: Mutex<State>

    /// `bufferLimit` bounds what may wait before the connection takes it (a stream answered
    /// behind other answers, or a producer faster than the loop); the server's `outputBuffer`
    /// applies from then on, whichever is smaller.
    public init(keepAlive: Duration? = nil, bufferLimit: Int = 1 << 20) {
        self.keepAlive = keepAlive
        state = Mutex(State(limit: bufferLimit))
    }

    /// Queues bytes; false when the stream is closed (the client is gone or too slow), and then
    /// nothing was queued.
    @discardableResult
    public func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return !isClosed }
        var overflow = false
        var accepted = true
        let notify: (any Sink)? = state.withLock { state in
            guard !state.closed, !state.finished else {
                accepted = false
                return nil
            }
            state.pending += bytes
            if state.pending.count > state.limit {
                overflow = true
                state.overflowed = true
                return nil
            }
            return takeNotification(&state)
        }
        if overflow {
            close()
            return false
        }
        notify?.streamHasData()
        return accepted
    }

    /// Ends the stream once what was written is sent.
    public func finish() {
        let notify: (any Sink)? = state.withLock { state in
            guard !state.closed, !state.finished else { return nil }
            state.finished = true
            // Never run after a normal finish: dropped, so that they release what they hold.
            state.onClose = []
            return takeNotification(&state)
        }
        notify?.streamHasData()
    }

    /// Whether the stream was closed before it finished (client gone, too slow, server stopped).
    public var isClosed: Bool { state.withLock { $0.closed } }

    /// Runs `callback` once when the stream is closed before finishing (at once if it already
    /// was); never after a normal `finish`.
    public func onClose(_ callback: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.closed { return true }
            if state.finished { return false }
            state.onClose.append(callback)
            return false
        }
        if now { callback() }
    }

    /// Closes the stream without finishing it: pending bytes are dropped, callbacks run once,
    /// and the connection sending it is closed (its framing cannot end cleanly).
    public func close() {
        let (callbacks, sink) = state.withLock { state -> ([@Sendable () -> Void], (any Sink)?) in
            guard !state.closed else { return ([], nil) }
            state.closed = true
            state.pending = []
            defer {
                state.onClose = []
                state.sink = nil
            }
            return (state.finished ? [] : state.onClose, state.sink)
        }
        sink?.streamHasData()
        for callback in callbacks { callback() }
    }

    // MARK: The connection's side

    /// Attaches the connection that sends the stream; bytes written before are sent first.
    /// False when the stream was closed already (it can never be sent).
    func attach(_ sink: any Sink, limit: Int) -> Bool {
        var open = true
        let notify: (any Sink)? = state.withLock { state in
            guard !state.closed else {
                open = false
                return nil
            }
            state.sink = sink
            state.limit = min(state.limit, limit)
            return state.pending.isEmpty && !state.finished ? nil : takeNotification(&state)
        }
        notify?.streamHasData()
        return open
    }

    /// What was written since the last pull, and whether the stream has finished.
    func pull() -> (bytes: [UInt8], finished: Bool, closed: Bool, overflowed: Bool) {
        state.withLock { state in
            state.pullRequested = false
            defer { state.pending = [] }
            return (state.pending, state.finished, state.closed, state.overflowed)
        }
    }

    private func takeNotification(_ state: inout State) -> (any Sink)? {
        guard let sink = state.sink, !state.pullRequested else { return nil }
        state.pullRequested = true
        return sink
    }
}
