import Testing

@testable import Gateway

@Suite struct ConcurrencyGateTests {
    @Test func grantsUpToTheLimitQueuesInOrderAndRefusesBeyondTheQueue() {
        var gate = ConcurrencyGate(limit: 2, queueLimit: 2)
        #expect(gate.acquire() == .granted)
        #expect(gate.acquire() == .granted)
        #expect(gate.acquire() == .queued(ticket: 1))
        #expect(gate.acquire() == .queued(ticket: 2))
        #expect(gate.acquire() == .full)
        #expect(gate.inFlight == 2 && gate.queued == 2)
        // A finished request hands its slot to the oldest waiter.
        #expect(gate.release() == 1)
        #expect(gate.release() == 2)
        #expect(gate.inFlight == 2)
        #expect(gate.release() == nil)
        #expect(gate.release() == nil)
        #expect(gate.inFlight == 0)
        #expect(gate.release() == nil)
        #expect(gate.inFlight == 0)
    }

    /// A new request does not jump a queue that exists, even when a slot is free for a moment.
    @Test func aWaiterIsNotOvertaken() {
        var gate = ConcurrencyGate(limit: 1, queueLimit: 4)
        #expect(gate.acquire() == .granted)
        #expect(gate.acquire() == .queued(ticket: 1))
        let cancelled = gate.cancel(1)
        let again = gate.cancel(1)
        #expect(cancelled && !again)
        #expect(gate.acquire() == .queued(ticket: 2))
    }

    @Test func resizingUpGrantsWaitersAndDownLetsSlotsGo() {
        var gate = ConcurrencyGate(limit: 1, queueLimit: 4)
        _ = gate.acquire()
        _ = gate.acquire()
        _ = gate.acquire()
        #expect(gate.resize(limit: 3, queueLimit: 8) == [1, 2])
        #expect(gate.inFlight == 3 && gate.queued == 0)
        _ = gate.acquire()
        #expect(gate.resize(limit: 1, queueLimit: 1) == [])
        // Over the new limit: finishing requests free slots without handing them over.
        #expect(gate.release() == nil)
        #expect(gate.release() == nil)
        #expect(gate.inFlight == 1)
        #expect(gate.release() == 3)
    }

    @Test func limitsBelowTheirMinimumAreClamped() {
        var gate = ConcurrencyGate(limit: 0, queueLimit: -1)
        #expect(gate.limit == 1 && gate.queueLimit == 0)
        #expect(gate.acquire() == .granted)
        #expect(gate.acquire() == .full)
    }
}
