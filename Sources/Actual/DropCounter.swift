import Synchronization

/// A counter shared between threads (events dropped by a bounded stream).
final class DropCounter: Sendable {
    private let value = Atomic<Int>(0)

    func add() { value.add(1, ordering: .relaxed) }

    var count: Int { value.load(ordering: .relaxed) }
}
