import CSystem
import Foundation
import Synchronization

/// The one thread that forks every child.
///
/// `PR_SET_PDEATHSIG` fires when the parent *thread* exits, not the process
/// (prctl(2): "the parent thread"), so forking from a Swift concurrency or GCD worker, which may
/// be retired at any time, would SIGKILL healthy children at random. This thread never exits.
final class SpawnThread: Sendable {
    static let shared = SpawnThread()

    private let jobs = Mutex<[@Sendable () -> Void]>([])
    private let signal = DispatchSemaphore(value: 0)

    private init() {
        let thread = Thread { [self] in
            omni_name_thread("omni-spawn")
            while true {
                signal.wait()
                let job = jobs.withLock { $0.isEmpty ? nil : $0.removeFirst() }
                job?()
            }
        }
        thread.start()
    }

    /// Runs `body` on the spawn thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.withLock { $0.append { continuation.resume(returning: body()) } }
            signal.signal()
        }
    }
}
