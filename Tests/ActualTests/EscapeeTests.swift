import CSystem
import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import Actual

/// Descendants that leave their server's process group ("escapees") are stopped with it: the
/// issue's "nothing escapes". Each escapee here ignores SIGTERM, so only the stop's SIGKILL
/// ends it (where one does not, it does not matter), and each test shows it outlives its
/// parent's group until then.
@Suite(.timeLimit(.minutes(2))) struct EscapeeTests {
    private static let policy = StopPolicy(stdinGrace: .milliseconds(300), killAfter: .seconds(1))

    /// A child in a new session (`setsid`), a grandchild in a new session whose parent exited at
    /// once (a double fork, re-parented to the controller), and a child in a new group of the
    /// server's session (`setpgid`): each is gone when `stop` returns, and reported.
    @Test(arguments: ["setsid", "double-fork", "setpgid"])
    func anEscapeeIgnoringSIGTERMIsGoneWhenItsServerStops(mode: String) async throws {
        let fleet = try Fleet(stop: Self.policy)
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: "--escape \(mode)"))
        guard case .ready = ready else { throw Fleet.SpecError(description: "not ready: \(String(describing: ready))") }
        let leader = try #require(await fleet.supervisor.snapshot().servers["demo"]?.instances.first?.pid)
        let pid = try #require(await escapeePid(of: id, in: fleet.log))
        #expect(await ignoresSIGTERM(pid))
        // The premise: it really left the server's process group.
        let stats = try #require(ProcessStats.read(pid: pid))
        #expect(stats.processGroup != leader)
        #expect((stats.session == leader) == (mode == "setpgid"))

        let record = try #require(await fleet.supervisor.stop(id, reason: "test"))
        #expect(record.requested)
        #expect(!isRunning(pid), "the escapee outlived the stop")
        let killed = await fleet.log.first { if case .escapeeKilled(id, pid, _) = $0 { true } else { false } }
        #expect(killed == .escapeeKilled(id, pid: pid, signal: SIGKILL))
        // Killed, then reaped (re-parented here when its parent died), never left a zombie.
        #expect(await eventually(timeout: .seconds(10)) { ProcessStats.read(pid: pid) == nil })
    }

    /// The leader ends without being asked (killed from outside); its escapee, recorded by a
    /// census while the leader lived, is stopped by the clean-up after the exit.
    @Test func anEscapeeOfAServerThatExitedIsStopped() async throws {
        let fleet = try Fleet(stop: Self.policy)
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: "--escape setsid"))
        guard case .ready = ready else { throw Fleet.SpecError(description: "not ready: \(String(describing: ready))") }
        let leader = try #require(await fleet.supervisor.snapshot().servers["demo"]?.instances.first?.pid)
        let pid = try #require(await escapeePid(of: id, in: fleet.log))
        #expect(await ignoresSIGTERM(pid))
        await fleet.supervisor.takeEscapeeCensus()
        let ledger = try String(contentsOfFile: fleet.root + "/var/processes.json", encoding: .utf8)
        #expect(ledger.contains("\"pid\": \(pid),"), "the census did not record the escapee")
        kill(leader, SIGKILL)
        let exited = await fleet.log.first { if case .exited(let r) = $0 { r.instance == id } else { false } }
        #expect(exited != nil)
        let killed = await fleet.log.first { if case .escapeeKilled(id, pid, _) = $0 { true } else { false } }
        #expect(killed != nil)
        #expect(!isRunning(pid))
    }

    /// The reaper's sweep skips a zombie that is not its to take (another component's child,
    /// in the controller's session) and still reaps an escapee's zombie behind it, and the
    /// other component can still wait for its child. The stranger is the child of a thread
    /// started after the I/O thread, which a wait from the I/O thread visits before the main
    /// thread, where orphans go: a sweep that stopped at the first zombie it saw would never
    /// reach the escapee.
    @Test func aZombieThatIsNotOursDoesNotStopTheSweep() async throws {
        let fleet = try Fleet()  // the I/O loop's thread exists from here on
        let started = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        let stranger = Mutex<pid_t>(-1)
        // The thread stays until the end: a thread's children outlive it as another thread's.
        Thread.detachNewThread {
            var pid: pid_t = 0
            let argv: [UnsafeMutablePointer<CChar>?] = [strdup("true"), nil]
            if posix_spawn(&pid, "/bin/true", nil, nil, argv, nil) == 0 { stranger.withLock { $0 = pid } }
            for pointer in argv { free(pointer) }
            started.signal()
            _ = done.wait(timeout: .now() + 60)
        }
        defer { done.signal() }
        _ = started.wait(timeout: .now() + 10)
        let strangerPid = stranger.withLock { $0 }
        try #require(strangerPid > 0)
        defer { waitpid(strangerPid, nil, 0) }
        #expect(await eventually { ProcessStats.read(pid: strangerPid)?.isZombie == true })
        // `$$$$`: the manifest's own escape for `$$`, the shell's pid.
        let script = "(setsid sh -c 'echo escapee pid $$$$ >&2; exec sleep 0.3' &) ; exec \(Built.debug)/mcp-demo"
        let (id, _) = await fleet.startReady(try fleet.spec("demo", command: ["/bin/sh", "-c", script]))
        let pid = try #require(await escapeePid(of: id, in: fleet.log))
        let reaped = await fleet.log.first { if case .orphanReaped(pid, _) = $0 { true } else { false } }
        #expect(reaped != nil)
        #expect(ProcessStats.read(pid: strangerPid)?.isZombie == true, "the stranger's zombie was taken")
        await fleet.supervisor.stop(id, reason: "test")
    }

    /// A leader that tries to move into another process group (its parent's) is still seen to
    /// exit and reaped, and stopping everything completes. It starts in a session of its own,
    /// so the move itself fails; the reaper also watches the leader by pid, not by group.
    @Test func aLeaderThatLeavesItsGroupIsReapedAndShutdownCompletes() async throws {
        let fleet = try Fleet(stop: Self.policy)
        let (id, ready) = await fleet.startReady(try fleet.spec("demo", flags: "--leave-group"))
        guard case .ready = ready else { throw Fleet.SpecError(description: "not ready: \(String(describing: ready))") }
        let pid = try #require(await fleet.supervisor.snapshot().servers["demo"]?.instances.first?.pid)
        _ = await fleet.log.first { if case .stderr(id, let l) = $0 { l.contains("leave-group") } else { false } }
        // Unstructured, so a stop that never ends fails this test instead of hanging it.
        let finished = Mutex(false)
        Task {
            await fleet.supervisor.stopAll(reason: "test")
            finished.withLock { $0 = true }
        }
        let stopped = await eventually(timeout: .seconds(30)) { finished.withLock { $0 } }
        #expect(stopped, "stopAll did not complete")
        #expect(!isAlive(pid), "the leader was not reaped")
        #expect(!childPids().contains(pid))
    }
}
