import CSystem
import Foundation
import Glibc
import Synchronization

/// Something the loop thread calls when its descriptor is ready. Called only on the loop thread,
/// one event at a time, so a handler's own state needs no lock against other handlers.
protocol IOHandler: AnyObject, Sendable {
    func handle(events: UInt32)
}

/// The process's one I/O thread: an epoll loop over every child pipe, plus the reaper.
///
/// One thread serves every server's stdout, stderr and stdin (a thread per pipe would cost two
/// stacks per server). Child exits arrive as SIGCHLD, which a C handler turns into a write to an
/// eventfd in the same epoll set; the loop then looks at each leader it started by pid
/// (`WNOWAIT`: seen, not reaped) and reaps, by pid, every zombie child that is a member or an
/// escapee of a server, so orphaned grandchildren re-parented to this subreaper are reaped too.
/// A leader stays a zombie until no live member is left in its group: while it is unreaped its
/// pid, which is the group id, cannot be reused, so signalling the group can never reach a
/// stranger. Never `waitpid(-1)`: that would steal the exit of a child some other code in the
/// process started and waits for (Foundation's `Process`, in the tests). No timers, no polling:
/// the thread sleeps in `epoll_wait` until something happens (or `poke` asks for a pass).
final class IOLoop: Sendable {
    /// There is one SIGCHLD disposition per process, so there is one loop.
    static let shared = IOLoop()

    private struct State {
        var handlers: [UInt64: any IOHandler] = [:]
        var nextToken: UInt64 = 1
        /// Process groups started here, keyed by the leader's pid (= the group id), until the
        /// leader is reaped.
        var groups: [pid_t: Group] = [:]
        var orphansReaped = 0
        /// A fork whose group is not registered yet: its child must not pass for an escapee.
        var spawning = 0
        /// Told about every reaped process that was not a leader (an orphan cannot always be
        /// attributed to one supervisor, e.g. after setsid, so every listener hears of it).
        var orphanListeners: [@Sendable (pid_t, ExitStatus) -> Void] = []
    }

    /// One server's process group as the reaper sees it.
    private struct Group {
        /// Told the leader's status when it exits (the leader stays a zombie for now).
        var onExit: @Sendable (ExitStatus) -> Void
        /// Told when the leader is reaped: no live member is left in the group.
        var onGone: @Sendable () -> Void
        var leaderExited = false
    }

    private static let reaperToken: UInt64 = 0
    private let epoll: Int32
    private let childSignal: Int32
    private let state = Mutex(State())

    private init() {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        childSignal = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        // Without these the loop cannot work at all; better to stop here than to never reap.
        precondition(epoll >= 0 && childSignal >= 0, "epoll/eventfd unavailable: \(LaunchError.text(errno))")
        // Grandchildren (npx → node) are re-parented to us and reaped here, not to init.
        _ = omni_set_child_subreaper()
        // A child that closes its stdin must give us EPIPE on write, not kill the controller.
        omni_ignore_sigpipe()
        _ = omni_epoll_set(epoll, childSignal, UInt32(EPOLLIN.rawValue), IOLoop.reaperToken, 0)
        _ = omni_install_sigchld_notifier(childSignal)
        // The name is set from inside: Foundation's `Thread.name` does not reach the kernel on
        // Linux, and `top -H` should show what each thread is.
        let thread = Thread { [self] in
            omni_name_thread("omni-io")
            run()
        }
        thread.start()
    }

    /// Watches `fd` for `events` (EPOLLIN, EPOLLOUT, …); returns the token that names it.
    func register(fd: Int32, events: UInt32, handler: any IOHandler) -> UInt64 {
        let token = state.withLock { state in
            let token = state.nextToken
            state.nextToken += 1
            state.handlers[token] = handler
            return token
        }
        _ = omni_epoll_set(epoll, fd, events, token, 0)
        return token
    }

    func modify(fd: Int32, events: UInt32, token: UInt64) {
        _ = omni_epoll_set(epoll, fd, events, token, 1)
    }

    /// Stops watching `fd`; the caller closes it afterwards. Events already fetched for the token
    /// find no handler and are dropped, so a reused descriptor number is never confused with it.
    func deregister(fd: Int32, token: UInt64) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
        _ = state.withLock { $0.handlers.removeValue(forKey: token) }
    }

    /// Runs `spawn` (outside any lock: a fork and exec can take a while, and the loop must keep
    /// serving every other server meanwhile), then registers the new group and wakes the reaper
    /// once. The reaper only looks at registered leaders, so a child that exits before it is
    /// registered stays a zombie until that pass: no exit is lost. `onExit` gets the leader's
    /// status; `onGone` runs when the leader is reaped, once no live member is left in its group.
    func spawnWatched(
        _ spawn: () -> pid_t, onExit: @escaping @Sendable (ExitStatus) -> Void, onGone: @escaping @Sendable () -> Void = {}
    ) -> pid_t {
        state.withLock { $0.spawning += 1 }
        let pid = spawn()
        state.withLock { state in
            state.spawning -= 1
            if pid != -1 { state.groups[abs(pid)] = Group(onExit: onExit, onGone: onGone) }
        }
        if pid != -1 { poke() }
        return pid
    }

    /// Asks for a reaping pass (for a stop waiting on a group whose last members were not this
    /// process's children: their end sends no SIGCHLD here).
    func poke() {
        var one: UInt64 = 1
        _ = write(childSignal, &one, 8)
    }

    /// Sends `signal` to the group `leader` leads, and to the leader itself (in case it left the
    /// group), while the leader is unreaped; `false` once it is reaped (the group is gone, and
    /// its id may belong to a stranger). Under the reaper's lock, so the two cannot interleave.
    @discardableResult
    func signalGroup(_ leader: pid_t, _ signal: Int32) -> Bool {
        state.withLock { state in
            guard state.groups[leader] != nil else { return false }
            _ = kill(-leader, signal)
            _ = kill(leader, signal)
            return true
        }
    }

    /// The leaders of every group still watched (for attributing escapees: a leader is never
    /// another server's escapee).
    var watchedLeaders: Set<pid_t> { state.withLock { Set($0.groups.keys) } }

    /// Adds a listener for every reaped process that was not a leader (an orphaned grandchild
    /// or a descendant that left its group). Listeners stay for the life of the process: there
    /// is one supervisor in the controller (the tests create a few dozen).
    func addOrphanListener(_ listener: @escaping @Sendable (pid_t, ExitStatus) -> Void) {
        state.withLock { $0.orphanListeners.append(listener) }
    }

    var orphansReaped: Int { state.withLock { $0.orphansReaped } }

    /// Process groups still watched (a leader not yet reaped, or members left behind).
    var watchedGroups: Int { state.withLock { $0.groups.count } }

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 64)
        var events = [UInt32](repeating: 0, count: 64)
        while true {
            let count = omni_epoll_wait(epoll, &tokens, &events, 64, -1)
            if count < 0 { continue }  // EINTR from SIGCHLD itself
            for index in 0..<Int(count) {
                if tokens[index] == IOLoop.reaperToken {
                    reap()
                    continue
                }
                let handler = state.withLock { $0.handlers[tokens[index]] }
                handler?.handle(events: events[index])
            }
        }
    }

    private func reap() {
        var counter: UInt64 = 0
        _ = read(childSignal, &counter, 8)
        var calls: [@Sendable () -> Void] = []
        // Run before `calls`: a leader whose group empties in the same pass is gone before its
        // exit is announced, so whoever wakes on the exit never sees it as still running.
        var gone: [@Sendable () -> Void] = []
        state.withLock { state in
            // 1. Leaders, by pid: an exit is seen even from a leader that left its group.
            for (leader, group) in state.groups where !group.leaderExited {
                var result = omni_wait_result()
                let peeked = omni_peek_child(leader, &result)
                // ECHILD: someone else reaped it (a stray waitpid); its status is lost, not its end.
                guard (peeked == 0 && result.pid == leader) || (peeked != 0 && errno == ECHILD) else { continue }
                state.groups[leader]?.leaderExited = true
                let status =
                    peeked != 0 ? ExitStatus() : result.exited == 1 ? ExitStatus(code: result.code) : ExitStatus(signal: result.signal)
                calls.append { group.onExit(status) }
            }
            // 2. Every zombie child that is a server's member or escapee, by pid: one that is not
            // ours to take (another component's child) is skipped, never the end of the sweep.
            let session = getsid(0)
            for pid in ProcessTable.ownChildren() where state.groups[pid] == nil {
                guard let stats = ProcessStats.read(pid: pid), stats.isZombie else { continue }
                // A child still in the controller's session and in no group of ours is another
                // component's (Foundation's `Process` puts each child in a new group of the
                // same session), which its owner waits for. While a fork is in flight, its
                // child (in a session of its own, not registered yet) looks like an escapee:
                // only members of registered groups and sessions are taken then.
                let ours = state.groups[stats.processGroup] != nil || state.groups[stats.session] != nil
                guard ours || (stats.session != session && state.spawning == 0) else { continue }
                let result = omni_wait(pid)
                guard result.pid == pid else { continue }
                state.orphansReaped += 1
                let status = result.exited == 1 ? ExitStatus(code: result.code) : ExitStatus(signal: result.signal)
                for listener in state.orphanListeners { calls.append { listener(pid, status) } }
            }
            // 3. A leader that exited is reaped once no member is left in its group (a zombie
            // member of ours is reaped first, by the pass its SIGCHLD brings).
            let pending = state.groups.filter(\.value.leaderExited)
            guard !pending.isEmpty else { return }
            let table = ProcessTable.scan()
            let me = getpid()
            for (leader, group) in pending where !table.hasMember(group: leader, except: leader, reaper: me) {
                _ = omni_wait(leader)
                state.groups.removeValue(forKey: leader)
                gone.append(group.onGone)
            }
        }
        for call in gone + calls { call() }
    }
}
