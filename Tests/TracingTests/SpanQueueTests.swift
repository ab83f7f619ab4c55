import Synchronization
import Testing

@testable import Tracing

func span(_ number: Int) -> Span {
    Span(
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: TraceIDs.hex(UInt64(number + 1)), parentSpanID: nil, name: "s\(number)",
        kind: .internal, start: UInt64(number), end: UInt64(number), attributes: [], status: .ok)
}

@Suite struct SpanQueueTests {
    /// A full queue refuses at once and counts each refusal; what was queued comes out oldest
    /// first, and the ring keeps working after wrapping around.
    @Test func isBoundedAndCountsDrops() {
        let queue = SpanQueue(capacity: 4, batchSize: 2)
        for number in 0..<6 { queue.enqueue(span(number)) }
        #expect(queue.count == 4)
        #expect(queue.droppedQueueFull == 2)
        #expect(queue.take(3).map(\.name) == ["s0", "s1", "s2"])
        #expect(queue.enqueue(span(6)))
        #expect(queue.enqueue(span(7)))
        #expect(queue.enqueue(span(8)))
        #expect(!queue.enqueue(span(9)))
        #expect(queue.take(10).map(\.name) == ["s3", "s6", "s7", "s8"])
        #expect(queue.count == 0)
        #expect(queue.droppedQueueFull == 3)
        #expect(queue.take(1).isEmpty)
    }

    /// The exporter is woken each time a batch's worth is waiting, not for every span.
    @Test func signalsWhenABatchIsReady() {
        let signals = Mutex(0)
        let queue = SpanQueue(capacity: 10, batchSize: 3) { signals.withLock { $0 += 1 } }
        for number in 0..<5 { queue.enqueue(span(number)) }
        #expect(signals.withLock { $0 } == 1)
        _ = queue.take(3)
        queue.enqueue(span(5))
        #expect(signals.withLock { $0 } == 2)
    }
}
