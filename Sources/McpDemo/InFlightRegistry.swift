import Synchronization

/// A request still being worked on after its line was read (today: `sleep` calls), so that a
/// later `notifications/cancelled` can find and stop it.
final class InFlightRequest: Sendable {
    private let cancelled = Mutex(false)

    var isCancelled: Bool { cancelled.withLock { $0 } }

    func cancel() {
        cancelled.withLock { $0 = true }
    }

    /// Runs `emit` (a write for this request) only if the request is not cancelled, holding
    /// the request's lock so a cancellation cannot slip in between the check and the write:
    /// after `cancel()` returns, nothing more for this request reaches stdout.
    @discardableResult
    func unlessCancelled(_ emit: () -> Void) -> Bool {
        cancelled.withLock { isCancelled in
            guard !isCancelled else { return false }
            emit()
            return true
        }
    }
}

/// The requests in flight, by JSON-RPC id.
final class InFlightRegistry: Sendable {
    private let requests = Mutex<[RequestID: InFlightRequest]>([:])

    /// Starts tracking `id`; nil when a request with that id is already in flight (JSON-RPC
    /// ids must be unique among in-flight requests, and a cancellation could not tell them apart).
    func register(_ id: RequestID) -> InFlightRequest? {
        requests.withLock { requests in
            guard requests[id] == nil else { return nil }
            let request = InFlightRequest()
            requests[id] = request
            return request
        }
    }

    /// Marks `id` cancelled; false when no such request is in flight (a late or bogus
    /// cancellation, which the spec says to ignore).
    @discardableResult
    func cancel(_ id: RequestID) -> Bool {
        guard let request = requests.withLock({ $0[id] }) else { return false }
        request.cancel()
        return true
    }

    /// Stops tracking `id` (its work has ended, answered or not).
    func finish(_ id: RequestID) {
        _ = requests.withLock { $0.removeValue(forKey: id) }
    }

    func cancelAll() {
        for request in requests.withLock({ Array($0.values) }) { request.cancel() }
    }

    var isEmpty: Bool { requests.withLock { $0.isEmpty } }
}
