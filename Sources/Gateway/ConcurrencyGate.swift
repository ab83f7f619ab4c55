/// At most `limit` requests in flight to one server, the rest waiting in a bounded FIFO queue;
/// a pure state machine (the gateway resumes a waiter when `release` names it).
///
/// A request that finds the queue full is refused at once (`overloaded`) rather than queued
/// without bound; one that waits past its own deadline leaves the queue (`cancel`).
public struct ConcurrencyGate: Sendable, Hashable {
    public enum Admission: Sendable, Hashable {
        /// Runs now.
        case granted
        /// Waits with this ticket until `release` hands the slot over (or it is cancelled).
        case queued(ticket: UInt64)
        /// In flight and queue are both full.
        case full
    }

    public private(set) var limit: Int
    public private(set) var queueLimit: Int
    public private(set) var inFlight = 0
    private var waiting: [UInt64] = []
    private var nextTicket: UInt64 = 1

    public init(limit: Int, queueLimit: Int) {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
    }

    public var queued: Int { waiting.count }

    public mutating func acquire() -> Admission {
        if inFlight < limit, waiting.isEmpty {
            inFlight += 1
            return .granted
        }
        guard waiting.count < queueLimit else { return .full }
        let ticket = nextTicket
        nextTicket += 1
        waiting.append(ticket)
        return .queued(ticket: ticket)
    }

    /// A request in flight finished. Returns the ticket that now runs in its place, if any (its
    /// slot is taken over: `inFlight` stays the same).
    public mutating func release() -> UInt64? {
        guard inFlight > 0 else { return nil }
        // Over the limit (it was lowered): the slot goes, nobody takes it.
        if waiting.isEmpty || inFlight > limit {
            inFlight -= 1
            return nil
        }
        return waiting.removeFirst()
    }

    /// New limits (a policy update). Requests in flight keep their slots; waiters that now fit
    /// are returned, to run at once; the queue keeps its order (a lower queue limit only stops
    /// new waiters).
    public mutating func resize(limit: Int, queueLimit: Int) -> [UInt64] {
        self.limit = max(1, limit)
        self.queueLimit = max(0, queueLimit)
        var granted: [UInt64] = []
        while inFlight < self.limit, !waiting.isEmpty {
            granted.append(waiting.removeFirst())
            inFlight += 1
        }
        return granted
    }

    /// A waiter gave up (its deadline passed, its client left); false when it was not waiting
    /// (already granted: then it must `release`).
    @discardableResult
    public mutating func cancel(_ ticket: UInt64) -> Bool {
        guard let index = waiting.firstIndex(of: ticket) else { return false }
        waiting.remove(at: index)
        return true
    }
}
