/// When each watched process is next probed, and when a probe in flight times out: the timing
/// of health checks, pure, so every rule is unit-tested with a fake clock.
///
/// - A process's first probe is due one `interval` after it is added (it has just completed its
///   handshake, which proved it alive), and each next one an `interval` after the previous one
///   completed, so a slow server is never probed twice at once.
/// - A probe in flight is due to time out at `sent + timeout`.
/// - `due(now:slack:)` hands out the probes due by `now + min(slack, interval / 16)` (probes
///   that fall due close to each other share one wake-up of the loop: a probe is sent at most
///   a sixteenth of its interval early) and the timeouts due by `now` (never early: a timeout
///   is a verdict).
/// - Deadlines are kept in a binary heap with lazy deletion (each entry's `generation` names its
///   one live heap item), so a wake-up costs O(log n) per due item, not a scan of every server.
struct ProbeSchedule<Key: Hashable & Sendable>: Sendable {
    /// What to do now for one process.
    enum Due: Sendable, Hashable {
        /// Send a probe; report it with `sent(_:request:now:)` (or `skipped` if it could not be sent).
        case probe(Key)
        /// The probe `request` got no answer in time.
        case timeout(Key, request: Int)
    }

    struct Timing: Sendable, Hashable {
        var interval: Duration
        var timeout: Duration
    }

    private struct Entry: Sendable {
        var timing: Timing
        /// When the last probe completed (or the entry was added).
        var lastDone: Duration
        var inFlight: (request: Int, sent: Duration)?
        var generation = 0
        /// Handed out by `due` and not reported yet: no deadline until it is.
        var parked = false
    }

    private struct Item: Sendable {
        var deadline: Duration
        var key: Key
        var generation: Int
    }

    private var entries: [Key: Entry] = [:]
    private var heap: [Item] = []
    /// One counter for all entries, so a key removed and added again never revives its old items.
    private var generations = 0

    var count: Int { entries.count }

    /// Heap items, stale ones included (for the test that compaction bounds them).
    var heapCount: Int { heap.count }

    func contains(_ key: Key) -> Bool { entries[key] != nil }

    /// Starts probing `key`: the first probe is due one interval from `now`.
    mutating func add(_ key: Key, timing: Timing, now: Duration) {
        entries[key] = Entry(timing: timing, lastDone: now)
        reschedule(key)
    }

    mutating func remove(_ key: Key) {
        entries[key] = nil
        compactIfSparse()
    }

    /// New interval or timeout (a policy update): they apply to the probe in flight and the next one.
    mutating func update(_ key: Key, timing: Timing) {
        guard entries[key] != nil, entries[key]?.timing != timing else { return }
        entries[key]?.timing = timing
        reschedule(key)
    }

    /// The probe for `key` was sent as `request` at `now`.
    mutating func sent(_ key: Key, request: Int, now: Duration) {
        guard entries[key] != nil else { return }
        entries[key]?.inFlight = (request, now)
        entries[key]?.parked = false
        reschedule(key)
    }

    /// The probe was due but could not be sent (the stdin queue is full): it counts as done now,
    /// so the next attempt is one interval later.
    mutating func skipped(_ key: Key, now: Duration) {
        guard entries[key] != nil else { return }
        entries[key]?.inFlight = nil
        entries[key]?.lastDone = now
        entries[key]?.parked = false
        reschedule(key)
    }

    /// The probe `request` ended (answered, failed or timed out) at `now`. Returns its round-trip
    /// time, or nil when `request` is not the probe in flight (a late answer after a timeout).
    mutating func completed(_ key: Key, request: Int, now: Duration) -> Duration? {
        guard let flight = entries[key]?.inFlight, flight.request == request else { return nil }
        entries[key]?.inFlight = nil
        entries[key]?.lastDone = now
        entries[key]?.parked = false
        reschedule(key)
        return now - flight.sent
    }

    /// The earliest deadline of any entry, nil when there is nothing to wait for.
    mutating func nextDeadline() -> Duration? {
        while let top = heap.first, !isLive(top) { popTop() }
        return heap.first?.deadline
    }

    /// Probes due by `now + min(slack, interval / 16)` and timeouts due by `now`, earliest
    /// first. A returned item is parked until it is reported: `sent` or `skipped` for a probe,
    /// `completed` for a timeout.
    mutating func due(now: Duration, slack: Duration = .zero) -> [Due] {
        var result: [Due] = []
        while let top = heap.first {
            guard isLive(top), let entry = entries[top.key] else {
                popTop()
                continue
            }
            // The walk stops at the first item not due by its own limit; with every server on
            // one interval (the usual case) that is exactly the batch.
            let limit = entry.inFlight == nil ? now + min(slack, entry.timing.interval / 16) : now
            guard top.deadline <= limit else { break }
            popTop()
            if let flight = entry.inFlight {
                result.append(.timeout(top.key, request: flight.request))
            } else {
                result.append(.probe(top.key))
            }
            generations += 1
            entries[top.key]?.generation = generations
            entries[top.key]?.parked = true
        }
        return result
    }

    private func deadline(of entry: Entry) -> Duration {
        if let flight = entry.inFlight { return flight.sent + entry.timing.timeout }
        return entry.lastDone + entry.timing.interval
    }

    private func isLive(_ item: Item) -> Bool {
        entries[item.key]?.generation == item.generation
    }

    private mutating func reschedule(_ key: Key) {
        guard var entry = entries[key] else { return }
        generations += 1
        entry.generation = generations
        entries[key] = entry
        // A parked entry gets its deadline when it is reported (an update must not hand it out twice).
        guard !entry.parked else { return }
        push(Item(deadline: deadline(of: entry), key: key, generation: entry.generation))
        compactIfSparse()
    }

    /// Stale items are dropped when they reach the top; this bounds them when they do not (many
    /// updates of entries whose deadlines lie far ahead).
    private mutating func compactIfSparse() {
        guard heap.count > 4 * entries.count + 64 else { return }
        let live = heap.filter(isLive)
        heap = []
        for item in live { push(item) }
    }

    // MARK: - Binary min-heap on deadline

    private mutating func push(_ item: Item) {
        heap.append(item)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].deadline < heap[parent].deadline else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private mutating func popTop() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].deadline < heap[smallest].deadline { smallest = left }
            if right < heap.count, heap[right].deadline < heap[smallest].deadline { smallest = right }
            guard smallest != parent else { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
