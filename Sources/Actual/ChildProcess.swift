import CSystem
import Glibc
import Synchronization

/// What to start: a resolved executable, its argv, its exact environment and working directory.
struct LaunchRequest: Sendable {
    var executable: String
    /// argv, including argv[0].
    var arguments: [String]
    var environment: [String: String]
    var cwd: String?
    /// Longest stdout line (one JSON-RPC message); longer ones are dropped and reported.
    var maxMessageBytes: Int = 16 << 20
    /// Longest stderr line; longer ones are dropped and reported by length.
    var maxLogLineBytes: Int = 8192
    /// How long the spawn thread waits for `execve` before it kills the child (a spawn error).
    var execTimeoutMilliseconds: Int32 = 10_000
    /// `isolation: network`: the child starts in a network namespace of its own; nil: the
    /// controller's.
    var isolation: NetworkIsolation?
}

/// A network namespace of the child's own, with only `lo` up (see `omni_spawn_isolated`).
struct NetworkIsolation: Sendable, Hashable {
    /// > 0: a TCP listener on 127.0.0.1:<port> inside the namespace comes back to the parent
    /// (`ChildProcess.namespaceListener`); 0: nothing listens inside, so nothing is reachable.
    var listenerPort: UInt16
    /// Tests: > 0, the child drops this capability first (CAP_SYS_ADMIN 21, CAP_NET_ADMIN 12),
    /// so that the user-namespace fallback is taken.
    var dropCapability: Int32 = 0
}

/// A running child: its own process group, pipes on the I/O loop, and its exit as a one-shot.
///
/// The process group is the unit of stopping: `signalGroup` reaches grandchildren
/// (`npx` → `node`) that never see the leader's signal otherwise.
final class ChildProcess: Sendable {
    /// The leader's pid, which is also its process group and session id (it calls setsid).
    let pid: pid_t
    let stdin: PipeWriter
    /// Set by the reaper when the leader exits (it stays unreaped until `gone`).
    let exit: OneShot<ExitStatus>
    /// Set when the leader is reaped: no live member is left in its group.
    let gone: OneShot<Void>
    /// The leader's start time (clock ticks after boot); 0 if it could not be read.
    let startTicks: UInt64
    /// The inodes of the leader's stdin, stdout and stderr pipes: a descendant that still holds
    /// one is this server's, wherever it was re-parented.
    let pipeInodes: Set<UInt64>
    /// Escapees found while the process tree still showed where they came from (pid → start
    /// ticks): the stop finds them again after their parents are gone.
    let knownEscapees = Mutex<[Int32: UInt64]>([:])
    /// An isolated child's in-namespace listener (non-blocking, close-on-exec), which the
    /// caller must hand on or close; nil when not isolated or no listener was asked for.
    let namespaceListener: Int32?
    /// How an isolated child was isolated; nil when it was not.
    let isolationMode: IsolationSupport.Mode?

    private let readers: [PipeReader]
    let loop: IOLoop

    private init(
        pid: pid_t, stdin: PipeWriter, readers: [PipeReader], exit: OneShot<ExitStatus>, gone: OneShot<Void>,
        pipeInodes: Set<UInt64>, loop: IOLoop, namespaceListener: Int32?, isolationMode: IsolationSupport.Mode?
    ) {
        self.namespaceListener = namespaceListener
        self.isolationMode = isolationMode
        self.pid = pid
        self.stdin = stdin
        self.readers = readers
        self.exit = exit
        self.gone = gone
        self.pipeInodes = pipeInodes
        self.loop = loop
        startTicks = ProcessStats.read(pid: pid)?.startTicks ?? 0
    }

    /// Forks and execs `request` on the spawn thread. `stdoutSink` is given the child's stdin
    /// before any output is read and returns where stdout lines go; lines (stdout and `onStderr`)
    /// arrive on the I/O loop thread. `exit` is set when the reaper collects the leader.
    static func launch(
        _ request: LaunchRequest, loop: IOLoop = .shared,
        stdoutSink: @escaping @Sendable (PipeWriter) -> @Sendable (LineEvent) -> Void,
        onStderr: @escaping @Sendable (LineEvent) -> Void
    ) async throws(LaunchError) -> ChildProcess {
        let result: Result<ChildProcess, LaunchError> = await SpawnThread.shared.run {
            spawn(request, loop: loop, stdoutSink: stdoutSink, onStderr: onStderr)
        }
        return try result.get()
    }

    /// Sends `signal` to the whole process group and its leader. `false` once the group is gone
    /// (its id is then never signalled again: it may be a stranger's).
    @discardableResult
    func signalGroup(_ signal: Int32) -> Bool {
        loop.signalGroup(pid, signal)
    }

    /// Whether the leader is unreaped: it or other members of its group are still there.
    var groupExists: Bool { gone.value == nil }

    /// Asks the reaper to look again (members that were not our children end without SIGCHLD).
    func pokeReaper() { loop.poke() }

    /// Stops reading the pipes (used after the process group is gone).
    func closePipes() {
        stdin.close()
        for reader in readers { reader.finish() }
    }

    private static func spawn(
        _ request: LaunchRequest, loop: IOLoop, stdoutSink: @escaping @Sendable (PipeWriter) -> @Sendable (LineEvent) -> Void,
        onStderr: @escaping @Sendable (LineEvent) -> Void
    ) -> Result<ChildProcess, LaunchError> {
        var pipes: [[Int32]] = []
        for _ in 0..<3 {
            var fds: [Int32] = [-1, -1]
            guard omni_pipe_cloexec(&fds) == 0 else {
                let code = errno
                for fd in pipes.joined() { close(fd) }
                return .failure(LaunchError(.pipe, code: code, "cannot create pipes: \(LaunchError.text(code))"))
            }
            pipes.append(fds)
        }
        // Child ends: stdin's read end, stdout's and stderr's write ends.
        let childEnds = [pipes[0][0], pipes[1][1], pipes[2][1]]
        let parentEnds = [pipes[0][1], pipes[1][0], pipes[2][0]]
        let exitStatus = OneShot<ExitStatus>()
        let gone = OneShot<Void>()
        var step: Int32 = 0
        var code: Int32 = 0
        var isolation = omni_isolation(
            listener_port: request.isolation?.listenerPort ?? 0, probe_only: 0,
            drop_capability: request.isolation?.dropCapability ?? 0, listener_fd: -1, mode: 0, detail: 0)
        let pid = withCStrings(request.arguments) { argv in
            withCStrings(ChildEnvironment.entries(request.environment)) { envp in
                request.executable.withCString { path in
                    withOptionalCString(request.cwd) { cwd in
                        var spawnRequest = omni_spawn_request(
                            path: path, argv: argv, envp: envp, cwd: cwd, stdin_fd: childEnds[0], stdout_fd: childEnds[1],
                            stderr_fd: childEnds[2], exec_timeout_ms: request.execTimeoutMilliseconds, new_session: 1)
                        // A child that failed before exec is reaped through the same watcher; its
                        // status is then simply never read.
                        let isolated = request.isolation != nil
                        return loop.spawnWatched(
                            {
                                isolated
                                    ? omni_spawn_isolated(&spawnRequest, &isolation, &step, &code)
                                    : omni_spawn(&spawnRequest, &step, &code)
                            }, onExit: { exitStatus.fulfil($0) }, onGone: { gone.fulfil(()) })
                    }
                }
            }
        }
        for fd in childEnds { close(fd) }
        guard pid > 0 else {
            for fd in parentEnds { close(fd) }
            return .failure(
                IsolationFailure.error(step: step, code: code, detail: isolation.detail, port: isolation.listener_port)
                    ?? failure(step: step, code: code, request: request))
        }
        let inodes = Set(
            parentEnds.map { fd in
                var info = stat()
                return fstat(fd, &info) == 0 ? UInt64(info.st_ino) : 0
            }.filter { $0 != 0 })
        let stdin = PipeWriter(fd: parentEnds[0], loop: loop)
        let onStdout = stdoutSink(stdin)
        let stdout = PipeReader(fd: parentEnds[1], loop: loop, maxLineLength: request.maxMessageBytes, onLine: onStdout)
        let stderr = PipeReader(fd: parentEnds[2], loop: loop, maxLineLength: request.maxLogLineBytes, onLine: onStderr)
        let child = ChildProcess(
            pid: pid, stdin: stdin, readers: [stdout, stderr], exit: exitStatus, gone: gone, pipeInodes: inodes, loop: loop,
            namespaceListener: isolation.listener_fd >= 0 ? isolation.listener_fd : nil,
            isolationMode: request.isolation == nil ? nil : isolation.mode == 2 ? .userNamespace : .networkNamespace)
        stdout.start()
        stderr.start()
        return .success(child)
    }

    private static func failure(step: Int32, code: Int32, request: LaunchRequest) -> LaunchError {
        let reason = LaunchError.text(code)
        switch omni_spawn_step(UInt32(step)) {
        case OMNI_SPAWN_PIPE: return LaunchError(.pipe, code: code, "cannot create the exec-status pipe: \(reason)")
        case OMNI_SPAWN_FORK: return LaunchError(.fork, code: code, "fork failed: \(reason)")
        case OMNI_SPAWN_CHDIR: return LaunchError(.cwd, code: code, "cwd \(request.cwd ?? "."): \(reason)")
        case OMNI_SPAWN_EXEC: return LaunchError(.exec, code: code, "cannot execute \(request.executable): \(reason)")
        default: return LaunchError(.setup, code: code, "child setup failed (step \(step)): \(reason)")
        }
    }
}

/// Calls `body` with a NULL-terminated `char *[]` of copies of `strings`, freed afterwards.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>?) -> T) -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

private func withOptionalCString<T>(_ string: String?, _ body: (UnsafePointer<CChar>?) -> T) -> T {
    guard let string else { return body(nil) }
    return string.withCString { body($0) }
}
