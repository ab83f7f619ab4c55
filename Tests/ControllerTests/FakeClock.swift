import Actual
import Synchronization

/// A clock that moves only when the test says so; sleepers wake when it passes their deadline.
final class FakeClock: MonotonicClock {
    private struct State {
        var now = Duration.zero
        var sleepers: [(deadline: Duration, continuation: CheckedContinuation<Void, Never>)] = []
        /// Tests waiting for at least `count` sleepers.
        var watchers: [(id: Int, count: Int, continuation: CheckedContinuation<Bool, Never>)] = []
        var lastWatcher = 0
        var expired: Set<Int> = []
    }

    private let state = Mutex(State())

    var now: Duration { state.withLock { $0.now } }

    var sleeping: Int { state.withLock { $0.sleepers.count } }

    func sleep(for duration: Duration) async throws {
        await withCheckedContinuation { continuation in
            let (due, satisfied): (Bool, [CheckedContinuation<Bool, Never>]) = state.withLock { state in
                if duration <= .zero { return (true, []) }
                state.sleepers.append((state.now + duration, continuation))
                let count = state.sleepers.count
                let satisfied = state.watchers.filter { $0.count <= count }.map(\.continuation)
                state.watchers.removeAll { $0.count <= count }
                return (false, satisfied)
            }
            if due { continuation.resume() }
            for watcher in satisfied { watcher.resume(returning: true) }
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

    /// Whether at least `count` tasks sleep on this clock now or start to within `timeout` (of
    /// real time: the bound of a test that waits for the code under test to reach its sleep).
    func waitForSleepers(_ count: Int, timeout: Duration = .seconds(10)) async -> Bool {
        let id = state.withLock { state in
            state.lastWatcher += 1
            return state.lastWatcher
        }
        let timer = Task {
            try? await Task.sleep(for: timeout)
            self.expire(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready: Bool? = state.withLock { state in
                if state.sleepers.count >= count { return true }
                if state.expired.contains(id) { return false }
                state.watchers.append((id, count, continuation))
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    private func expire(_ id: Int) {
        let waiting = state.withLock { state in
            state.expired.insert(id)
            let waiting = state.watchers.filter { $0.id == id }.map(\.continuation)
            state.watchers.removeAll { $0.id == id }
            return waiting
        }
        for continuation in waiting { continuation.resume(returning: false) }
    }
}
