import Actual
import CSystem
import Desired
import Glibc
import HTTP

/// The loop-side half of the proxy: its listeners (the main one and those adopted from
/// isolated instances) and its connections. Confined to the proxy's event loop but for the
/// constants.
final class ProxyCore: @unchecked Sendable {
    let loop: EventLoop
    let registry: ProxyRegistry
    let resolver: NameResolver
    let settings: ProxySettings
    let emit: @Sendable (EgressEvent) -> Void
    /// Request heads: 8 KiB request line, 16 KiB of headers, 64 fields; a forwarded body of at
    /// most 1 MiB (it is read whole before the upstream is chosen).
    let limits = HTTPLimits(requestLine: 8192, headerBytes: 16384, headerCount: 64, body: 1 << 20)
    /// Each direction of a tunnel holds at most this much in flight.
    let bufferSize = 128 << 10
    /// Client connections held at once, in total; more are closed at accept.
    let maxConnections: Int
    /// One read buffer for head parsing and discarded input: reads happen one at a time.
    var scratch = [UInt8](repeating: 0, count: 16384)
    private var connections: [ObjectIdentifier: ProxyConnection] = [:]
    private var listeners: [Int32: Acceptor] = [:]
    private var adopted: [InstanceID: Acceptor] = [:]

    init(
        loop: EventLoop, registry: ProxyRegistry, resolver: NameResolver, settings: ProxySettings, maxConnections: Int,
        emit: @escaping @Sendable (EgressEvent) -> Void
    ) {
        self.loop = loop
        self.registry = registry
        self.resolver = resolver
        self.settings = settings
        self.maxConnections = maxConnections
        self.emit = emit
    }

    /// Serves `fd`; `instance` for a listener adopted from an isolated instance (only its own
    /// credentials are accepted there). False when the loop cannot watch it.
    @discardableResult
    func listen(_ fd: Int32, for instance: InstanceID?) -> Bool {
        _ = omni_set_nonblocking_cloexec(fd)
        let acceptor = Acceptor(core: self, fd: fd, instance: instance)
        guard let token = loop.register(fd: fd, events: UInt32(EPOLLIN.rawValue), handler: acceptor) else { return false }
        acceptor.token = token
        if let instance {
            if let old = adopted.removeValue(forKey: instance) { old.close() }
            adopted[instance] = acceptor
        } else {
            listeners[fd] = acceptor
        }
        return true
    }

    func accepted(_ fd: Int32, on acceptor: Acceptor) {
        guard connections.count < maxConnections else {
            Glibc.close(fd)
            return
        }
        let connection = ProxyConnection(core: self, fd: fd, listenerInstance: acceptor.instance)
        connections[ObjectIdentifier(connection)] = connection
        connection.start()
    }

    func forget(_ connection: ProxyConnection) {
        connections[ObjectIdentifier(connection)] = nil
    }

    /// Closes `instance`'s connections and its adopted listener.
    func release(_ instance: InstanceID) {
        adopted.removeValue(forKey: instance)?.close()
        for connection in connections.values where connection.instance == instance {
            connection.close("the instance ended")
        }
    }

    /// Closes every listener and connection.
    func shutdown() {
        for acceptor in listeners.values { acceptor.close() }
        for acceptor in adopted.values { acceptor.close() }
        listeners = [:]
        adopted = [:]
        for connection in Array(connections.values) { connection.close("the proxy is stopping") }
    }

    var connectionCount: Int { connections.count }
}

/// A listening socket on the proxy's loop.
final class Acceptor: EventLoopHandler {
    unowned let core: ProxyCore
    let fd: Int32
    let instance: InstanceID?
    var token: UInt64 = 0
    private var paused = false
    private var closed = false

    init(core: ProxyCore, fd: Int32, instance: InstanceID?) {
        self.core = core
        self.fd = fd
        self.instance = instance
    }

    func handle(events: UInt32) {
        // A bounded batch per wake-up, so a flood of connections cannot starve the tunnels.
        for _ in 0..<64 where !closed {
            var address = [UInt8](repeating: 0, count: 16)
            var family: Int32 = 0
            let client = omni_accept(fd, &address, &family)
            if client >= 0 {
                core.accepted(client, on: self)
                continue
            }
            switch errno {
            case EINTR, ECONNABORTED: continue
            case EAGAIN, EWOULDBLOCK: return
            default:
                // Out of descriptors or memory: level-triggered epoll would spin; look again soon.
                return pause()
            }
        }
    }

    private func pause() {
        guard !paused, !closed else { return }
        paused = true
        core.loop.modify(fd: fd, events: 0, token: token)
        core.loop.schedule(at: EventLoop.now() &+ 50_000_000) { [self] in
            paused = false
            if !closed { core.loop.modify(fd: fd, events: UInt32(EPOLLIN.rawValue), token: token) }
        }
    }

    func close() {
        guard !closed else { return }
        closed = true
        core.loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
    }
}
