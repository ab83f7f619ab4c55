import Glibc

/// `--fork-grandchild`: a descendant that outlives its parent unless the whole process group
/// is killed, the way a server's helper process often does.
enum Grandchild {
    /// The hidden first argument that selects grandchild mode.
    static let modeFlag = "--grandchild"

    /// Spawns this executable again in grandchild mode. It stays in our process group (no
    /// `POSIX_SPAWN_SETPGROUP`), gets /dev/null on stdin, stdout and stderr (so it never holds
    /// the client's pipes open) and an empty environment. Returns its pid, or the errno text.
    static func spawn(argv0: String) -> Result<pid_t, SpawnFailure> {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // The parent may ignore SIGPIPE/SIGTERM; start from default dispositions and let the
        // grandchild set exactly what it wants.
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
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let arguments: [UnsafeMutablePointer<CChar>?] = [argv0, modeFlag].map { (text: String) in strdup(text) }
        defer { for argument in arguments { free(argument) } }
        var argv = arguments + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        // /proc/self/exe is this very binary even if argv[0] was relative or the file was replaced.
        let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &argv, &envp)
        guard status == 0 else { return .failure(SpawnFailure(errno: status)) }
        return .success(pid)
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

    struct SpawnFailure: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }
}
