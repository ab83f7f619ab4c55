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

    /// This executable as `--escapee role` (see `SelfSpawn`).
    private static func spawn(role: String, flags: Int32, quiet: Bool) -> Result<pid_t, SelfSpawn.Failure> {
        SelfSpawn.spawn(["mcp-demo-escapee", modeFlag, role], flags: flags, quiet: quiet)
    }
}
