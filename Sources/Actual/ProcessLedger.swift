import Desired
import Foundation
import Glibc
import JSON

/// The process groups this controller started and has not yet seen end, in a small JSON file
/// under `var/`, so that a controller starting after a crash can stop what the last run left.
///
/// The leaders die with the controller (`PR_SET_PDEATHSIG`), but the death signal is not
/// inherited across fork: grandchildren (`npx` → `node`) survive in the leader's process
/// group, re-parented to init. Each entry is identified by pid *and* start time, plus the boot
/// id, so a reused pid or a reboot never leads to killing a stranger.
struct ProcessLedger: Sendable {
    struct Entry: Sendable, Hashable {
        var name: String
        var pid: Int32
        var startTicks: UInt64
    }

    let path: String
    private(set) var entries: [Int32: Entry] = [:]

    init(path: String) {
        self.path = path
    }

    mutating func add(_ entry: Entry) {
        entries[entry.pid] = entry
        save()
    }

    /// Forgets every entry and writes the empty ledger.
    mutating func reset() {
        entries = [:]
        save()
    }

    mutating func remove(pid: Int32) {
        guard entries.removeValue(forKey: pid) != nil else { return }
        save()
    }

    /// Written atomically (temp file + rename) so a crash mid-write leaves the old file.
    private func save() {
        let list: [JSONValue] = entries.values.sorted { $0.pid < $1.pid }.map { entry in
            .object([("name", .string(entry.name)), ("pid", .int(Int(entry.pid))), ("start_ticks", .string(String(entry.startTicks)))])
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
            return Entry(name: name, pid: Int32(pid), startTicks: ticks)
        }
    }

    /// Every live process in `entry`'s group that started no earlier than its leader did.
    ///
    /// Linux never gives a new process a pid that is still in use as a process group id, so
    /// while any member of our group lives, its id cannot belong to a stranger. If a process
    /// with the leader's pid exists but started at another time, the pid was reused, which
    /// means our group is gone: nothing to stop.
    static func leftovers(of entry: Entry) -> [Int32] {
        if let leader = ProcessStats.read(pid: entry.pid), leader.startTicks != entry.startTicks { return [] }
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { Int32($0) }.filter { pid in
            guard let stats = ProcessStats.read(pid: pid) else { return false }
            return !stats.isZombie && stats.processGroup == entry.pid && stats.startTicks >= entry.startTicks
        }.sorted()
    }

    static func bootID() -> String {
        (ProcFile.read("/proc/sys/kernel/random/boot_id") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
