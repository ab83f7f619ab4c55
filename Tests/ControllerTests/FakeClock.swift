import Actual
import Synchronization

/// A clock that moves only when the test says so; sleepers wake when it passes their deadline.
final class FakeClock: MonotonicClock {
    private struct State {
        var now = Duration.zero
        var sleepers: [(deadline: Duration, continuation: CheckedContinuation<Void, Never>)] = []
    }

    private let state = Mutex(State())

    var now: Duration { state.withLock { $0.now } }

    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        await withCheckedContinuation { continuation in
            let due: Bool = state.withLock { state in
                if duration <= .zero { return true }
                state.sleepers.append((state.now + duration, continuation))
                return false
            }
            if due { continuation.resume() }
        }
    }

    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now += duration
            let due = state.sleepers.filter { $0.deadline <= state.now }
            state.sleepers.removeAll { $0.deadline <= state.now }
            return due.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}
