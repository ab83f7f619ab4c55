import CSystem
import Glibc

/// Processes held by pidfd, so that a signal reaches exactly them and never a process that
/// reused a pid: for escapees during a stop and for a previous run's leftovers. The owner calls
/// `finish()` once, which closes the descriptors.
struct PidfdSet {
    /// One process: its pidfd and the strongest signal sent to it so far (0: none yet).
    private struct Held {
        var fd: Int32
        var signal: Int32
    }

    private var held: [Int32: Held] = [:]

    init() {}

    /// Takes `pid` if it still is the process that started at `startTicks`: the pidfd is opened
    /// first and the start time checked after, so it cannot refer to a later process with that pid.
    mutating func adopt(pid: Int32, startTicks: UInt64) {
        guard held[pid] == nil else { return }
        let fd = omni_pidfd_open(pid)
        guard fd >= 0 else { return }
        guard let stats = ProcessStats.read(pid: pid), stats.startTicks == startTicks, !stats.isZombie else {
            close(fd)
            return
        }
        held[pid] = Held(fd: fd, signal: 0)
    }

    mutating func adopt(_ processes: [Int32: UInt64]) {
        for (pid, ticks) in processes { adopt(pid: pid, startTicks: ticks) }
    }

    /// Sends `signal` to every held process that has not exited.
    mutating func signalAll(_ signal: Int32) {
        for (pid, entry) in held where !Self.exited(entry.fd) {
            _ = omni_pidfd_signal(entry.fd, signal)
            held[pid]?.signal = signal
        }
    }

    /// Whether any held process is still running.
    var anyRunning: Bool { held.values.contains { !Self.exited($0.fd) } }

    var isEmpty: Bool { held.isEmpty }

    /// Closes every pidfd; returns the processes that were signalled, with the last signal sent.
    mutating func finish() -> [(pid: Int32, signal: Int32)] {
        var signalled: [(pid: Int32, signal: Int32)] = []
        for (pid, entry) in held.sorted(by: { $0.key < $1.key }) {
            close(entry.fd)
            if entry.signal != 0 { signalled.append((pid, entry.signal)) }
        }
        held = [:]
        return signalled
    }

    /// A pidfd is readable once its process has exited (zombie or reaped).
    private static func exited(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }
}
