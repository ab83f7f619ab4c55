import Glibc

/// `--fork-grandchild`: a descendant that outlives its parent unless the whole process group
/// is killed, the way a server's helper process often does.
enum Grandchild {
    /// The hidden first argument that selects grandchild mode.
    static let modeFlag = "--grandchild"

    /// Spawns this executable again in grandchild mode. It stays in our process group (no
    /// `POSIX_SPAWN_SETPGROUP`), gets /dev/null on stdin, stdout and stderr (so it never holds
    /// the client's pipes open) and an empty environment. Returns its pid, or the errno text.
    static func spawn(argv0: String) -> Result<pid_t, SelfSpawn.Failure> {
        SelfSpawn.spawn([argv0, modeFlag], quiet: true)
    }

    /// Grandchild mode: drop every inherited descriptor above stderr, ignore SIGTERM, and
    /// sleep until killed (SIGKILL, or another signal).
    static func runForever() -> Never {
        // posix_spawn keeps descriptors the parent inherited without O_CLOEXEC (a client's
        // pipes, say); holding them would keep those pipes open after the parent dies.
        closefrom(3)
        signal(SIGTERM, SIG_IGN)
        while true { pause() }
    }
}
