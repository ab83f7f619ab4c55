import Glibc

/// CPU time and resident memory of one process, from `/proc/<pid>/stat`.
public struct ProcessStats: Sendable, Hashable {
    /// User plus system CPU time.
    public var cpuSeconds: Double
    public var rssBytes: Int
    /// When the process started, in clock ticks after boot (field 22): with the pid, an identity
    /// that survives pid reuse.
    public var startTicks: UInt64
    public var processGroup: Int32
    /// The session id (field 6): a process that called setsid leads a session of its own.
    public var session: Int32
    /// The state letter (field 3): `R`, `S`, `D`, `Z` (exited, not yet reaped), …
    public var state: Character
    /// The parent's pid (field 4): after a re-parenting, the subreaper's (or init's).
    public var parent: Int32 = 0

    /// Exited but not reaped: no longer running anything.
    public var isZombie: Bool { state == "Z" }

    /// Reads `/proc/<pid>/stat`; nil when the process is gone.
    public static func read(pid: Int32) -> ProcessStats? {
        guard let text = ProcFile.read("/proc/\(pid)/stat") else { return nil }
        return parse(text)
    }

    /// Parses the `stat` line. The command (field 2) is in parentheses and may itself contain
    /// spaces and parentheses, so fields are counted from the *last* `)`.
    static func parse(_ text: String, ticksPerSecond: Double = clockTicks, pageSize: Int = pageBytes) -> ProcessStats? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // fields[0] is field 3 (state); field N is fields[N - 3].
        guard fields.count > 21, let parent = Int32(fields[1]), let pgrp = Int32(fields[2]), let session = Int32(fields[3]),
            let utime = Double(fields[11]),
            let stime = Double(fields[12]),
            let start = UInt64(fields[19]), let rss = Int(fields[21]), let state = fields[0].first
        else { return nil }
        return ProcessStats(
            cpuSeconds: (utime + stime) / ticksPerSecond, rssBytes: rss * pageSize, startTicks: start, processGroup: pgrp,
            session: session, state: state, parent: parent)
    }

    static let clockTicks = Double(sysconf(Int32(_SC_CLK_TCK)))
    static let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))
}

/// Small files under `/proc` and `var/`, read whole.
enum ProcFile {
    static func read(_ path: String, limit: Int = 1 << 20) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while bytes.count < limit {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
