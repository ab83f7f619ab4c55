import CSystem
import Foundation
import Glibc

/// One pass over `/proc`: every process's parent, group, session, state and start time, for
/// questions no single syscall answers (who is left in a group whose leader is a zombie; which
/// processes descend from a server).
///
/// A snapshot: processes start and end while it is read, so every answer is "as of the pass".
struct ProcessTable: Sendable {
    struct Row: Sendable, Hashable {
        var pid: Int32
        var parent: Int32
        var group: Int32
        var session: Int32
        var startTicks: UInt64
        var isZombie: Bool
    }

    let rows: [Int32: Row]

    /// Reads every `/proc/<pid>/stat` once (in C: this runs during every stop).
    static func scan() -> ProcessTable {
        var capacity = 4096
        while true {
            var buffer = [omni_process_row](repeating: omni_process_row(), count: capacity)
            let count = Int(omni_scan_processes(&buffer, Int32(capacity)))
            guard count >= 0 else { return ProcessTable(rows: [:]) }
            // A full buffer may have missed some: look again with room to spare.
            if count == capacity {
                capacity *= 4
                continue
            }
            var rows: [Int32: Row] = [:]
            rows.reserveCapacity(count)
            for row in buffer.prefix(count) {
                rows[row.pid] = Row(
                    pid: row.pid, parent: row.parent, group: row.group, session: row.session, startTicks: UInt64(row.start_ticks),
                    isZombie: UInt8(bitPattern: row.state) == UInt8(ascii: "Z"))
            }
            return ProcessTable(rows: rows)
        }
    }

    /// Whether a process other than `except` is in process group `group`: a live one, or a
    /// zombie that `reaper` (this process) has yet to reap. Another parent's zombie does not
    /// count: it only waits for that parent, and it keeps the group id from reuse meanwhile.
    func hasMember(group: Int32, except: Int32, reaper: Int32) -> Bool {
        rows.values.contains { $0.group == group && $0.pid != except && (!$0.isZombie || $0.parent == reaper) }
    }

    /// `roots` and every process whose parent chain reaches one of them (as of this pass).
    func closure(of roots: Set<Int32>) -> Set<Int32> {
        var children: [Int32: [Int32]] = [:]
        for row in rows.values { children[row.parent, default: []].append(row.pid) }
        var found = roots
        var queue = Array(roots)
        while let pid = queue.popLast() {
            for child in children[pid] ?? [] where found.insert(child).inserted { queue.append(child) }
        }
        return found
    }

    /// The pipe inodes `pid` has as its stdin, stdout and stderr (`pipe:[inode]` links). Only
    /// those three: a child between fork and exec still holds every descriptor of this process,
    /// other servers' pipes included, but not on 0-2.
    static func standardPipeInodes(of pid: Int32) -> Set<UInt64> {
        var inodes: Set<UInt64> = []
        for fd in 0...2 {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(fd)"),
                target.hasPrefix("pipe:["), target.hasSuffix("]"), let inode = UInt64(target.dropFirst(6).dropLast())
            else { continue }
            inodes.insert(inode)
        }
        return inodes
    }

    /// The pids of this process's children (every thread's `children` list), zombies included.
    static func ownChildren() -> [Int32] {
        guard let tasks = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return [] }
        var pids: [Int32] = []
        for task in tasks {
            guard let text = ProcFile.read("/proc/self/task/\(task)/children") else { continue }
            pids += text.split(separator: " ").compactMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        return pids
    }
}
