/// How a process ended: an exit code or a terminating signal.
public struct ExitStatus: Sendable, Hashable, CustomStringConvertible {
    public var code: Int32?
    public var signal: Int32?

    public init(code: Int32? = nil, signal: Int32? = nil) {
        self.code = code
        self.signal = signal
    }

    /// Exit 0 is the only clean end.
    public var isSuccess: Bool { code == 0 }

    public var description: String {
        if let code { return "exit \(code)" }
        if let signal { return "killed by \(ExitStatus.signalName(signal))" }
        return "ended"
    }

    static func signalName(_ number: Int32) -> String {
        let names: [Int32: String] = [
            1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
            10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM",
        ]
        return names[number] ?? "signal \(number)"
    }
}
