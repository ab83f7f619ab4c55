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

/// An escapee a stop had to signal, with the last signal it needed.
struct EscapeeKill: Sendable, Hashable {
    var pid: Int32
    var signal: Int32
}

extension ChildProcess {
    /// What finds this server's escapees.
    var escapeeFinder: EscapeeFinder { EscapeeFinder(leader: pid, leaderStart: startTicks, pipeInodes: pipeInodes) }

    /// This server's escapees as of one `/proc` pass (the known ones included); remembered, so a
    /// later pass finds them after their parents are gone.
    @discardableResult
    func findEscapees(in given: ProcessTable? = nil, otherLeaders: Set<Int32>) -> [Int32: UInt64] {
        let known = knownEscapees.withLock { $0 }
        // Read before the pass: a leader reaped during it only makes this more careful.
        let held = groupExists
        let table = given ?? .scan()
        let found = escapeeFinder.find(in: table, known: known, otherLeaders: otherLeaders, leaderHeld: held)
        knownEscapees.withLock { $0 = found }
        return found
    }

    /// Stops the whole process group and this server's escapees; returns the leader's status, the
    /// step that ended the group, and the escapees that had to be signalled.
    ///
    /// Close stdin and wait `stdinGrace`; SIGTERM the group and the escapees; SIGKILL both at
    /// `killAfter`. The leader exiting is not the end: members left in the group (a grandchild
    /// that ignores SIGTERM) and escapees get the same escalation, and the pipes are closed only
    /// when all are gone. Escapees are looked for before stdin is closed, while the process tree
    /// still shows whose they are, and again at every step.
    func stop(_ policy: StopPolicy, clock: any MonotonicClock) async -> (ExitStatus, StopStep, [EscapeeKill]) {
        let start = clock.now
        var escapees = PidfdSet()
        refresh(&escapees)
        var step = StopStep.alreadyExited
        if exit.value == nil {
            step = .stdinClosed
            stdin.close()
            _ = await exit.wait(timeout: policy.stdinGrace, clock: clock)
        }
        refresh(&escapees)
        if exit.value == nil || groupExists || escapees.anyRunning {
            if exit.value == nil || groupExists { step = .sigterm }
            signalGroup(SIGTERM)
            escapees.signalAll(SIGTERM)
            let left = start + policy.killAfter - clock.now
            if exit.value == nil { _ = await exit.wait(timeout: max(left, .zero), clock: clock) }
            // The leader is gone; wait for the rest within the same deadline.
            await waitForGroup(until: start + policy.killAfter, escapees: &escapees, clock: clock)
        }
        if exit.value == nil || groupExists || escapees.anyRunning {
            if exit.value == nil || groupExists { step = .sigkill }
            signalGroup(SIGKILL)
            refresh(&escapees)
            escapees.signalAll(SIGKILL)
        }
        // SIGKILL cannot be ignored; the reaper collects the group within milliseconds.
        let status = await exit.wait() ?? ExitStatus()
        await waitForGroup(until: clock.now + .seconds(5), escapees: &escapees, clock: clock)
        closePipes()
        return (status, step, escapees.finish().map { EscapeeKill(pid: $0.pid, signal: $0.signal) })
    }

    /// After an unexpected exit of the leader: kill what is left of its group and its escapees,
    /// and close the pipes.
    func cleanUpAfterExit(clock: any MonotonicClock) async -> [EscapeeKill] {
        var escapees = PidfdSet()
        refresh(&escapees)
        if groupExists || escapees.anyRunning {
            signalGroup(SIGKILL)
            escapees.signalAll(SIGKILL)
            await waitForGroup(until: clock.now + .seconds(5), escapees: &escapees, clock: clock)
        }
        closePipes()
        return escapees.finish().map { EscapeeKill(pid: $0.pid, signal: $0.signal) }
    }

    private func refresh(_ escapees: inout PidfdSet) {
        escapees.adopt(findEscapees(otherLeaders: loop.watchedLeaders))
    }

    /// Waits (bounded) until the group is gone (its leader reaped) and no escapee runs. Members
    /// re-parented here are reaped by the I/O loop; the others end without a SIGCHLD here, so
    /// this polls: every 20 ms, only during a stop, and asks the reaper (and `/proc`) to look
    /// again every 200 ms.
    private func waitForGroup(until deadline: Duration, escapees: inout PidfdSet, clock: any MonotonicClock) async {
        var round = 0
        while groupExists || escapees.anyRunning {
            let left = deadline - clock.now
            guard left > .zero else { return }
            round += 1
            if round % 10 == 0 {
                pokeReaper()
                refresh(&escapees)
            }
            do {
                try await clock.sleep(for: min(left, .milliseconds(20)))
            } catch {
                return  // cancelled: never spin
            }
        }
    }
}
