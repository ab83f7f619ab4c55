import Desired
import Foundation
import Glibc
import JSON

/// The process groups this controller started and has not yet seen end, in a small JSON file
/// under `var/`, so that a controller starting after a crash can stop what the last run left.
///
/// The leaders die with the controller (`PR_SET_PDEATHSIG`), but the death signal is not
/// inherited across fork: grandchildren (`npx` → `node`) survive in the leader's process
/// group or session, re-parented to init, and so do escapees that left both (recorded here as
/// the supervisor finds them). Each entry is identified by pid *and* start time, plus the boot
/// id, so a reused pid or a reboot never leads to killing a stranger.
struct ProcessLedger: Sendable {
    struct Entry: Sendable, Hashable {
        var name: String
        var pid: Int32
        var startTicks: UInt64
        /// Escapees found while the controller ran: pid → start ticks.
        var escapees: [Int32: UInt64] = [:]
    }

    let path: String
    private(set) var entries: [Int32: Entry] = [:]
    /// Changed since the last `save`: the owner writes changes in batches (`saveIfChanged`), so
    /// a start storm of a thousand servers writes the file tens of times, not a thousand.
    private(set) var changed = false

    init(path: String) {
        self.path = path
    }

    mutating func add(_ entry: Entry) {
        entries[entry.pid] = entry
        changed = true
    }

    /// Forgets every entry and writes the empty ledger.
    mutating func reset() {
        entries = [:]
        save()
    }

    /// Records the escapees now known for the group `pid` leads (written only when they changed).
    mutating func record(escapees: [Int32: UInt64], of pid: Int32) {
        guard let entry = entries[pid], entry.escapees != escapees else { return }
        entries[pid]?.escapees = escapees
        changed = true
    }

    mutating func remove(pid: Int32) {
        guard entries.removeValue(forKey: pid) != nil else { return }
        changed = true
    }

    /// Writes the file if anything changed since it was last written.
    mutating func saveIfChanged() {
        guard changed else { return }
        save()
    }

    /// Written atomically (temp file + rename) so a crash mid-write leaves the old file.
    private mutating func save() {
        changed = false
        let list: [JSONValue] = entries.values.sorted { $0.pid < $1.pid }.map { entry in
            let escapees: [JSONValue] = entry.escapees.sorted { $0.key < $1.key }.map { pid, ticks in
                .object([("pid", .int(Int(pid))), ("start_ticks", .string(String(ticks)))])
            }
            return .object([
                ("name", .string(entry.name)), ("pid", .int(Int(entry.pid))), ("start_ticks", .string(String(entry.startTicks))),
                ("escapees", .array(escapees)),
            ])
        }
        let document: JSONValue = .object([("boot_id", .string(ProcessLedger.bootID())), ("groups", .array(list))])
        let directory = (path as NSString).deletingLastPathComponent
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try? Data((document.rendered(pretty: true) + "\n").utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// The entries of a ledger file written during this boot; empty when missing or unreadable.
    static func load(path: String) -> [Entry] {
        guard let text = ProcFile.read(path), let json = try? JSONParser.parse(text),
            json["boot_id"]?.stringValue == bootID(), let groups = json["groups"]?.arrayValue
        else { return [] }
        return groups.compactMap { group in
            guard let name = group["name"]?.stringValue, let pid = group["pid"]?.intValue,
                let ticks = group["start_ticks"]?.stringValue.flatMap({ UInt64($0) })
            else { return nil }
            var escapees: [Int32: UInt64] = [:]
            for escapee in group["escapees"]?.arrayValue ?? [] {
                guard let pid = escapee["pid"]?.intValue, let ticks = escapee["start_ticks"]?.stringValue.flatMap({ UInt64($0) })
                else { continue }
                escapees[Int32(pid)] = ticks
            }
            return Entry(name: name, pid: Int32(pid), startTicks: ticks, escapees: escapees)
        }
    }

    /// Every live process of `entry` (pid → start ticks): the members of its group and session,
    /// its recorded escapees, and their descendants, each started no earlier than its leader.
    ///
    /// Linux never gives a new process a pid that is still in use as a process group or session
    /// id, so while any member lives, those ids cannot belong to a stranger. If a process with the
    /// leader's pid exists but started at another time, the pid was reused, which means the group
    /// and session are gone: only recorded escapees (identified by their own start time) are left.
    static func leftovers(of entry: Entry, in table: ProcessTable = .scan()) -> [Int32: UInt64] {
        let reused = table.rows[entry.pid].map { $0.startTicks != entry.startTicks } ?? false
        var roots: Set<Int32> = []
        for row in table.rows.values where !row.isZombie && row.startTicks >= entry.startTicks {
            if !reused, row.group == entry.pid || row.session == entry.pid { roots.insert(row.pid) }
            if entry.escapees[row.pid] == row.startTicks { roots.insert(row.pid) }
        }
        var found: [Int32: UInt64] = [:]
        for pid in table.closure(of: roots) {
            guard let row = table.rows[pid], !row.isZombie, row.startTicks >= entry.startTicks else { continue }
            found[pid] = row.startTicks
        }
        return found
    }

    /// This boot's id (read once: it cannot change while the process runs).
    static func bootID() -> String { currentBootID }

    private static let currentBootID = (ProcFile.read("/proc/sys/kernel/random/boot_id") ?? "").trimmingCharacters(
        in: .whitespacesAndNewlines)
}
