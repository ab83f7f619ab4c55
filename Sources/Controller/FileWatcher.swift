import CSystem
import Foundation
import Glibc

/// Watches the root, `servers/` and `config/` with inotify and reports that something relevant
/// changed; the reload itself re-reads everything (level-triggered).
///
/// Directories, not files, are watched: editors save by writing a temp file and renaming it over
/// the original (vim, `sed -i`), which replaces the inode a file watch would follow, and a
/// Kubernetes ConfigMap swaps its `..data` symlink. Editor temp files (`.swp`, `~`, vim's
/// `4913`, emacs `.#` locks) are ignored. `IN_Q_OVERFLOW` (events were lost) and a watched
/// directory that was moved or deleted ask for a full rescan, after which the watches are set
/// up again.
final class FileWatcher: Sendable {
    enum Change: Sendable, Hashable {
        /// A relevant file changed (its path, for the log); `complete` when the event says the
        /// file is whole (renamed into place, or closed after writing).
        case file(String, complete: Bool)
        /// Events were lost or a directory was replaced: re-read everything.
        case rescan(String)
    }

    let changes: AsyncStream<Change>
    private let emit: AsyncStream<Change>.Continuation
    private let root: String
    private let fd: Int32

    init(root: String) {
        self.root = root
        (changes, emit) = AsyncStream.makeStream(of: Change.self)
        fd = inotify_init1(Int32(IN_CLOEXEC))
    }

    /// Starts the watches and the reading thread. False when inotify is unavailable (the
    /// periodic resync still picks up changes).
    func start() -> Bool {
        guard fd >= 0 else { return false }
        let watches = WatchSet(fd: fd, root: root)
        watches.refresh()
        let thread = Thread { [self] in
            omni_name_thread("omni-watch")
            readLoop(watches)
        }
        thread.start()
        return true
    }

    /// Whether a file name in a watched directory matters.
    static func isRelevant(_ name: String, directory: String) -> Bool {
        if name.hasSuffix(".swp") || name.hasSuffix(".swx") || name.hasSuffix("~") || name == "4913" || name.hasPrefix(".#") {
            return false
        }
        switch directory {
        case "": return name == ".env" || name == "servers" || name == "config"
        default: return name.hasSuffix(".yaml") || name == "..data" || (name.hasPrefix("..") && name != "..")
        }
    }

    /// One inotify event as the kernel reports it.
    struct Event: Sendable, Hashable {
        var wd: Int32
        var mask: UInt32
        var name: String
    }

    /// Decodes the `struct inotify_event` records in `bytes` (what one read(2) returned).
    static func events(in bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        var offset = bytes.startIndex
        while offset + 16 <= bytes.endIndex {
            func word(_ at: Int) -> UInt32 {
                (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + at + $1]) << (8 * UInt32($1)) }
            }
            let length = Int(word(12))
            let nameBytes = bytes[(offset + 16)..<min(offset + 16 + length, bytes.endIndex)].prefix { $0 != 0 }
            events.append(Event(wd: Int32(bitPattern: word(0)), mask: word(4), name: String(decoding: nameBytes, as: UTF8.self)))
            offset += 16 + length
        }
        return events
    }

    /// What one batch of events asks for: a rescan (events were lost, or a watched directory
    /// went), a changed file, or nothing (only irrelevant names). Pure, so every mask is tested.
    ///
    /// A file is `complete` when its *last* event in the batch says it is whole: closed after
    /// writing or renamed into place. A write still in progress must not be read yet, and a
    /// deletion or rename-away may be the first half of a save (vim's rename, git's unlink then
    /// create): both wait for the quiet period, so a file is never read as deleted mid-save.
    static func interpret(_ events: [Event], directoryOf: (Int32) -> String?) -> Change? {
        var rescan: String?
        var last: [String: UInt32] = [:]
        var order: [String] = []
        for event in events {
            if event.mask & UInt32(IN_Q_OVERFLOW) != 0 {
                rescan = "the inotify queue overflowed"
                continue
            }
            if event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                rescan = "a watched directory was moved or deleted"
                continue
            }
            let directory = directoryOf(event.wd) ?? ""
            guard isRelevant(event.name, directory: directory) else { continue }
            if directory.isEmpty, event.name == "servers" || event.name == "config" { rescan = "\(event.name)/ appeared or went" }
            let path = directory.isEmpty ? event.name : directory + "/" + event.name
            if last[path] == nil { order.append(path) }
            last[path] = event.mask
        }
        if let rescan { return .rescan(rescan) }
        guard let changed = order.last else { return nil }
        let complete = last.values.allSatisfy { $0 & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 }
        return .file(changed, complete: complete)
    }

    private func readLoop(_ watches: WatchSet) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { return }
            let change = FileWatcher.interpret(FileWatcher.events(in: buffer[0..<count]), directoryOf: watches.directory(of:))
            if case .rescan = change { watches.refresh() }
            if let change { emit.yield(change) }
        }
    }
}

/// The current inotify watches, by descriptor. Used only by the watcher's thread.
private final class WatchSet: @unchecked Sendable {
    private let fd: Int32
    private let root: String
    private var directories: [Int32: String] = [:]

    init(fd: Int32, root: String) {
        self.fd = fd
        self.root = root
    }

    func directory(of wd: Int32) -> String? { directories[wd] }

    /// (Re-)adds a watch on the root and each directory that exists; inotify returns the same
    /// descriptor for an inode already watched, so this is idempotent.
    func refresh() {
        let events = UInt32(
            IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF)
        var next: [Int32: String] = [:]
        for directory in ["", "servers", "config"] {
            let path = directory.isEmpty ? root : root + "/" + directory
            let wd = inotify_add_watch(fd, path, events | UInt32(IN_ONLYDIR))
            if wd >= 0 { next[wd] = directory }
        }
        directories = next
    }
}
