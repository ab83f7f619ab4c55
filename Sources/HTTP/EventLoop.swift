import CSystem
import Foundation
import Glibc
import Synchronization

/// Something the loop calls when its descriptor is ready (`EPOLLIN`, `EPOLLOUT`, `EPOLLHUP`…).
/// Called on the loop thread only, one event at a time.
package protocol EventLoopHandler: AnyObject {
    func handle(events: UInt32)
}

/// One thread, one epoll set: every HTTP connection (server and client side), every timer of
/// theirs, and work handed over from other threads.
///
/// - Important: `register`, `modify`, `deregister` and `schedule` may be called on the loop
///   thread only (inside a handler, a timer or an `execute` block). Any thread may call
///   `execute`, which runs its block on the loop thread in the order given.
///
/// Timers are a binary heap of deadlines read by `epoll_wait`'s timeout (millisecond
/// resolution, always rounded up so nothing fires early); cancelled timers are dropped lazily
/// when they reach the top. Work from other threads is a locked queue plus an eventfd that is
/// written only when the queue goes from empty to non-empty, so a burst costs one wake-up.
public final class EventLoop: Sendable {
    /// The loop every server and client shares unless given another (tests make their own).
    public static let shared = EventLoop(name: "omni-http")

    private struct Queue {
        var tasks: [@Sendable () -> Void] = []
        /// Timers cancelled from other threads, dropped at the loop's next pass: no wake-up of
        /// their own (a cancelled timer cannot fire: `LoopTimer` checks its flag).
        var cancelled: [TimerID] = []
    }

    private let epoll: Int32
    private let wakeFD: Int32
    private let queue = Mutex(Queue())
    private let threadID = Atomic<UInt>(0)
    // Touched on the loop thread only (see the class contract); the box makes that explicit.
    private let confined: LoopConfined

    public init(name: String) {
        epoll = epoll_create1(Int32(EPOLL_CLOEXEC))
        wakeFD = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        // Without these there is no HTTP at all; better to stop at start than to serve nothing.
        precondition(epoll >= 0 && wakeFD >= 0, "epoll/eventfd unavailable: errno \(errno)")
        confined = LoopConfined()
        _ = omni_epoll_set(epoll, wakeFD, UInt32(EPOLLIN.rawValue), EventLoop.wakeToken, 0)
        let thread = Thread { [self] in
            omni_name_thread(name)
            threadID.store(UInt(pthread_self()), ordering: .releasing)
            run()
        }
        thread.start()
    }

    /// Whether the caller is on this loop's thread.
    public var inLoop: Bool { threadID.load(ordering: .acquiring) == UInt(pthread_self()) }

    /// Runs `task` on the loop thread, after the tasks handed over before it.
    public func execute(_ task: @escaping @Sendable () -> Void) {
        let wasEmpty = queue.withLock { queue in
            queue.tasks.append(task)
            return queue.tasks.count == 1
        }
        if wasEmpty {
            var one: UInt64 = 1
            _ = write(wakeFD, &one, 8)
        }
    }

    /// Nanoseconds on the monotonic clock, as timers and deadlines use them.
    public static func now() -> UInt64 { UInt64(omni_monotonic_ns()) }

    /// Calls `fire` on the loop thread once `delay` has passed, unless the returned timer is
    /// cancelled first. Any thread may call this and `LoopTimer.cancel`: both hop to the loop,
    /// so a timer costs no thread and no task while it waits.
    public func after(_ delay: Duration, _ fire: @escaping @Sendable () -> Void) -> LoopTimer {
        let timer = LoopTimer(loop: self)
        let deadline = EventLoop.now() + delay.nanoseconds
        // On the loop thread already (a handler arming a request's deadline): no hop.
        if inLoop {
            timer.armed(schedule(at: deadline) { if timer.fired() { fire() } })
            return timer
        }
        execute { [self] in
            guard !timer.isCancelled else { return }
            timer.armed(schedule(at: deadline) { if timer.fired() { fire() } })
        }
        return timer
    }

    // MARK: Loop-thread API

    /// Watches `fd`; nil when epoll refused it (out of memory or watches), and then it is not
    /// watched at all.
    package func register(fd: Int32, events: UInt32, handler: some EventLoopHandler) -> UInt64? {
        let token = confined.nextToken
        confined.nextToken += 1
        guard omni_epoll_set(epoll, fd, events, token, 0) == 0 else { return nil }
        confined.handlers[token] = handler
        return token
    }

    package func modify(fd: Int32, events: UInt32, token: UInt64) {
        _ = omni_epoll_set(epoll, fd, events, token, 1)
    }

    /// Stops watching `fd` (the caller closes it); events already fetched for the token are
    /// dropped, so a reused descriptor number is never taken for the old one.
    package func deregister(fd: Int32, token: UInt64) {
        epoll_ctl(epoll, EPOLL_CTL_DEL, fd, nil)
        confined.handlers.removeValue(forKey: token)
    }

    /// Calls `fire` on the loop at `deadline` (monotonic nanoseconds) unless cancelled first.
    @discardableResult
    package func schedule(at deadline: UInt64, _ fire: @escaping () -> Void) -> TimerID {
        let id = TimerID(raw: confined.nextTimer)
        confined.nextTimer += 1
        confined.timers.push(TimerEntry(deadline: deadline, id: id.raw))
        confined.timerActions[id.raw] = fire
        return id
    }

    package func cancel(_ timer: TimerID) {
        confined.timerActions.removeValue(forKey: timer.raw)
        // Cancelled entries leave the heap when they reach its top; if they pile up (many
        // cancelled long deadlines), drop them all at once.
        let live = confined.timerActions
        if confined.timers.count > 2 * live.count + 1024 { confined.timers.filter { live[$0.id] != nil } }
    }

    // MARK: The loop

    private static let wakeToken: UInt64 = 0

    private func run() {
        var tokens = [UInt64](repeating: 0, count: 256)
        var events = [UInt32](repeating: 0, count: 256)
        while true {
            let count = omni_epoll_wait(epoll, &tokens, &events, 256, timeoutMilliseconds())
            if count > 0 {
                for index in 0..<Int(count) {
                    if tokens[index] == EventLoop.wakeToken {
                        var counter: UInt64 = 0
                        _ = read(wakeFD, &counter, 8)
                        continue
                    }
                    confined.handlers[tokens[index]]?.handle(events: events[index])
                }
            }
            runTasks()
            fireTimers()
        }
    }

    private func runTasks() {
        let (tasks, cancelled) = queue.withLock { queue in
            defer {
                queue.tasks.removeAll(keepingCapacity: true)
                queue.cancelled.removeAll(keepingCapacity: true)
            }
            return (queue.tasks, queue.cancelled)
        }
        for timer in cancelled { cancel(timer) }
        for task in tasks { task() }
    }

    /// Drops a timer's heap entry at the loop's next pass, from any thread, without waking it.
    func cancelLater(_ timer: TimerID) {
        queue.withLock { $0.cancelled.append(timer) }
    }

    private func fireTimers() {
        let now = EventLoop.now()
        while let top = confined.timers.peek, top.deadline <= now {
            confined.timers.pop()
            if let action = confined.timerActions.removeValue(forKey: top.id) { action() }
        }
    }

    /// Until the earliest live timer, rounded up to whole milliseconds; -1 without timers.
    private func timeoutMilliseconds() -> Int32 {
        while let top = confined.timers.peek, confined.timerActions[top.id] == nil { confined.timers.pop() }
        guard let top = confined.timers.peek else { return -1 }
        let now = EventLoop.now()
        guard top.deadline > now else { return 0 }
        return Int32(min((top.deadline - now + 999_999) / 1_000_000, 60_000))
    }
}

/// A timer from `EventLoop.after`: `cancel()` from any thread; after it returns, the timer
/// has either fired already or never will.
public final class LoopTimer: Sendable {
    private struct State {
        var cancelled = false
        var fired = false
        var id: TimerID?
    }

    private let loop: EventLoop
    private let state = Mutex(State())

    init(loop: EventLoop) {
        self.loop = loop
    }

    var isCancelled: Bool { state.withLock { $0.cancelled } }

    func armed(_ id: TimerID) {
        state.withLock { $0.id = id }
    }

    /// Claims the firing; false when cancelled first.
    func fired() -> Bool {
        state.withLock { state in
            guard !state.cancelled else { return false }
            state.fired = true
            return true
        }
    }

    /// Stops the timer if it has not fired; returns whether it was stopped.
    @discardableResult
    public func cancel() -> Bool {
        let (stopped, id): (Bool, TimerID?) = state.withLock { state in
            guard !state.fired, !state.cancelled else { return (false, nil) }
            state.cancelled = true
            return (true, state.id)
        }
        // Drop the heap entry too, so that thousands of cancelled long deadlines do not pile up.
        if let id {
            if loop.inLoop {
                loop.cancel(id)
            } else {
                loop.cancelLater(id)
            }
        }
        return stopped
    }
}

/// A timer handed out by `EventLoop.schedule`, for `cancel`.
package struct TimerID: Hashable {
    let raw: UInt64
}

struct TimerEntry: Comparable {
    var deadline: UInt64
    var id: UInt64

    static func < (lhs: TimerEntry, rhs: TimerEntry) -> Bool {
        (lhs.deadline, lhs.id) < (rhs.deadline, rhs.id)
    }
}

/// The loop's own state, used on the loop thread only.
private final class LoopConfined: @unchecked Sendable {
    var handlers: [UInt64: any EventLoopHandler] = [:]
    var nextToken: UInt64 = 1
    var timers = MinHeap<TimerEntry>()
    var timerActions: [UInt64: () -> Void] = [:]
    var nextTimer: UInt64 = 1
}
