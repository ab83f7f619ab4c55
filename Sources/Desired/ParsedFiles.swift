import Foundation

/// What each file parsed to, by path, with the file's identity and version when it was read: a
/// load given the previous load's `ParsedFiles` re-parses only the files whose device, inode,
/// size, modification or change time differ (`FileStamp`), so a periodic resync of a thousand
/// unchanged manifests costs a `stat` each. Parsing depends on the bytes alone (interpolation
/// and the build happen after), so a reused result is the one a new parse would give.
public struct ParsedFiles: Sendable {
    /// One file's parse, with the stamp of the file it came from.
    struct Stamped<Value: Sendable>: Sendable {
        var stamp: FileStamp
        var value: Value?
        var problems: [Diagnostic]
    }

    var layers: [String: Stamped<YAMLNode>] = [:]
    var manifests: [String: Stamped<Manifest>] = [:]

    public init() {}

    /// Files parsed (not reused) by the load that made this: for tests and the reload log.
    public internal(set) var parsedCount = 0
}

/// A file's identity and version as `stat` reports them. Nanosecond times: two writes of the
/// same size within one clock tick of the file system are the only change it can miss, and the
/// file watcher still reports those (the periodic resync is its backstop, not its replacement).
struct FileStamp: Sendable, Hashable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: timespec
    var changed: timespec

    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        modified = info.st_mtim
        changed = info.st_ctim
    }

    static func == (lhs: FileStamp, rhs: FileStamp) -> Bool {
        lhs.device == rhs.device && lhs.inode == rhs.inode && lhs.size == rhs.size && lhs.modified.tv_sec == rhs.modified.tv_sec
            && lhs.modified.tv_nsec == rhs.modified.tv_nsec && lhs.changed.tv_sec == rhs.changed.tv_sec
            && lhs.changed.tv_nsec == rhs.changed.tv_nsec
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(inode)
        hasher.combine(size)
    }
}
