import CSystem
import Foundation
import Testing

/// The fork/exec shim against the real kernel: what the child gets, and how failures come back.
@Suite struct SpawnShimTests {
    struct Spawned {
        var pid: pid_t
        var step: Int32
        var error: Int32
        var stdout: String
        var status: Int32
    }

    /// Starts `argv` with exactly `env`; returns the shim's result without waiting.
    func start(
        _ path: String, _ argv: [String], env: [String], cwd: String?, stdin: Int32, stdout: Int32, newSession: Bool = false
    ) -> (pid: pid_t, step: Int32, error: Int32) {
        let cArgv = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup($0) } + [nil]
        defer { for pointer in cArgv + cEnv { free(pointer) } }
        var step: Int32 = 0
        var error: Int32 = 0
        let pid = path.withCString { cPath in
            cArgv.withUnsafeBufferPointer { argvBuffer in
                cEnv.withUnsafeBufferPointer { envBuffer in
                    withOptionalCString(cwd) { cCwd in
                        var request = omni_spawn_request(
                            path: cPath, argv: argvBuffer.baseAddress, envp: envBuffer.baseAddress, cwd: cCwd,
                            stdin_fd: stdin, stdout_fd: stdout, stderr_fd: stdout, exec_timeout_ms: 10_000,
                            new_session: newSession ? 1 : 0)
                        return omni_spawn(&request, &step, &error)
                    }
                }
            }
        }
        return (pid, step, error)
    }

    /// Spawns `argv` with exactly `env`, collects stdout, and reaps the child.
    func spawn(_ path: String, _ argv: [String], env: [String] = [], cwd: String? = nil, newSession: Bool = false) throws -> Spawned {
        let input = Pipe()
        let output = Pipe()
        let started = start(
            path, argv, env: env, cwd: cwd, stdin: input.fileHandleForReading.fileDescriptor,
            stdout: output.fileHandleForWriting.fileDescriptor, newSession: newSession)
        try input.fileHandleForReading.close()
        try output.fileHandleForWriting.close()
        try input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        var status: Int32 = 0
        waitpid(abs(started.pid), &status, 0)
        return Spawned(
            pid: started.pid, step: started.step, error: started.error, stdout: String(decoding: data, as: UTF8.self), status: status)
    }

    /// The controller raises its descriptor limit for thousands of clients; a child gets the
    /// limit the controller started with (code built on select(2) breaks past 1,024).
    @Test func aChildGetsTheDescriptorLimitTheProcessStartedWith() throws {
        // Start low, as a controller under a default 1,024 would (unless something in this test
        // process raised the limit already: then the first raise's original stands).
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        if omni_original_nofile_limit() < 0, limit.rlim_max > 1024 {
            limit.rlim_cur = 1024
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let raised = omni_raise_nofile_limit()
        let original = omni_original_nofile_limit()
        #expect(raised == Int64(limit.rlim_max))
        let child = try spawn("/bin/sh", ["sh", "-c", "ulimit -n"], env: ["PATH=/usr/bin:/bin"])
        #expect(child.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == String(original))
        #expect(original < raised || limit.rlim_max <= 1024)
    }

    private func withOptionalCString<R>(_ text: String?, _ body: (UnsafePointer<CChar>?) -> R) -> R {
        guard let text else { return body(nil) }
        return text.withCString { body($0) }
    }

    @Test func childSeesExactlyItsEnvironmentAndOwnProcessGroup() throws {
        let result = try spawn(
            "/bin/sh", ["sh", "-c", "echo \"$FOO|$HOME\"; ps -o pgid= -p $$ | tr -d ' '; echo $$"], env: ["FOO=bar", "PATH=/usr/bin:/bin"])
        #expect(result.step == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "bar|")
        #expect(lines.count == 3 && lines[1] == lines[2], "the child leads its own process group")
    }

    /// A server leads a session of its own: a descendant that leaves the group keeps it, and the
    /// leader itself can never change its group. (The exit status is not checked: in this test
    /// process the supervisor's reaper takes children in other sessions.)
    @Test func aNewSessionChildLeadsItsSessionAndGroup() throws {
        let result = try spawn(
            "/bin/sh", ["sh", "-c", "ps -o sid= -p $$ | tr -d ' '; ps -o pgid= -p $$ | tr -d ' '; echo $$"],
            env: ["PATH=/usr/bin:/bin"], newSession: true)
        #expect(result.step == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0] == lines[2] && lines[1] == lines[2], "sid, pgid, pid: \(lines)")
    }

    @Test func onlyStandardDescriptorsAreInherited() throws {
        let spare = open("/dev/null", O_RDONLY)  // deliberately not close-on-exec
        defer { close(spare) }
        let result = try spawn("/bin/sh", ["sh", "-c", "ls /proc/$$/fd"], env: ["PATH=/usr/bin:/bin"])
        let fds = result.stdout.split(separator: "\n").compactMap { Int($0) }.sorted()
        // 0-2, plus the one ls's shell opens to list the directory.
        #expect(fds.filter { $0 > 2 }.count <= 1, "inherited: \(fds)")
    }

    @Test func signalsAreResetInTheChild() throws {
        signal(SIGPIPE, SIG_IGN)
        // grep is exec'd directly, so it reads its own inherited mask and dispositions.
        let result = try spawn("/bin/grep", ["grep", "-E", "^(SigIgn|SigBlk)", "/proc/self/status"])
        #expect(result.stdout.contains("SigBlk:\t0000000000000000"))
        #expect(result.stdout.contains("SigIgn:\t0000000000000000"))
    }

    @Test func aMissingExecutableIsReportedAsAnExecError() throws {
        let result = try spawn("/nonexistent/server", ["server"])
        #expect(result.pid < 0)
        #expect(result.step == Int32(OMNI_SPAWN_EXEC.rawValue))
        #expect(result.error == ENOENT)
        #expect((result.status >> 8) & 0xff == 127)
    }

    @Test func aBadWorkingDirectoryIsReportedAsAChdirError() throws {
        let result = try spawn("/bin/true", ["true"], cwd: "/nonexistent/dir")
        #expect(result.step == Int32(OMNI_SPAWN_CHDIR.rawValue))
        #expect(result.error == ENOENT)
    }

    @Test func pidfdBecomesReadableWhenTheChildExits() throws {
        let devnull = open("/dev/null", O_RDWR)
        defer { close(devnull) }
        let started = start("/bin/true", ["true"], env: [], cwd: nil, stdin: devnull, stdout: devnull)
        #expect(started.pid > 0)
        let pidfd = omni_pidfd_open(started.pid)
        #expect(pidfd >= 0)
        var poller = pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&poller, 1, 10_000) == 1)
        var status: Int32 = 0
        #expect(waitpid(started.pid, &status, 0) == started.pid)
        close(pidfd)
    }
}
