import Synchronization

/// The spans waiting for the exporter: a ring of fixed capacity. `enqueue` is O(1) under a lock
/// held for a few instructions and never waits: when the ring is full the span is dropped and
/// counted (`droppedQueueFull`), so a collector that is down or slow costs a request nothing.
public final class SpanQueue: Sendable {
    private struct Ring {
        var slots: [Span?]
        var head = 0
        var count = 0
        var dropped = 0
    }

    public let capacity: Int
    /// Reaching this many queued spans calls `onBatchReady` (the exporter's wake-up).
    private let batchSize: Int
    private let ring: Mutex<Ring>
    private let onBatchReady: @Sendable () -> Void

    /// A queue of `capacity` spans (at least 1) that calls `onBatchReady` each time the count
    /// reaches `batchSize` (it must not block).
    public init(capacity: Int, batchSize: Int, onBatchReady: @escaping @Sendable () -> Void = {}) {
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        ring = Mutex(Ring(slots: Array(repeating: nil, count: max(1, capacity))))
        self.onBatchReady = onBatchReady
    }

    /// Adds a span; false when the queue was full and the span was dropped.
    @discardableResult
    public func enqueue(_ span: Span) -> Bool {
        let (accepted, full) = ring.withLock { ring -> (Bool, Bool) in
            guard ring.count < capacity else {
                ring.dropped += 1
                return (false, false)
            }
            ring.slots[(ring.head + ring.count) % capacity] = span
            ring.count += 1
            return (true, ring.count == batchSize)
        }
        if full { onBatchReady() }
        return accepted
    }

    /// Removes and returns up to `limit` spans, oldest first.
    public func take(_ limit: Int) -> [Span] {
        ring.withLock { ring in
            let taken = min(max(0, limit), ring.count)
            var out: [Span] = []
            out.reserveCapacity(taken)
            for _ in 0..<taken {
                if let span = ring.slots[ring.head] { out.append(span) }
                ring.slots[ring.head] = nil
                ring.head = (ring.head + 1) % capacity
            }
            ring.count -= taken
            return out
        }
    }

    /// Spans waiting now.
    public var count: Int { ring.withLock { $0.count } }

    /// Spans dropped because the queue was full, since start.
    public var droppedQueueFull: Int { ring.withLock { $0.dropped } }
}
