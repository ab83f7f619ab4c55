import Glibc

/// How long each step of stopping a server may take (DESIGN.md: close stdin, 2 s; SIGTERM to the
/// process group; SIGKILL to the group at 10 s).
public struct StopPolicy: Sendable, Hashable {
    /// After closing stdin, how long to wait before SIGTERM.
    public var stdinGrace: Duration
    /// From the start of the stop, when SIGKILL goes to the group.
    public var killAfter: Duration

    public init(stdinGrace: Duration = .seconds(2), killAfter: Duration = .seconds(10)) {
        self.stdinGrace = stdinGrace
        self.killAfter = killAfter
    }
}

/// Which step of the escalation ended the process group.
public enum StopStep: String, Sendable, Hashable {
    /// It had already exited when the stop began.
    case alreadyExited = "already exited"
    /// It exited after its stdin was closed: the MCP stdio way.
    case stdinClosed = "stdin closed"
    case sigterm = "SIGTERM"
    case sigkill = "SIGKILL"
}

extension ChildProcess {
    /// Stops the whole process group and returns the leader's status and the step that did it.
    ///
    /// Close stdin and wait `stdinGrace`; SIGTERM the group; SIGKILL the group at `killAfter`.
    /// The leader exiting is not the end: members left in the group (a grandchild that ignores
    /// SIGTERM) get the same escalation, and the pipes are closed only when the group is gone.
    func stop(_ policy: StopPolicy, clock: any MonotonicClock) async -> (ExitStatus, StopStep) {
        let start = clock.now
        var step = StopStep.alreadyExited
        if exit.value == nil {
            step = .stdinClosed
            stdin.close()
            _ = await exit.wait(timeout: policy.stdinGrace, clock: clock)
        }
        if exit.value == nil || groupExists {
            step = .sigterm
            signalGroup(SIGTERM)
            let left = start + policy.killAfter - clock.now
            if exit.value == nil { _ = await exit.wait(timeout: max(left, .zero), clock: clock) }
            // The leader is gone; wait for the rest of the group within the same deadline.
            await waitForGroup(until: start + policy.killAfter, clock: clock)
        }
        if exit.value == nil || groupExists {
            step = .sigkill
            signalGroup(SIGKILL)
        }
        // SIGKILL cannot be ignored; the reaper collects the group within milliseconds.
        let status = await exit.wait() ?? ExitStatus()
        await waitForGroup(until: clock.now + .seconds(5), clock: clock)
        closePipes()
        return (status, step)
    }

    /// After an unexpected exit of the leader: kill what is left of its group and close the pipes.
    func cleanUpAfterExit(clock: any MonotonicClock) async {
        if groupExists {
            signalGroup(SIGKILL)
            await waitForGroup(until: clock.now + .seconds(5), clock: clock)
        }
        closePipes()
    }

    /// Waits (bounded) until no member of the group is left. Orphaned members are reaped by the
    /// I/O loop as this process's re-parented children, so they leave the group on their own.
    /// The one poll in `Actual`: a group's emptiness has no event, so this checks every 20 ms,
    /// and only during a stop.
    private func waitForGroup(until deadline: Duration, clock: any MonotonicClock) async {
        while groupExists {
            let left = deadline - clock.now
            guard left > .zero else { return }
            do {
                try await clock.sleep(for: min(left, .milliseconds(20)))
            } catch {
                return  // cancelled: never spin
            }
        }
    }
}
