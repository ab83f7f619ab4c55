import CSystem
import Glibc
import Synchronization

/// Whether this host lets the controller start a server in a network namespace of its own
/// (`isolation: network`), and how.
public enum IsolationSupport: Sendable, Hashable, CustomStringConvertible {
    /// Isolated children are possible.
    case supported(Mode)
    /// They are not; the reason is the probe's failure, as a launch would have reported it.
    case unsupported(reason: String)

    public enum Mode: String, Sendable, Hashable {
        /// `unshare(CLONE_NEWNET)`: the controller has CAP_SYS_ADMIN.
        case networkNamespace = "network namespace"
        /// `unshare(CLONE_NEWUSER | CLONE_NEWNET)`: an unprivileged controller on a host that
        /// allows user namespaces.
        case userNamespace = "user and network namespaces"
    }

    public var description: String {
        switch self {
        case .supported(let mode): "supported (\(mode.rawValue))"
        case .unsupported(let reason): "not supported: \(reason)"
        }
    }
}

/// Finds out once per process whether isolated children are possible: a short-lived child goes
/// through the spawn shim's own isolation steps (`probe_only`) and exits before exec, so the
/// answer is the one a real start would get.
public enum IsolationProbe {
    private static let cached = Mutex<Task<IsolationSupport, Never>?>(nil)

    /// The cached answer; the first call runs the probe (the controller calls it at start).
    public static func support() async -> IsolationSupport {
        let task = cached.withLock { task in
            if let task { return task }
            let probe = Task { await SpawnThread.shared.run { run() } }
            task = probe
            return probe
        }
        return await task.value
    }

    /// Runs the probe now, on the calling thread (the spawn thread: see `SpawnThread`).
    /// `dropCapability` (tests, > 0): the probe child first drops this capability, as on a host
    /// that grants it not, so that the user-namespace fallback is what answers.
    static func run(dropCapability: Int32 = 0) -> IsolationSupport {
        var isolation = omni_isolation(
            listener_port: 0, probe_only: 1, drop_capability: dropCapability, listener_fd: -1, mode: 0, detail: 0)
        var step: Int32 = 0
        var code: Int32 = 0
        // The probe exits before exec and before its stdio is wired: no path, argv or pipes.
        var empty: [UnsafeMutablePointer<CChar>?] = [nil]
        let pid = empty.withUnsafeMutableBufferPointer { list in
            "/".withCString { path in
                var request = omni_spawn_request(
                    path: path, argv: list.baseAddress, envp: list.baseAddress, cwd: nil, stdin_fd: -1, stdout_fd: -1,
                    stderr_fd: -1, exec_timeout_ms: 10_000, new_session: 1)
                // Watched like any child, so the reaper collects it (and nobody else does).
                return IOLoop.shared.spawnWatched({ omni_spawn_isolated(&request, &isolation, &step, &code) }, onExit: { _ in })
            }
        }
        guard pid > 0 else {
            let reason =
                IsolationFailure.message(step: step, code: code, detail: isolation.detail, port: 0)
                ?? "the probe could not start (step \(step)): \(LaunchError.text(code))"
            return .unsupported(reason: reason)
        }
        return .supported(isolation.mode == 2 ? .userNamespace : .networkNamespace)
    }
}
