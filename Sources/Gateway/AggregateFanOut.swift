import Actual
import JSON
import Synchronization

/// One aggregate listing in progress: a list request sent to every ready server, each answer
/// (or its absence at the deadline) collected once, each server's guard slot given back once
/// (answered, failed or late), and `complete` called exactly once with what came, by server.
final class AggregateFanOut: Sendable {
    private struct State {
        var waiting: Set<String>
        var results: [String: JSONValue] = [:]
        var sent: [String: (Upstream, Int)] = [:]
        var release: [String: @Sendable (ServerGuards.Outcome) -> Void] = [:]
        var done = false
    }

    private let state: Mutex<State>
    private let complete: @Sendable ([String: JSONValue]) -> Void

    init(servers: [String], complete: @escaping @Sendable ([String: JSONValue]) -> Void) {
        state = Mutex(State(waiting: Set(servers)))
        self.complete = complete
    }

    /// `server` admitted the request: `release` gives its slot back, exactly once.
    func admitted(_ server: String, release: @escaping @Sendable (ServerGuards.Outcome) -> Void) {
        state.withLock { $0.release[server] = release }
    }

    /// The request reached `upstream` as `childID` (cancelled there if the deadline passes).
    func sent(_ server: String, upstream: Upstream, childID: Int) {
        state.withLock { $0.sent[server] = (upstream, childID) }
    }

    /// `server` answered (a result that is not an object, or an error, drops it out).
    func arrive(_ server: String, _ result: JSONValue?, failed: Bool = false) {
        let (finished, release) = state.withLock { state -> ([String: JSONValue]?, (@Sendable (ServerGuards.Outcome) -> Void)?) in
            let release = state.release.removeValue(forKey: server)
            guard !state.done, state.waiting.remove(server) != nil else { return (nil, release) }
            if let result, result.objectValue != nil { state.results[server] = result }
            state.sent[server] = nil
            guard state.waiting.isEmpty else { return (nil, release) }
            state.done = true
            return (state.results, release)
        }
        release?(failed ? .failed : .answered)
        if let finished { complete(finished) }
    }

    /// The deadline: servers that have not answered drop out, their requests are cancelled and
    /// count as failures at their guards.
    func expire() {
        let (finished, late, releases) = state.withLock {
            state -> ([String: JSONValue]?, [(Upstream, Int)], [@Sendable (ServerGuards.Outcome) -> Void]) in
            guard !state.done else { return (nil, [], []) }
            state.done = true
            defer {
                state.sent = [:]
                state.release = [:]
            }
            return (state.results, Array(state.sent.values), Array(state.release.values))
        }
        for (upstream, childID) in late { upstream.channel.abandon(childID, notifying: "the aggregate list deadline passed") }
        for release in releases { release(.failed) }
        if let finished { complete(finished) }
    }
}
