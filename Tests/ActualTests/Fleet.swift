import Actual
import CSystem
import Desired
import Foundation
import Glibc
import Testing

/// The package root and the built binaries the tests run as real children.
enum Built {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
    static let debug = root + "/.build/debug"
    static let venvBin = root + "/.venv/bin"
}

/// Collects a supervisor's events and lets a test wait for one, without sleeping: each new event
/// wakes the waiters, and a waiter gives up after its timeout.
actor EventLog {
    private(set) var events: [ActualEvent] = []
    private var waiters: [(id: Int, match: @Sendable (ActualEvent) -> Bool, continuation: CheckedContinuation<ActualEvent?, Never>)] = []
    private var nextWaiter = 0

    init(_ stream: AsyncStream<ActualEvent>) {
        Task { [weak self] in
            for await event in stream { await self?.append(event) }
        }
    }

    private func append(_ event: ActualEvent) {
        events.append(event)
        let ready = waiters.filter { $0.match(event) }
        waiters.removeAll { $0.match(event) }
        for waiter in ready { waiter.continuation.resume(returning: event) }
    }

    /// The first matching event at index `after` or later (already seen or still to come), or
    /// nil after `timeout`.
    func first(
        after start: Int = 0, timeout: Duration = .seconds(20), where match: @escaping @Sendable (ActualEvent) -> Bool
    ) async -> ActualEvent? {
        if let seen = events.dropFirst(start).first(where: match) { return seen }
        nextWaiter += 1
        let id = nextWaiter
        let known = events.count
        return await withTaskGroup(of: ActualEvent?.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    Task { await self.add(id: id, from: known, match: match, continuation: continuation) }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                await self.expire(id)
                return nil
            }
            let result = await group.next() ?? nil
            group.cancelAll()
            expire(id)
            return result
        }
    }

    /// Whether at least `count` matching events arrive (seen or to come) within `timeout`.
    func count(atLeast count: Int, timeout: Duration = .seconds(20), where match: @escaping @Sendable (ActualEvent) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var start = 0
        var found = 0
        while found < count {
            let left = ContinuousClock.now.duration(to: deadline)
            guard left > .zero, await first(after: start, timeout: left, where: match) != nil else { return false }
            guard let index = events.indices.dropFirst(start).first(where: { match(events[$0]) }) else { return false }
            found += 1
            start = index + 1
        }
        return true
    }

    private func add(
        id: Int, from known: Int, match: @escaping @Sendable (ActualEvent) -> Bool, continuation: CheckedContinuation<ActualEvent?, Never>
    ) {
        if let seen = events.dropFirst(known).first(where: match) {
            continuation.resume(returning: seen)
            return
        }
        waiters.append((id, match, continuation))
    }

    private func expire(_ id: Int) {
        for waiter in waiters where waiter.id == id { waiter.continuation.resume(returning: nil) }
        waiters.removeAll { $0.id == id }
    }
}

/// A throwaway root with manifests, a supervisor over it, and its event log.
final class Fleet: Sendable {
    let root: String
    let supervisor: Supervisor
    let log: EventLog

    private let ownsRoot: Bool

    /// A new root, removed on deinit; or `root`, an existing one that the caller owns.
    init(
        root existing: String? = nil, stop: StopPolicy = StopPolicy(stdinGrace: .milliseconds(500), killAfter: .seconds(2)),
        maxMessageBytes: Int = 1 << 20, escapeCensusInterval: Duration? = .seconds(5), egress: (any EgressBroker)? = nil,
        isolation: IsolationSupport? = nil
    ) throws {
        root = existing ?? NSTemporaryDirectory() + "omni-actual-" + UUID().uuidString
        ownsRoot = existing == nil
        for directory in ["servers", "config", "var"] {
            try FileManager.default.createDirectory(atPath: root + "/" + directory, withIntermediateDirectories: true)
        }
        let environment = Environment(["PATH": Built.venvBin + ":/usr/bin:/bin", "HOME": root, "LANG": "C.UTF-8"])
        supervisor = Supervisor(
            options: SupervisorOptions(
                root: root, stateDirectory: root + "/var", helperDirectory: Built.debug, environment: environment, stop: stop,
                maxMessageBytes: maxMessageBytes, stderrLinesPerSecond: 50, stderrBurst: 20,
                escapeCensusInterval: escapeCensusInterval, egress: egress, isolation: isolation))
        log = EventLog(supervisor.events)
    }

    deinit { if ownsRoot { try? FileManager.default.removeItem(atPath: root) } }

    /// A resolved spec for a server named `name` running `command` (default: `mcp-demo` with
    /// `flags`), with fast health checks unless `health` says otherwise.
    func spec(
        _ name: String, command: [String] = ["mcp-demo"], flags: String = "", env: [String: String] = [:], cwd: String? = nil,
        transport: String = "stdio", url: String? = nil,
        health: String = "{ interval: 1s, timeout: 500ms, failure_threshold: 2, startup_timeout: 10s }", isolation: String? = nil
    ) throws -> ServerSpec {
        var environment = env
        if !flags.isEmpty { environment["MCP_DEMO_FLAGS"] = flags }
        let envLines = environment.sorted { $0.key < $1.key }.map { "  \($0.key): \"\($0.value)\"" }.joined(separator: "\n")
        let yaml = """
            name: \(name)
            description: test server
            transport: \(transport)
            \(url.map { "url: \($0)" } ?? "")
            command: [\(command.map { "\"\($0)\"" }.joined(separator: ", "))]
            \(environment.isEmpty ? "" : "env:\n" + envLines)
            \(cwd.map { "cwd: \"\($0)\"" } ?? "")
            health: \(health)
            \(isolation.map { "isolation: \($0)" } ?? "")
            """
        try Data(yaml.utf8).write(to: URL(fileURLWithPath: root + "/servers/\(name).yaml"))
        try Data("features: { \(name): { enabled: true } }\n".utf8).write(to: URL(fileURLWithPath: root + "/config/default.yaml"))
        let load = Workspace(root: root, envName: "").load(Environment([:]))
        guard let spec = load.state?.servers[name] else {
            throw SpecError(description: load.diagnostics.map(\.message).joined(separator: "; "))
        }
        return spec
    }

    struct SpecError: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts `spec` and waits for `ready` (or returns the event that came instead).
    func startReady(_ spec: ServerSpec) async -> (InstanceID, ActualEvent?) {
        let id = await supervisor.start(spec)
        let event = await log.first { event in
            switch event {
            case .ready(let ready, _, _, _), .startFailed(let ready, _), .spawnFailed(let ready, _): ready == id
            case .exited(let record): record.instance == id
            default: false
            }
        }
        return (id, event)
    }
}

/// Whether `condition` holds within `timeout`, checked every 20 ms: for state that has no event
/// (the probe tally is a counter read at scrape time).
func eventually(timeout: Duration = .seconds(20), _ condition: @Sendable () async -> Bool) async -> Bool {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return await condition()
}

/// Whether a process with this pid runs (exists and is not a zombie).
func isRunning(_ pid: Int32) -> Bool { ProcessStats.read(pid: pid).map { !$0.isZombie } ?? false }

/// The pid in the first `escapee pid N` stderr line of `id`, or nil within the log's timeout.
func escapeePid(of id: InstanceID, in log: EventLog) async -> Int32? {
    let line = await log.first { if case .stderr(id, let l) = $0 { l.contains("escapee pid") } else { false } }
    guard case .stderr(_, let text) = line else { return nil }
    return text.split(separator: " ").last.flatMap { Int32($0) }
}

/// Whether a process with this pid exists (zombies included).
func isAlive(_ pid: Int32) -> Bool { kill(pid, 0) == 0 }

/// The pids of this process's children, from /proc.
func childPids() -> [Int32] {
    let me = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 && Int32(fields[1]) == me
    }.sorted()
}

/// Waits for any process (not only a child) to exit, through a pidfd: no polling. False when it
/// is still alive after `timeout`.
func waitForExit(_ pid: Int32, timeout: Duration) -> Bool {
    let fd = omni_pidfd_open(pid)
    guard fd >= 0 else { return true }  // ESRCH: already gone
    defer { close(fd) }
    var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let ms = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
    return poll(&entry, 1, ms) == 1
}

/// A loopback TCP port that was free a moment ago.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether `pid` ignores SIGTERM (its `SigIgn` mask in /proc), checked every 10 ms for up to
/// 5 s: a process's signal disposition has no event to wait for.
func ignoresSIGTERM(_ pid: Int32) async -> Bool {
    for _ in 0..<500 {
        if let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("SigIgn:") }),
            let mask = UInt64(line.dropFirst(7).trimmingCharacters(in: .whitespaces), radix: 16),
            mask & (1 << (UInt64(SIGTERM) - 1)) != 0
        {
            return true
        }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}
