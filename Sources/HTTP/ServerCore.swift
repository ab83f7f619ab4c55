import CSystem
import Glibc
import Synchronization

/// The loop-side half of an `HTTPServer`: the listening socket, admission (caps in total, per
/// peer, and the reserve for always-served paths), the live connections and their counters.
///
/// Confined to the loop thread, like `ServerConnection`, except for its constants and the
/// atomic counters that `HTTPServer.stats` reads.
final class ServerCore: EventLoopHandler, @unchecked Sendable {
    let loop: EventLoop
    let limits: HTTPLimits
    let handler: HTTPServer.Handler
    let hosts: HostPolicy
    let alwaysServe: Set<String>
    let counters = ServerCounters()
    /// One read buffer for every connection: reads happen one at a time on the loop thread.
    var scratch = [UInt8](repeating: 0, count: 65536)
    private(set) var stopping = false
    private let listener: Int32
    private var listenerToken: UInt64 = 0
    private var connections: [ObjectIdentifier: ServerConnection] = [:]
    private var perPeer: [PeerAddress: Int] = [:]
    private var admitted = 0
    private var reserved = 0
    /// A descriptor kept open to be given up when the process runs out of them, so that one
    /// more connection can be accepted and told 503 instead of staying in the backlog forever.
    private var spare: Int32
    private var stopped: [@Sendable () -> Void] = []
    private var acceptPaused = false

    init(
        listener: Int32, loop: EventLoop, limits: HTTPLimits, hosts: HostPolicy, alwaysServe: Set<String>,
        handler: @escaping HTTPServer.Handler
    ) {
        self.listener = listener
        self.loop = loop
        self.limits = limits
        self.hosts = hosts
        self.alwaysServe = alwaysServe
        self.handler = handler
        spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
    }

    /// False when the listener cannot be watched (then nothing is ever accepted).
    @discardableResult
    func start() -> Bool {
        guard let token = loop.register(fd: listener, events: UInt32(EPOLLIN.rawValue), handler: self) else { return false }
        listenerToken = token
        return true
    }

    // MARK: Accepting

    func handle(events: UInt32) {
        // A bounded batch per wake-up: a flood of new connections must not starve the old ones.
        for _ in 0..<128 where !stopping {
            var address = [UInt8](repeating: 0, count: 16)
            var family: Int32 = 0
            let fd = omni_accept(listener, &address, &family)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return  // the backlog is empty
                case EMFILE, ENFILE:
                    if refuseWithSpare() { continue }
                    return pauseAccepting()
                default:
                    // ENOBUFS, ENOMEM: the backlog is still there, and level-triggered epoll
                    // would report it again at once; try again shortly instead of spinning.
                    return pauseAccepting()
                }
            }
            let peer = PeerAddress(bytes: Array(address.prefix(family == AF_INET ? 4 : 16)))
            admit(fd, peer: peer)
        }
    }

    private func admit(_ fd: Int32, peer: PeerAddress) {
        var fromPeer = perPeer[peer, default: 0]
        // At a cap, an idle connection (one that never sent a request, or one kept alive between
        // requests) gives up its place: holding sockets open must not lock anyone else out.
        if admitted >= limits.connections || fromPeer >= limits.connectionsPerPeer,
            evictIdle(of: fromPeer >= limits.connectionsPerPeer ? peer : nil)
        {
            fromPeer = perPeer[peer, default: 0]
        }
        let restricted: Bool
        if admitted < limits.connections, fromPeer < limits.connectionsPerPeer {
            restricted = false
            admitted += 1
        } else if reserved < limits.reserve {
            restricted = true
            reserved += 1
        } else {
            counters.refused.add(1, ordering: .relaxed)
            ServerCore.refuse(fd)
            return
        }
        perPeer[peer] = fromPeer + 1
        counters.accepted.add(1, ordering: .relaxed)
        let connection = ServerConnection(fd: fd, peer: peer, restricted: restricted, server: self, now: EventLoop.now())
        connections[ObjectIdentifier(connection)] = connection
        connection.start()
    }

    /// Closes the connection idle the longest (of `peer`, when given); false when none is idle.
    private func evictIdle(of peer: PeerAddress?) -> Bool {
        var oldest: (since: UInt64, connection: ServerConnection)?
        for connection in connections.values where !connection.restricted && (peer == nil || connection.peer == peer) {
            guard let since = connection.idleSince, !connection.hasUnreadInput else { continue }
            if oldest.map({ since < $0.since }) ?? true { oldest = (since, connection) }
        }
        guard let victim = oldest?.connection else { return false }
        counters.evicted.add(1, ordering: .relaxed)
        victim.close()
        return true
    }

    /// Stops watching the listener for 50 ms (the process is out of descriptors or memory).
    private func pauseAccepting() {
        guard !stopping, !acceptPaused else { return }
        acceptPaused = true
        loop.modify(fd: listener, events: 0, token: listenerToken)
        loop.schedule(at: EventLoop.now() &+ 50_000_000) { [self] in
            acceptPaused = false
            if !stopping { loop.modify(fd: listener, events: UInt32(EPOLLIN.rawValue), token: listenerToken) }
        }
    }

    /// Best effort: one non-blocking write of a 503, then close.
    private static func refuse(_ fd: Int32) {
        let busy = HTTPResponse.text(503, "too many connections\n")
        var bytes = busy.head(keepAlive: false)
        if case .bytes(let body) = busy.body { bytes += body }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        Glibc.close(fd)
    }

    /// Gives up the spare descriptor to accept one connection and refuse it; false when there
    /// was no spare (or nothing to accept).
    private func refuseWithSpare() -> Bool {
        guard spare >= 0 else { return false }
        Glibc.close(spare)
        var address = [UInt8](repeating: 0, count: 16)
        var family: Int32 = 0
        let fd = omni_accept(listener, &address, &family)
        if fd >= 0 {
            counters.refused.add(1, ordering: .relaxed)
            ServerCore.refuse(fd)
        }
        spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
        return fd >= 0 && spare >= 0
    }

    /// Why a request is answered by the server itself instead of the handler, or nil.
    func refusal(for request: HTTPRequest, restricted: Bool, knownHost: inout String?) -> HTTPResponse? {
        let host = request.header("Host")
        if host == nil || host != knownHost {
            guard hosts.allows(host) else {
                return HTTPResponse.text(421, "Host \(host ?? "") is not a name of this server\n")
            }
            knownHost = host
        }
        if restricted, !alwaysServe.contains(request.path) {
            counters.refused.add(1, ordering: .relaxed)
            return HTTPResponse.text(503, "too many connections\n")
        }
        return nil
    }

    func dropped(slowReader: Bool) {
        if slowReader {
            counters.slowReaders.add(1, ordering: .relaxed)
        } else {
            counters.timeouts.add(1, ordering: .relaxed)
        }
    }

    func connectionClosed(_ connection: ServerConnection) {
        guard connections.removeValue(forKey: ObjectIdentifier(connection)) != nil else { return }
        counters.closed.add(1, ordering: .relaxed)
        if connection.restricted { reserved -= 1 } else { admitted -= 1 }
        let left = perPeer[connection.peer, default: 1] - 1
        perPeer[connection.peer] = left > 0 ? left : nil
        if stopping, connections.isEmpty { finishStop() }
    }

    // MARK: Stopping

    /// Stops accepting; idle connections close now, busy ones after their answers; `done` runs
    /// once every connection is gone (or `forceAfter` passed, when the rest are closed).
    func stop(forceAfter grace: Duration, done: @escaping @Sendable () -> Void) {
        stopped.append(done)
        guard !stopping else {
            if connections.isEmpty { finishStop() }
            return
        }
        stopping = true
        loop.deregister(fd: listener, token: listenerToken)
        Glibc.close(listener)
        if spare >= 0 { Glibc.close(spare) }
        spare = -1
        for connection in Array(connections.values) { connection.stopGracefully() }
        if connections.isEmpty {
            finishStop()
            return
        }
        loop.schedule(at: EventLoop.now() &+ grace.nanoseconds) { [self] in
            for connection in Array(connections.values) { connection.close() }
        }
    }

    private func finishStop() {
        let callbacks = stopped
        stopped = []
        for callback in callbacks { callback() }
    }
}

/// What a server has done, readable from any thread.
final class ServerCounters: Sendable {
    let accepted = Atomic<Int>(0)
    let closed = Atomic<Int>(0)
    /// Idle connections closed to make room at a cap.
    let evicted = Atomic<Int>(0)
    /// Connections or requests answered 503 because of the caps.
    let refused = Atomic<Int>(0)
    /// Connections closed because a head or body deadline passed.
    let timeouts = Atomic<Int>(0)
    /// Connections closed because the client did not read what was sent.
    let slowReaders = Atomic<Int>(0)
}
