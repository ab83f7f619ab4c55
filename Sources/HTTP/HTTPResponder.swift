import Synchronization

/// How a handler answers one request: now, or later from any thread.
///
/// - Important: The first `respond` wins; later ones are ignored. Responses on one connection
///   are sent in the order their requests arrived, whatever order the handlers finish in.
///   `onCancel` callbacks run once if the connection closes before this request's response was
///   sent (the client went away, a deadline passed, the server stopped): a handler doing slow
///   work for the request (a call to an MCP server, say) uses it to abandon that work.
public final class HTTPResponder: Sendable {
    private struct State {
        var responded = false
        var cancelled = false
        var onCancel: [@Sendable () -> Void] = []
    }

    /// The connection that sends the answer, and which of its requests this is.
    private let connection: ServerConnection
    private let sequence: UInt64
    private let state = Mutex(State())

    init(connection: ServerConnection, sequence: UInt64) {
        self.connection = connection
        self.sequence = sequence
    }

    public func respond(_ response: HTTPResponse) {
        let first = state.withLock { state in
            defer {
                state.responded = true
                // They can never run now; dropping them breaks the cycles a handler makes by
                // capturing its own work in them.
                state.onCancel = []
            }
            return !state.responded && !state.cancelled
        }
        if first { connection.deliver(response, for: sequence) }
    }

    /// Whether the request was abandoned (its connection closed before the response was sent).
    public var isCancelled: Bool { state.withLock { $0.cancelled } }

    public func onCancel(_ callback: @escaping @Sendable () -> Void) {
        let now = state.withLock { state -> Bool in
            if state.cancelled { return true }
            if state.responded { return false }
            state.onCancel.append(callback)
            return false
        }
        if now { callback() }
    }

    /// Called by the connection when it closes with this request unanswered.
    func cancel() {
        let callbacks = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.cancelled else { return [] }
            state.cancelled = true
            defer { state.onCancel = [] }
            return state.onCancel
        }
        for callback in callbacks { callback() }
    }
}
