import Glibc
import Testing

@testable import Controller

/// Which inotify events reload at once, which wait for quiet, and which ask for a rescan.
@Suite struct FileWatcherTests {
    let directories: [Int32: String] = [1: "", 2: "servers", 3: "config"]

    func interpret(_ events: [(Int32, Int32, String)]) -> FileWatcher.Change? {
        FileWatcher.interpret(events.map { FileWatcher.Event(wd: $0.0, mask: UInt32($0.1), name: $0.2) }) { directories[$0] }
    }

    @Test func aFileRenamedIntoPlaceOrClosedAfterWritingIsComplete() {
        // vim, `sed -i`, most editors: write a temp file, rename it over the original.
        #expect(
            interpret([(2, IN_CREATE, "a.yaml.tmp"), (2, IN_CLOSE_WRITE, "a.yaml.tmp"), (2, IN_MOVED_TO, "a.yaml")])
                == .file("servers/a.yaml", complete: true))
        // An in-place write whose close is in the same batch.
        #expect(interpret([(3, IN_MODIFY, "x.yaml"), (3, IN_CLOSE_WRITE, "x.yaml")]) == .file("config/x.yaml", complete: true))
    }

    @Test func aWriteInProgressOrADeletionWaitsForQuiet() {
        #expect(interpret([(2, IN_CREATE, "a.yaml"), (2, IN_MODIFY, "a.yaml")]) == .file("servers/a.yaml", complete: false))
        // The first half of a save (git: unlink, then create) must not read as a deletion at once.
        #expect(interpret([(2, IN_DELETE, "a.yaml")]) == .file("servers/a.yaml", complete: false))
        #expect(interpret([(2, IN_MOVED_FROM, "a.yaml")]) == .file("servers/a.yaml", complete: false))
        // One file whole, another still being written: the batch waits.
        #expect(interpret([(2, IN_MOVED_TO, "a.yaml"), (2, IN_MODIFY, "b.yaml")]) == .file("servers/b.yaml", complete: false))
    }

    @Test func editorTempFilesAndOtherNamesAreIgnored() {
        #expect(interpret([(2, IN_CLOSE_WRITE, ".a.yaml.swp"), (2, IN_CREATE, "4913"), (2, IN_MODIFY, "a.yaml~")]) == nil)
        #expect(interpret([(3, IN_CREATE, ".#local.yaml"), (1, IN_CLOSE_WRITE, "README.md"), (2, IN_CLOSE_WRITE, "notes.txt")]) == nil)
        #expect(interpret([(1, IN_CLOSE_WRITE, ".env")]) == .file(".env", complete: true))
    }

    @Test func aConfigMapSymlinkSwapIsSeen() {
        #expect(interpret([(3, IN_CREATE, "..2026_11_25"), (3, IN_MOVED_TO, "..data")]) == .file("config/..data", complete: false))
        #expect(interpret([(3, IN_MOVED_TO, "..data")]) == .file("config/..data", complete: true))
    }

    @Test func lostEventsOrAReplacedDirectoryAskForARescan() {
        #expect(interpret([(2, IN_MODIFY, "a.yaml"), (-1, IN_Q_OVERFLOW, "")]) == .rescan("the inotify queue overflowed"))
        #expect(interpret([(2, IN_IGNORED, "")]) == .rescan("a watched directory was moved or deleted"))
        #expect(interpret([(3, IN_DELETE_SELF, "")]) == .rescan("a watched directory was moved or deleted"))
        #expect(interpret([(1, IN_MOVED_TO | IN_ISDIR, "servers")]) == .rescan("servers/ appeared or went"))
    }

    /// Lost events are lost wherever the overflow record falls in the batch: a complete file
    /// after it must not turn the batch into that one file's change.
    @Test func anOverflowAnywhereInTheBatchWinsOverFileChanges() {
        #expect(interpret([(-1, IN_Q_OVERFLOW, ""), (2, IN_CLOSE_WRITE, "a.yaml")]) == .rescan("the inotify queue overflowed"))
        #expect(
            interpret([(2, IN_MOVED_TO, "a.yaml"), (-1, IN_Q_OVERFLOW, ""), (3, IN_MOVED_TO, "b.yaml")])
                == .rescan("the inotify queue overflowed"))
        // The overflow record as the kernel writes it (wd -1, no name), decoded then interpreted.
        func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        let overflow = le(UInt32(bitPattern: -1)) + le(UInt32(IN_Q_OVERFLOW)) + le(0) + le(0)
        let events = FileWatcher.events(in: overflow[...])
        #expect(FileWatcher.interpret(events) { directories[$0] } == .rescan("the inotify queue overflowed"))
    }

    @Test func decodesKernelRecordsWithPaddedNames() {
        func record(wd: Int32, mask: Int32, name: String, padded: Int) -> [UInt8] {
            func le(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
            let nameBytes = Array(name.utf8) + [UInt8](repeating: 0, count: padded - name.utf8.count)
            return le(UInt32(bitPattern: wd)) + le(UInt32(mask)) + le(0) + le(UInt32(nameBytes.count)) + nameBytes
        }
        let bytes = record(wd: 2, mask: IN_MOVED_TO, name: "a.yaml", padded: 16) + record(wd: -1, mask: IN_Q_OVERFLOW, name: "", padded: 0)
        #expect(
            FileWatcher.events(in: bytes[...]) == [
                FileWatcher.Event(wd: 2, mask: UInt32(IN_MOVED_TO), name: "a.yaml"),
                FileWatcher.Event(wd: -1, mask: UInt32(IN_Q_OVERFLOW), name: ""),
            ])
        // A truncated record is not read past the end.
        #expect(FileWatcher.events(in: bytes[0..<20]).count == 1)
    }
}
