import Actual
import JSON
import Synchronization

/// A scripted MCP server behind the gateway: answers, holds, fails or sends progress as the
/// test says, and records what reached it.
final class FakeUpstream: ForwardingChannel {
    enum Behaviour: Sendable {
        case answer(JSONValue)
        case fail(RPCError)
        /// Not answered until the test calls `reply`.
        case hold
        /// `forward` itself fails (the server cannot take it).
        case refuse(RPCError)
        /// Held, and the server asks its client `request` before `forward` returns (a fast
        /// server racing the gateway's bookkeeping).
        case askAtOnce(ServerRequest)
    }

    struct Request: Sendable {
        var id: Int
        var method: String
        var params: JSONValue?
        var onProgress: (@Sendable (JSONValue) -> Void)?
        var onReply: @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    }

    private struct State {
        var next = 0
        var pending: [Int: Request] = [:]
        var received: [Request] = []
        var abandoned: [(Int, String?)] = []
        var script: [Behaviour] = []
        var handler: (@Sendable (ServerRequest) -> Bool)?
        var answers: [(RPCID, Result<JSONValue, RPCErrorObject>)] = []
    }

    private let state = Mutex(State())
    /// What a request gets when the script is empty.
    let fallback: @Sendable (String, JSONValue?) -> Behaviour

    init(fallback: @escaping @Sendable (String, JSONValue?) -> Behaviour = { _, _ in .answer(.object([("ok", true)])) }) {
        self.fallback = fallback
    }

    /// The next requests' behaviours, in order (then `fallback`).
    func script(_ behaviours: Behaviour...) {
        state.withLock { $0.script += behaviours }
    }

    var received: [Request] { state.withLock { $0.received } }
    var abandoned: [(Int, String?)] { state.withLock { $0.abandoned } }
    var pendingIDs: [Int] { state.withLock { $0.pending.keys.sorted() } }

    func forward(
        _ method: String, params: JSONValue?, onProgress: (@Sendable (JSONValue) -> Void)?,
        onReply: @escaping @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    ) -> Result<Int, RPCError> {
        let (request, behaviour) = state.withLock { state -> (Request, Behaviour) in
            state.next += 1
            let request = Request(id: state.next, method: method, params: params, onProgress: onProgress, onReply: onReply)
            state.received.append(request)
            let behaviour = state.script.isEmpty ? fallback(method, params) : state.script.removeFirst()
            return (request, behaviour)
        }
        switch behaviour {
        case .refuse(let error):
            return .failure(error)
        case .answer(let result):
            onReply(request.id, .success(result))
        case .fail(let error):
            onReply(request.id, .failure(error))
        case .hold:
            state.withLock { $0.pending[request.id] = request }
        case .askAtOnce(let serverRequest):
            state.withLock { $0.pending[request.id] = request }
            _ = ask(serverRequest)
        }
        return .success(request.id)
    }

    @discardableResult
    func abandon(_ id: Int, notifying reason: String?) -> Bool {
        state.withLock { state in
            state.abandoned.append((id, reason))
            return state.pending.removeValue(forKey: id) != nil
        }
    }

    /// Answers the gateway's own `tools/list` (sent when a process is routed) with `tools`,
    /// then forgets every request so far: tests count only their clients' requests.
    func settleLearning(tools: JSONValue = .array([])) {
        let learning = state.withLock { state -> [Request] in
            let learning = state.pending.values.filter { $0.method == "tools/list" }
            for request in learning { state.pending[request.id] = nil }
            state.received = []
            // Ids start again at 1, as if the test's first request were the first one.
            state.next = 0
            return learning
        }
        for request in learning { request.onReply(request.id, .success(.object([("tools", tools)]))) }
    }

    /// Answers a held request.
    func reply(_ id: Int, _ outcome: Result<JSONValue, RPCError>) {
        guard let request = state.withLock({ $0.pending.removeValue(forKey: id) }) else { return }
        request.onReply(id, outcome)
    }

    /// Sends progress for a held request.
    func progress(_ id: Int, _ params: JSONValue) {
        state.withLock { $0.pending[id] }?.onProgress?(params)
    }

    /// The process ended: every held request fails with `.closed`.
    func close() {
        let pending = state.withLock { state in
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        for request in pending { request.onReply(request.id, .failure(.closed("the process exited"))) }
    }

    func handleServerRequests(with handler: (@Sendable (ServerRequest) -> Bool)?) {
        state.withLock { $0.handler = handler }
    }

    func answer(_ request: RPCID, with outcome: Result<JSONValue, RPCErrorObject>) {
        state.withLock { $0.answers.append((request, outcome)) }
    }

    /// The server sends a request to its client; false when nobody took it.
    func ask(_ request: ServerRequest) -> Bool {
        state.withLock { $0.handler }?(request) ?? false
    }

    var answers: [(RPCID, Result<JSONValue, RPCErrorObject>)] { state.withLock { $0.answers } }

    /// The error of the last answer to a server request, if it was one.
    var lastError: RPCErrorObject? {
        guard case .failure(let error) = answers.last?.1 else { return nil }
        return error
    }

    func call(_ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool) async throws(RPCError) -> JSONValue {
        throw .closed("not used")
    }

    func notify(_ method: String, params: JSONValue?) async -> Bool { true }

    var protocolErrors: Int { 0 }
}
