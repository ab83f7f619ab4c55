import Actual
import JSON
import Synchronization

/// One aggregate listing in progress: a list request sent to every ready server, each answer
/// (or its absence at the deadline) collected once, and `complete` called exactly once with
/// what came, by server.
final class AggregateFanOut: Sendable {
    private struct State {
        var waiting: Set<String>
        var results: [String: JSONValue] = [:]
        var sent: [String: (Upstream, Int)] = [:]
        var done = false
    }

    private let state: Mutex<State>
    private let complete: @Sendable ([String: JSONValue]) -> Void

    init(servers: [String], complete: @escaping @Sendable ([String: JSONValue]) -> Void) {
        state = Mutex(State(waiting: Set(servers)))
        self.complete = complete
    }

    /// The request reached `upstream` as `childID` (cancelled there if the deadline passes).
    func sent(_ server: String, upstream: Upstream, childID: Int) {
        state.withLock { $0.sent[server] = (upstream, childID) }
    }

    /// `server` answered (a result that is not an object, or an error, drops it out).
    func arrive(_ server: String, _ result: JSONValue?) {
        let finished = state.withLock { state -> [String: JSONValue]? in
            guard !state.done, state.waiting.remove(server) != nil else { return nil }
            if let result, result.objectValue != nil { state.results[server] = result }
            state.sent[server] = nil
            guard state.waiting.isEmpty else { return nil }
            state.done = true
            return state.results
        }
        if let finished { complete(finished) }
    }

    /// The deadline: servers that have not answered drop out, and their requests are cancelled.
    func expire() {
        let (finished, late) = state.withLock { state -> ([String: JSONValue]?, [(Upstream, Int)]) in
            guard !state.done else { return (nil, []) }
            state.done = true
            defer { state.sent = [:] }
            return (state.results, Array(state.sent.values))
        }
        for (upstream, childID) in late { upstream.channel.abandon(childID, notifying: "the aggregate list deadline passed") }
        if let finished { complete(finished) }
    }
}
