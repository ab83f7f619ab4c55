import Synchronization

/// One `drain` waiting for an instance's requests in flight to end: resumed exactly once, by
/// the last of those requests ending, the instance retiring, or the drain's time bound.
final class DrainWaiter: Sendable {
    private let continuation: Mutex<CheckedContinuation<Void, Never>?>

    init(_ continuation: CheckedContinuation<Void, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume() {
        continuation.withLock { $0.take() }?.resume()
    }
}
