import Foundation
import Glibc
import Synchronization
import Testing

@testable import Controller

/// The watcher on a real directory tree: when `servers/` is replaced by another directory, it
/// asks for a rescan and watches the new directory, so a later edit there is still seen.
@Suite(.timeLimit(.minutes(1))) struct FileWatcherRescanTests {
    /// The changes a watcher reported, in order; a test waits for one (bounded, no sleeping).
    actor Changes {
        private(set) var seen: [FileWatcher.Change] = []
        private var waiters: [(id: Int, match: @Sendable (FileWatcher.Change) -> Bool, continuation: CheckedContinuation<Bool, Never>)] =
            []
        private var nextID = 0

        init(_ watcher: FileWatcher) {
            Task { [weak self] in
                for await change in watcher.changes { await self?.add(change) }
            }
        }

        private func add(_ change: FileWatcher.Change) {
            seen.append(change)
            let ready = waiters.filter { $0.match(change) }
            waiters.removeAll { $0.match(change) }
            for waiter in ready { waiter.continuation.resume(returning: true) }
        }

        /// Whether a change matching `match` was seen after the first `after`, or arrives within `timeout`.
        func wait(after start: Int, timeout: Duration = .seconds(10), for match: @escaping @Sendable (FileWatcher.Change) -> Bool)
            async -> Bool
        {
            if seen.dropFirst(start).contains(where: match) { return true }
            nextID += 1
            let id = nextID
            let timer = Task {
                try? await Task.sleep(for: timeout)
                self.expire(id)
            }
            defer { timer.cancel() }
            return await withCheckedContinuation { waiters.append((id, match, $0)) }
        }

        private func expire(_ id: Int) {
            for waiter in waiters where waiter.id == id { waiter.continuation.resume(returning: false) }
            waiters.removeAll { $0.id == id }
        }
    }

    private func makeRoot() throws -> String {
        let root = NSTemporaryDirectory() + "omni-watch-" + UUID().uuidString
        for directory in ["servers", "config"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        return root
    }

    private func write(_ path: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    private static func isRescan(_ change: FileWatcher.Change) -> Bool {
        if case .rescan = change { true } else { false }
    }

    /// Control: an edit in the original `servers/` is seen.
    @Test func anEditInServersIsSeen() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watcher = FileWatcher(root: root)
        #expect(watcher.start())
        let changes = Changes(watcher)
        try write(root + "/servers/a.yaml", "name: a\n")
        #expect(await changes.wait(after: 0) { $0 == .file("servers/a.yaml", complete: true) })
    }

    /// `servers/` moved aside, then a new directory renamed into its place (how a deploy swaps
    /// a directory): each step asks for a rescan, and an edit in the new `servers/` is reported.
    /// Without the re-established watch the new directory is unwatched and the edit is never seen.
    @Test func aServersDirectoryReplacedByRenameIsRescannedAndWatched() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        try write(root + "/servers/old.yaml", "name: old\n")
        let watcher = FileWatcher(root: root)
        #expect(watcher.start())
        let changes = Changes(watcher)
        // Prepared outside the watched directories (its name is not relevant at the root).
        try FileManager.default.createDirectory(atPath: root + "/servers.new", withIntermediateDirectories: true)
        try write(root + "/servers.new/new.yaml", "name: new\n")
        #expect(rename(root + "/servers", root + "/servers.old") == 0)
        // The moved directory's own event is the last one that rename causes.
        #expect(await changes.wait(after: 0) { $0 == .rescan("a watched directory was moved or deleted") })
        let moved = await changes.seen.count
        #expect(rename(root + "/servers.new", root + "/servers") == 0)
        #expect(await changes.wait(after: moved) { $0 == .rescan("servers/ appeared or went") })
        let replaced = await changes.seen.count
        try write(root + "/servers/b.yaml", "name: b\n")
        let seen = await changes.wait(after: replaced) { $0 == .file("servers/b.yaml", complete: true) }
        let all = await changes.seen
        #expect(seen, "changes seen: \(all)")
    }

    /// The same with a single rename over an empty `servers/`, which deletes the old directory.
    @Test func aServersDirectoryRenamedOverTheOldOneIsRescannedAndWatched() async throws {
        let root = try makeRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let watcher = FileWatcher(root: root)
        #expect(watcher.start())
        let changes = Changes(watcher)
        try FileManager.default.createDirectory(atPath: root + "/servers.new", withIntermediateDirectories: true)
        #expect(rename(root + "/servers.new", root + "/servers") == 0)
        #expect(await changes.wait(after: 0, for: Self.isRescan))
        let before = await changes.seen.count
        try write(root + "/servers/c.yaml", "name: c\n")
        let seen = await changes.wait(after: before) { $0 == .file("servers/c.yaml", complete: true) }
        let all = await changes.seen
        #expect(seen, "changes seen: \(all)")
    }
}
