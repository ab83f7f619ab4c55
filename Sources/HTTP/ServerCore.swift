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

    func start() {
        listenerToken = loop.register(fd: listener, events: UInt32(EPOLLIN.rawValue), handler: self)
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
                case EMFILE, ENFILE:
                    refuseWithSpare()
                    return
                default: return  // EAGAIN: the backlog is empty
                }
            }
            let peer = PeerAddress(bytes: Array(address.prefix(family == AF_INET ? 4 : 16)))
            admit(fd, peer: peer)
        }
    }

    private func admit(_ fd: Int32, peer: PeerAddress) {
        let fromPeer = perPeer[peer, default: 0]
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

    /// Best effort: one non-blocking write of a 503, then close.
    private static func refuse(_ fd: Int32) {
        let busy = HTTPResponse.text(503, "too many connections\n")
        var bytes = busy.head(keepAlive: false)
        if case .bytes(let body) = busy.body { bytes += body }
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        Glibc.close(fd)
    }

    private func refuseWithSpare() {
        guard spare >= 0 else { return }
        Glibc.close(spare)
        var address = [UInt8](repeating: 0, count: 16)
        var family: Int32 = 0
        let fd = omni_accept(listener, &address, &family)
        if fd >= 0 {
            counters.refused.add(1, ordering: .relaxed)
            ServerCore.refuse(fd)
        }
        spare = Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC)
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

    var openConnections: Int { connections.count }

    // MARK: Stopping

    /// Stops accepting; idle connections close now, busy ones after their answers; `done` runs
    /// once every connection is gone (or `forceAfter` passed, when the rest are closed).
    func stop(forceAfter grace: Duration, done: @escaping @Sendable () -> Void) {
        stopped.append(done)
        guard !stopping else { return }
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
    /// Connections or requests answered 503 because of the caps.
    let refused = Atomic<Int>(0)
    /// Connections closed because a head or body deadline passed.
    let timeouts = Atomic<Int>(0)
    /// Connections closed because the client did not read what was sent.
    let slowReaders = Atomic<Int>(0)
}
