import Glibc

/// Starts this executable again (`/proc/self/exe`: this very binary even if argv[0] was
/// relative or the file was replaced) with an empty environment, default SIGTERM and SIGPIPE
/// (the parent may ignore them; the child sets exactly what it wants) and an empty signal mask:
/// the one spawn behind `--fork-grandchild` and `--escape`.
enum SelfSpawn {
    /// `arguments` (argv[0] first); `flags`: extra `posix_spawn` flags (`POSIX_SPAWN_SETSID`,
    /// `POSIX_SPAWN_SETPGROUP` for a group of its own); `quiet`: /dev/null on stdin, stdout and
    /// stderr (so the child never holds the parent's pipes open), else they are inherited.
    static func spawn(_ arguments: [String], flags: Int32 = 0, quiet: Bool) -> Result<pid_t, Failure> {
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
        // Used only with POSIX_SPAWN_SETPGROUP: a group whose id is the child's pid.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(flags | Int32(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)))
        let owned: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        defer { for argument in owned { free(argument) } }
        var argv = owned + [nil]
        var envp: [UnsafeMutablePointer<CChar>?] = [nil]
        var pid: pid_t = 0
        let status = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &argv, &envp)
        guard status == 0 else { return .failure(Failure(errno: status)) }
        return .success(pid)
    }

    struct Failure: Error, CustomStringConvertible {
        var errno: Int32
        var description: String { String(cString: strerror(errno)) }
    }
}
