import Glibc

/// `--escape MODE`: a descendant that leaves the server's process group, ignores SIGTERM and
/// sleeps forever, the way a daemonising helper does. Its pid goes to stderr as `escapee pid N`.
enum Escapee {
    /// How it leaves.
    enum Mode: String, CaseIterable, Sendable {
        /// A child in a session of its own (setsid), stdio on /dev/null; its parent stays.
        case setsid
        /// A child that starts a grandchild in a session of its own and exits at once; the
        /// grandchild keeps the server's stdio (a shell's `(setsid cmd &)`).
        case doubleFork = "double-fork"
        /// A child in a process group of its own within the server's session (setpgid).
        case setpgid
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26+), which Swift's Glibc module does not export.
    private static let spawnSetsid: Int32 = 0x80

    /// The hidden first argument of the helper processes: `--escapee final|intermediate`.
    static let modeFlag = "--escapee"

    /// Starts the escapee for `mode` and logs its pid (for `doubleFork`, the intermediate does).
    static func start(_ mode: Mode, argv0: String) {
        switch mode {
        case .setsid, .setpgid:
            let flags = mode == .setsid ? spawnSetsid : Int32(POSIX_SPAWN_SETPGROUP)
            switch spawn(role: "final", flags: flags, quiet: true) {
            case .success(let pid): StandardError.log("escapee pid \(pid)")
            case .failure(let failure): StandardError.log("could not spawn the escapee: \(failure)")
            }
        case .doubleFork:
            switch spawn(role: "intermediate", flags: 0, quiet: false) {
            case .success(let pid):
                var status: Int32 = 0
                _ = waitpid(pid, &status, 0)
            case .failure(let failure): StandardError.log("could not spawn the escapee: \(failure)")
            }
        }
    }

    /// The helper processes' main: `final` sleeps ignoring SIGTERM, `intermediate` starts a
    /// `final` in a new session, logs its pid and exits.
    static func run(role: String) -> Never {
        if role == "intermediate" {
            switch spawn(role: "final", flags: spawnSetsid, quiet: false) {
            case .success(let pid): StandardError.log("escapee pid \(pid)")
            case .failure(let failure): StandardError.log("could not spawn the escapee: \(failure)")
            }
            exit(0)
        }
        // Descriptors the server inherited without O_CLOEXEC are not the escapee's to hold.
        closefrom(3)
        signal(SIGTERM, SIG_IGN)
        while true { pause() }
    }

    /// posix_spawn of this executable as `--escapee role`, with `flags` (SETSID or SETPGROUP),
    /// default SIGTERM and an empty mask; `quiet`: stdio on /dev/null, else inherited.
    private static func spawn(role: String, flags: Int32, quiet: Bool) -> Result<pid_t, Grandchild.SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if quiet {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(flags | Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)))
        let arguments: [UnsafeMutablePointer<CChar>?] = ["mcp-demo-escapee", modeFlag, role].map { (text: String) in
            strdup(text)
        }
        defer { for argument in arguments { free(argument) } }
        var argv = arguments + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &argv, &envp)
        guard status == 0 else { return .failure(Grandchild.SpawnFailure(errno: status)) }
        return .success(pid)
    }
}
