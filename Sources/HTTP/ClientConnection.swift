import CSystem
import Glibc
import Synchronization

/// One request's life on the loop: its bytes, its handlers, its deadline, and the connection
/// carrying it. Loop-confined after `ClientPool.start` (hence `@unchecked Sendable`).
final class ClientExchange: @unchecked Sendable {
    let method: String
    let bytes: [UInt8]
    let handlers: HTTPResponseHandlers
    let deadline: UInt64
    private(set) var ended = false
    var connection: ClientConnection?
    var timer: TimerID?
    var loop: EventLoop?

    init(method: String, bytes: [UInt8], handlers: HTTPResponseHandlers, deadline: UInt64) {
        self.method = method
        self.bytes = bytes
        self.handlers = handlers
        self.deadline = deadline
    }

    /// Ends the exchange with an error; its connection (mid-response, so unusable) is closed.
    func fail(_ error: HTTPClientError) {
        guard !ended else { return }
        ended = true
        if let timer { loop?.cancel(timer) }
        let connection = connection
        self.connection = nil
        connection?.abandon()
        handlers.end(error)
    }

    /// The response ended cleanly.
    func succeed() {
        guard !ended else { return }
        ended = true
        if let timer { loop?.cancel(timer) }
        connection = nil
        handlers.end(nil)
    }
}

/// Idle keep-alive connections by origin. Loop-confined, except the idle count.
final class ClientPool: @unchecked Sendable {
    private var idle: [HTTPOrigin: [ClientConnection]] = [:]
    private var retired = false
    /// One read buffer for the pool's connections: reads happen one at a time on the loop.
    var scratch = [UInt8](repeating: 0, count: 65536)
    let idleCount = Atomic<Int>(0)

    func start(_ exchange: ClientExchange, origin: HTTPOrigin, address: ResolvedAddress, settings: ClientSettings) {
        guard !exchange.ended else { return }
        exchange.loop = settings.loop
        exchange.timer = settings.loop.schedule(at: exchange.deadline) { exchange.fail(.timedOut) }
        let connection: ClientConnection
        if var list = idle[origin], let reused = list.popLast() {
            idle[origin] = list.isEmpty ? nil : list
            idleCount.subtract(1, ordering: .relaxed)
            connection = reused
        } else {
            connection = ClientConnection(origin: origin, settings: settings, pool: self)
            guard connection.connect(to: address) else { return exchange.fail(.connect(connection.failure)) }
        }
        connection.begin(exchange)
    }

    /// Keeps `connection` for the next request to its origin, or closes it when enough are kept
    /// (or the client is gone).
    func release(_ connection: ClientConnection, limit: Int) {
        var list = idle[connection.origin, default: []]
        guard !retired, list.count < limit else { return connection.close() }
        list.append(connection)
        idle[connection.origin] = list
        idleCount.add(1, ordering: .relaxed)
    }

    /// Closes every idle connection, and those still busy as they finish (the client is gone).
    func closeAll() {
        retired = true
        let all = idle.values.flatMap { $0 }
        for connection in all { connection.close() }
    }

    /// Forgets an idle connection that closed (the server hung up, or it idled out).
    func remove(_ connection: ClientConnection) {
        guard var list = idle[connection.origin], let index = list.firstIndex(where: { $0 === connection }) else { return }
        list.remove(at: index)
        idle[connection.origin] = list.isEmpty ? nil : list
        idleCount.subtract(1, ordering: .relaxed)
    }
}

/// One client socket on the loop: connects, writes a request, reads its response through
/// `HTTPResponseParser`, and goes back to the pool or closes.
final class ClientConnection: EventLoopHandler, @unchecked Sendable {
    let origin: HTTPOrigin
    private let client: ClientSettings
    /// Strong while the connection is open (a request in flight finishes even when its client
    /// is gone); cleared on close, which breaks the cycle through the pool's idle list.
    private var pool: ClientPool?
    private var fd: Int32 = -1
    private var token: UInt64 = 0
    private var connecting = false
    private var closed = false
    private var exchange: ClientExchange?
    private var parser = HTTPResponseParser()
    private var head: HTTPResponseHead?
    private var output = OutputBuffer()
    private var watching: UInt32 = 0
    private var idleTimer: TimerID?
    private(set) var failure = ""

    init(origin: HTTPOrigin, settings: ClientSettings, pool: ClientPool) {
        self.origin = origin
        client = settings
        self.pool = pool
    }

    /// Starts a non-blocking connect; false (with `failure` set) when it failed at once.
    func connect(to address: ResolvedAddress) -> Bool {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        fd = socket(address.family, type, 0)
        guard fd >= 0 else {
            failure = "socket: \(String(cString: strerror(errno)))"
            return false
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = address.bytes.withUnsafeBytes { raw in
            Glibc.connect(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if result != 0, errno != EINPROGRESS {
            failure = "\(origin): \(String(cString: strerror(errno)))"
            Glibc.close(fd)
            fd = -1
            closed = true
            return false
        }
        connecting = result != 0
        watching = wantedEvents
        guard let token = client.loop.register(fd: fd, events: watching, handler: self) else {
            failure = "\(origin): the event loop cannot watch another socket"
            Glibc.close(fd)
            fd = -1
            closed = true
            return false
        }
        self.token = token
        return true
    }

    func begin(_ exchange: ClientExchange) {
        if let idleTimer { client.loop.cancel(idleTimer) }
        idleTimer = nil
        self.exchange = exchange
        exchange.connection = self
        parser = HTTPResponseParser(limits: client.limits, requestMethod: exchange.method)
        head = nil
        output = OutputBuffer()
        output.append(exchange.bytes)
        if !connecting { flush() }
        settle()
    }

    private var wantedEvents: UInt32 {
        var mask = UInt32(EPOLLIN.rawValue | EPOLLRDHUP.rawValue)
        if connecting || !output.isEmpty { mask |= UInt32(EPOLLOUT.rawValue) }
        return mask
    }

    private func settle() {
        guard !closed else { return }
        let wanted = wantedEvents
        if wanted != watching {
            watching = wanted
            client.loop.modify(fd: fd, events: wanted, token: token)
        }
    }

    func handle(events: UInt32) {
        if connecting, events & UInt32(EPOLLOUT.rawValue | EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 {
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else {
                let exchange = exchange
                self.exchange = nil
                close()
                exchange?.fail(.connect("\(origin): \(String(cString: strerror(error)))"))
                return
            }
            connecting = false
        }
        if !connecting, events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        if !closed, events & UInt32(EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0 {
            readAvailable()
        }
        settle()
    }

    private func flush() {
        if case .failed(let error) = output.send(to: fd) { broken("write failed: \(String(cString: strerror(error)))") }
    }

    private func readAvailable() {
        guard let pool else { return close() }
        for _ in 0..<8 {
            let count = pool.scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            guard exchange != nil else {
                // Idle: the server hung up (or sent something unasked), so the connection is
                // no longer reusable.
                return close()
            }
            if count <= 0 {
                do {
                    deliver(try parser.finish())
                } catch {
                    return broken("the server closed the connection in the middle of a response")
                }
                if exchange != nil { broken("the server closed the connection before the response ended") }
                return
            }
            do {
                deliver(try parser.feed(pool.scratch[0..<count]))
            } catch {
                return broken(error)
            }
            if closed || exchange == nil || count < pool.scratch.count { return }
        }
    }

    private func deliver(_ events: [HTTPResponseEvent]) {
        for event in events {
            guard let exchange, !exchange.ended else { return }
            switch event {
            case .head(let head):
                self.head = head
                exchange.handlers.head(head)
            case .body(let bytes):
                exchange.handlers.body(bytes)
            case .end:
                self.exchange = nil
                exchange.succeed()
                // Reusable only when both sides said so, the response ended cleanly, and the
                // whole request went out (a server may answer before reading all of a body: the
                // rest of it would be read as the next request).
                if head?.keepAlive == true, parser.isIdle, output.isEmpty, !closed {
                    idleTimer = client.loop.schedule(at: EventLoop.now() &+ client.idleTimeout.nanoseconds) { [weak self] in
                        self?.close()
                    }
                    if let pool { pool.release(self, limit: client.maxIdlePerOrigin) } else { close() }
                } else {
                    close()
                }
                return
            }
        }
    }

    private func broken(_ why: String) {
        let exchange = exchange
        self.exchange = nil
        close()
        exchange?.fail(.closed(why))
    }

    private func broken(_ error: HTTPParseError) {
        let exchange = exchange
        self.exchange = nil
        close()
        exchange?.fail(.protocolViolation(error))
    }

    /// Called by a failing exchange (cancelled, timed out): the response is unfinished, so the
    /// connection cannot be reused.
    func abandon() {
        exchange = nil
        close()
    }

    func close() {
        guard !closed else { return }
        closed = true
        if let idleTimer { client.loop.cancel(idleTimer) }
        idleTimer = nil
        if fd >= 0 {
            client.loop.deregister(fd: fd, token: token)
            Glibc.close(fd)
        }
        pool?.remove(self)
        pool = nil
        let exchange = exchange
        self.exchange = nil
        exchange?.fail(.closed("connection closed"))
    }
}

/// What a connection needs of its client (a value: connections do not keep the client alive).
struct ClientSettings: Sendable {
    let loop: EventLoop
    let limits: HTTPClientLimits
    let idleTimeout: Duration
    let maxIdlePerOrigin: Int
}
