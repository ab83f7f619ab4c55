import Glibc

/// Why a server's process could not be started. Per server, never fatal to the controller.
public struct LaunchError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Which step failed, in the order they run.
    public enum Step: String, Sendable, Hashable {
        /// Finding the executable (`PATH`, the controller's directory, or a path under the root).
        case resolve
        /// Creating the stdio pipes or the exec-status pipe.
        case pipe
        case fork
        /// In the child, before exec: process group, death signal, stdio wiring.
        case setup
        /// In the child: `chdir` to the manifest's `cwd`.
        case cwd
        /// In the child: `execve` itself (permissions, bad format).
        case exec
        /// `isolation: network`: the namespace, its loopback, the proxy listener (see
        /// `IsolationFailure`), or a host that permits no namespaces at all.
        case isolation
    }

    public var step: Step
    /// The errno, when a syscall failed.
    public var code: Int32
    public var message: String
    /// The start cannot succeed on this host until the spec changes (isolation not permitted):
    /// the restart gate holds the server instead of retrying it.
    public var permanent: Bool

    public init(_ step: Step, code: Int32 = 0, _ message: String, permanent: Bool = false) {
        self.step = step
        self.code = code
        self.message = message
        self.permanent = permanent
    }

    public var description: String { message }

    /// `strerror` text for an errno, for messages.
    static func text(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }
}
