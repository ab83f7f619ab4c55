import JSON
import Synchronization

/// Forwarding over HTTP: each forwarded request is a `call` in a task of its own, abandoned by
/// cancelling that task (which closes its stream: the modern cancellation; a legacy session is
/// also sent `notifications/cancelled`).
///
/// Progress from an HTTP server is not relayed yet: the request's stream carries it, and the
/// exchange router only keeps the final answer.
extension HTTPChannel: ForwardingChannel {
    public func forward(
        _ method: String, params: JSONValue?, onProgress: (@Sendable (JSONValue) -> Void)?,
        onReply: @escaping @Sendable (Int, Result<JSONValue, RPCError>) -> Void
    ) -> Result<Int, RPCError> {
        let id = forwarded.withLock { table in
            table.next += 1
            table.waiting.insert(table.next)
            return table.next
        }
        // The gateway's own deadline ends the call first; this one is only a backstop.
        let task = Task {
            let outcome: Result<JSONValue, RPCError>
            do throws(RPCError) {
                outcome = .success(try await self.call(method, params: params, timeout: .seconds(24 * 3600), cancellable: true))
            } catch {
                outcome = .failure(error)
            }
            let mine = self.forwarded.withLock { table in
                table.tasks[id] = nil
                return table.waiting.remove(id) != nil
            }
            if mine { onReply(id, outcome) }
        }
        // The task may have finished already: only a request still waiting keeps its task.
        forwarded.withLock { table in
            if table.waiting.contains(id) { table.tasks[id] = task }
        }
        return .success(id)
    }

    @discardableResult
    public func abandon(_ id: Int, notifying reason: String?) -> Bool {
        let (waiting, task) = forwarded.withLock { table in
            (table.waiting.remove(id) != nil, table.tasks.removeValue(forKey: id))
        }
        task?.cancel()
        return waiting
    }
}

extension HTTPChannel {
    /// Requests from an HTTP server arrive on its response streams, which the exchange router
    /// answers itself (-32601): none reach a handler yet.
    public func handleServerRequests(with handler: (@Sendable (ServerRequest) -> Bool)?) {}

    public func answer(_ request: RPCID, with outcome: Result<JSONValue, RPCErrorObject>) {}
}

/// The tasks of requests forwarded over an `HTTPChannel`, by the id `forward` returned.
final class ForwardedCalls: Sendable {
    struct Table {
        var next = 0
        /// Requests whose answer has not been handed over (nor given up on).
        var waiting: Set<Int> = []
        var tasks: [Int: Task<Void, Never>] = [:]
    }

    private let table = Mutex(Table())

    func withLock<T>(_ body: (inout Table) -> T) -> T {
        table.withLock { body(&$0) }
    }
}
