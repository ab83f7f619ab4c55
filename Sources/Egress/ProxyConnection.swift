import Actual
import CSystem
import Glibc
import HTTP

/// One client connection to the proxy, from its request head to the end of its tunnel or
/// forwarded request. Confined to the proxy's event loop.
///
/// Stages: `head` (reading and parsing the request; the connect deadline runs), `resolving`
/// (the name is looked up off the loop), `connecting` (a non-blocking connect to each allowed
/// address in turn), `relaying` (bytes both ways through two bounded buffers: a side is read
/// only while the other side's buffer has room, so a slow reader stops a fast writer), and
/// `closing` (an error answer is being written).
final class ProxyConnection: @unchecked Sendable {
    enum Stage { case head, resolving, connecting, relaying, closing, closed }

    private unowned let core: ProxyCore
    private let client: Int32
    private var clientToken: UInt64?
    private var clientEvents: UInt32 = 0
    private var upstream: Int32 = -1
    private var upstreamToken: UInt64?
    private var upstreamEvents: UInt32 = 0
    private var parser: HTTPRequestParser
    private(set) var stage = Stage.head
    /// The instance whose credentials were given (nil until then).
    private(set) var instance: InstanceID?
    /// The listener's instance, for an adopted listener inside a namespace.
    private let listenerInstance: InstanceID?
    private var target = ProxyTarget(host: "", port: 0, path: nil)
    private var holdsTunnel = false
    private var connected = false
    private var candidates: [IPAddress] = []
    private var toUpstream: RelayBuffer
    private var toClient: RelayBuffer
    private var clientDone = false
    private var upstreamDone = false
    private var upstreamShut = false
    private var clientShut = false
    /// Forwarded (absolute-form) request: the client's further bytes are read and dropped,
    /// never relayed (they could carry a second request with its credentials).
    private var discardClient = false
    private var sent = 0
    private var received = 0
    private let opened: UInt64
    private var lastActivity: UInt64
    private var timers: [TimerID] = []
    private var closeReason = "closed"

    init(core: ProxyCore, fd: Int32, listenerInstance: InstanceID?) {
        self.core = core
        client = fd
        self.listenerInstance = listenerInstance
        parser = HTTPRequestParser(limits: core.limits)
        toUpstream = RelayBuffer(capacity: core.bufferSize)
        toClient = RelayBuffer(capacity: core.bufferSize)
        opened = EventLoop.now()
        lastActivity = opened
    }

    func start() {
        clientToken = core.loop.register(fd: client, events: ProxyConnection.input, handler: ClientSide(self))
        guard clientToken != nil else { return close("cannot watch the socket") }
        clientEvents = ProxyConnection.input
        let settings = core.settings
        timers.append(
            core.loop.schedule(at: opened &+ settings.connectTimeout.nanoseconds) { [weak self] in self?.connectDeadline() })
        timers.append(core.loop.schedule(at: opened &+ settings.totalTimeout.nanoseconds) { [weak self] in self?.close("total timeout") })
    }

    // MARK: Reading the request

    fileprivate func clientReady(_ events: UInt32) {
        switch stage {
        case .head: readHead(events)
        case .relaying: relayFromClient(events)
        case .closing: flushAnswer()
        case .resolving, .connecting:
            // Not reading the client meanwhile; only its hang-up matters.
            if events & ProxyConnection.hangUp != 0 { close("the client went away") }
        case .closed: return
        }
    }

    private func readHead(_ events: UInt32) {
        for _ in 0..<16 {
            let count = core.scratch.withUnsafeMutableBytes { Glibc.read(client, $0.baseAddress, $0.count) }
            if count == 0 { return close("the client closed before a request") }
            if count < 0 {
                if errno == EINTR { continue }
                if errno == EAGAIN || errno == EWOULDBLOCK { return }
                return close("read: \(String(cString: strerror(errno)))")
            }
            do {
                parser.append(core.scratch[0..<count])
                if let request = try parser.next() { return begin(request) }
                // The body of a forwarded request is read here, whole: a client that waits for
                // `100 Continue` gets it now (best effort: the answer is 25 bytes).
                if parser.takeContinueRequest() {
                    _ = ProxyResponse.continue.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                }
            } catch {
                return answer(error.status, HTTPReason.phrase(error.status), error.message)
            }
        }
    }

    private func begin(_ request: HTTPRequest) {
        setClientEvents(0)
        let found: InstanceID
        switch ProxyCredentials.parse(request.header("Proxy-Authorization")) {
        case .failure(let failure):
            core.emit(.unauthenticated(user: nil, reason: failure.description))
            return answer(407, "Proxy Authentication Required", failure.description, extra: [ProxyConnection.challenge])
        case .success(let (user, password)):
            guard let instance = core.registry.authenticate(user: user, password: password),
                listenerInstance == nil || listenerInstance == instance
            else {
                let claimed = user.utf8.count <= 64 && user.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } ? user : nil
                core.emit(.unauthenticated(user: claimed, reason: ProxyCredentials.Failure.unknown.description))
                return answer(407, "Proxy Authentication Required", "unknown proxy credentials", extra: [ProxyConnection.challenge])
            }
            found = instance
        }
        instance = found
        switch ProxyTarget.parse(request) {
        case .failure(.badRequest(let text)): return answer(400, "Bad Request", text)
        case .success(let parsed): target = parsed
        }
        if let reason = core.registry.policy(found.name).checkName(target.host, port: target.port) {
            return deny(reason)
        }
        let (ok, limit) = core.registry.acquireTunnel(found.name)
        guard ok else {
            core.emit(.busy(server: found.name, host: target.host, port: target.port, limit: limit))
            return answer(429, "Too Many Requests", "\(found.name) has \(limit) tunnels open already")
        }
        holdsTunnel = true
        if target.path == nil {
            toUpstream.append(parser.takeBuffered())
        } else {
            toUpstream.append(ProxyTarget.forwarded(request, to: target))
            discardClient = true
        }
        stage = .resolving
        if let addresses = core.resolver.immediate(target.host) { return resolved(.success(addresses)) }
        let loop = core.loop
        core.resolver.resolve(target.host) { result in
            // Held until the lookup returns (bounded by the resolver), then dropped if closed.
            loop.execute { self.resolved(result) }
        }
    }

    private func resolved(_ result: Result<[IPAddress], ResolveError>) {
        guard stage == .resolving, let instance else { return }
        switch result {
        case .failure(let error):
            return fail(502, "Bad Gateway", "cannot resolve \(target.host): \(error)")
        case .success(let addresses):
            // The list as it is now: an edit since the request arrived applies, to the name as
            // well as to the addresses (a lookup can take seconds).
            let policy = core.registry.policy(instance.name)
            if let reason = policy.checkName(target.host, port: target.port) { return deny(reason) }
            let (allowed, reason) = policy.check(addresses: addresses, port: target.port)
            if let reason { return deny(reason) }
            candidates = allowed
            stage = .connecting
            connectNext(lastError: nil)
        }
    }

    // MARK: Connecting

    private func connectNext(lastError: String?) {
        guard !candidates.isEmpty else {
            return fail(502, "Bad Gateway", "cannot connect to \(target.host):\(target.port): \(lastError ?? "no address")")
        }
        let address = candidates.removeFirst()
        switch Sockets.connect(to: address, port: target.port) {
        case .failure(let error): connectNext(lastError: error.description)
        case .success(let (fd, done)):
            upstream = fd
            upstreamToken = core.loop.register(fd: fd, events: ProxyConnection.output, handler: UpstreamSide(self))
            guard upstreamToken != nil else {
                Glibc.close(fd)
                upstream = -1
                return fail(502, "Bad Gateway", "cannot watch the upstream socket")
            }
            upstreamEvents = ProxyConnection.output
            if done { established() }
        }
    }

    fileprivate func upstreamReady(_ events: UInt32) {
        switch stage {
        case .connecting:
            if let error = Sockets.pendingError(upstream) {
                dropUpstream()
                return connectNext(lastError: error)
            }
            established()
        case .relaying: relayFromUpstream(events)
        default: return
        }
    }

    private func established() {
        guard let instance else { return }
        stage = .relaying
        connected = true
        core.registry.count(instance.name, .allowed)
        if target.path == nil { toClient.append(ProxyResponse.established) }
        lastActivity = EventLoop.now()
        scheduleIdleCheck()
        pump()
    }

    private func connectDeadline() {
        switch stage {
        case .head: close("no complete request within the connect timeout")
        case .resolving, .connecting:
            fail(504, "Gateway Timeout", "no connection to \(target.host):\(target.port) within \(core.settings.connectTimeout)")
        default: return
        }
    }

    // MARK: Relaying

    private func relayFromClient(_ events: UInt32) {
        relay()
        // Hung up both ways: nothing more can reach it (and epoll would report it forever).
        if stage == .relaying, clientDone, events & ProxyConnection.broken != 0 { return close("the client hung up") }
        pump()
    }

    private func relayFromUpstream(_ events: UInt32) {
        relay()
        if stage == .relaying, upstreamDone, events & ProxyConnection.broken != 0 {
            // Gone both ways: what the client still sends has nowhere to go.
            dropUpstream()
            toUpstream = RelayBuffer(capacity: 0)
            clientDone = true
        }
        pump()
    }

    /// Reads both sides (a read that finds nothing costs one syscall) and writes both buffers,
    /// in turns, until nothing moves (or 16 turns): a bulk transfer moves several buffers per
    /// wake-up, and a side that became writable frees room that is refilled at once.
    private func relay() {
        for _ in 0..<16 {
            var moved = false
            if !clientDone, readClient() { moved = true }
            guard stage == .relaying else { return }
            if !upstreamDone, upstream >= 0, readUpstream() { moved = true }
            guard stage == .relaying else { return }
            if flush() { moved = true }
            guard stage == .relaying, moved else { return }
        }
    }

    /// Reads the client into its buffer (or drops what it sends); whether a byte came.
    private func readClient() -> Bool {
        var moved = false
        for _ in 0..<8 {
            if discardClient {
                let count = core.scratch.withUnsafeMutableBytes { Glibc.read(client, $0.baseAddress, $0.count) }
                if count > 0 { continue }
                if count == 0 { clientDone = true }
                if count < 0, errno == EINTR { continue }
                if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { close("client read failed") }
                return moved
            }
            guard toUpstream.hasSpace else { return moved }
            let count = toUpstream.read(from: client)
            if count > 0 {
                moved = true
                lastActivity = EventLoop.now()
                continue
            }
            if count == 0 { clientDone = true }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { close("client read failed") }
            return moved
        }
        return moved
    }

    /// Reads the upstream into its buffer; whether a byte came.
    private func readUpstream() -> Bool {
        var moved = false
        for _ in 0..<8 {
            guard toClient.hasSpace else { return moved }
            let count = toClient.read(from: upstream)
            if count > 0 {
                moved = true
                received += count
                lastActivity = EventLoop.now()
                continue
            }
            if count == 0 { upstreamDone = true }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno != EAGAIN, errno != EWOULDBLOCK { close("upstream read failed") }
            return moved
        }
        return moved
    }

    /// One write of each buffer to its side; whether a byte went. Closes on a write error.
    private func flush() -> Bool {
        var moved = false
        if !toUpstream.isEmpty, upstream >= 0 {
            let count = toUpstream.write(to: upstream)
            if count > 0 {
                moved = true
                sent += count
                lastActivity = EventLoop.now()
            } else if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                close("upstream write failed")
                return false
            }
        }
        if !toClient.isEmpty {
            let count = toClient.write(to: client)
            if count > 0 {
                moved = true
                lastActivity = EventLoop.now()
            } else if count < 0, errno != EAGAIN, errno != EWOULDBLOCK, errno != EINTR {
                close("client write failed")
                return false
            }
        }
        return moved
    }

    /// Writes what each side can take, half-closes a side whose peer finished, closes when
    /// both directions are done, and sets what to wait for.
    private func pump() {
        guard stage == .relaying else { return }
        _ = flush()
        guard stage == .relaying else { return }
        if upstreamDone, toClient.isEmpty {
            // The upstream finished: a forwarded request is over; a tunnel passes the half-close on.
            if discardClient || clientDone { return close(discardClient ? "response complete" : "both sides closed") }
            if !clientShut {
                shutdown(client, Int32(SHUT_WR))
                clientShut = true
            }
        }
        if clientDone, toUpstream.isEmpty, !discardClient, !upstreamShut, upstream >= 0 {
            shutdown(upstream, Int32(SHUT_WR))
            upstreamShut = true
        }
        var wantClient: UInt32 = 0
        if !clientDone, discardClient || toUpstream.hasSpace { wantClient |= ProxyConnection.input }
        if !toClient.isEmpty { wantClient |= ProxyConnection.output }
        var wantUpstream: UInt32 = 0
        if !upstreamDone, toClient.hasSpace { wantUpstream |= ProxyConnection.input }
        if !toUpstream.isEmpty { wantUpstream |= ProxyConnection.output }
        setClientEvents(wantClient)
        setUpstreamEvents(wantUpstream)
    }

    private func scheduleIdleCheck() {
        let deadline = lastActivity &+ core.settings.idleTimeout.nanoseconds
        timers.append(
            core.loop.schedule(at: deadline) { [weak self] in
                guard let self, self.stage == .relaying else { return }
                if EventLoop.now() &- self.lastActivity >= self.core.settings.idleTimeout.nanoseconds {
                    self.close("idle timeout")
                } else {
                    self.scheduleIdleCheck()
                }
            })
    }

    // MARK: Answers and the end

    private func deny(_ reason: String) {
        guard let instance else { return }
        core.registry.count(instance.name, .denied)
        core.emit(.denied(server: instance.name, instance: instance.description, host: target.host, port: target.port, reason: reason))
        answer(403, "Forbidden", "egress to \(target.host):\(target.port) refused: \(reason)")
    }

    private func fail(_ status: Int, _ phrase: String, _ reason: String) {
        if let instance {
            core.registry.count(instance.name, .failed)
            core.emit(.failed(server: instance.name, host: target.host, port: target.port, reason: reason))
        }
        answer(status, phrase, reason)
    }

    /// Sends the proxy's own answer and closes once it is written (or at the total timeout).
    private func answer(_ status: Int, _ phrase: String, _ body: String, extra: [String] = []) {
        closeReason = "answered \(status)"
        dropUpstream()
        stage = .closing
        toClient = RelayBuffer(capacity: 0)
        toClient.append(ProxyResponse.text(status, phrase, body, extra: extra))
        flushAnswer()
    }

    private func flushAnswer() {
        while !toClient.isEmpty {
            let count = toClient.write(to: client)
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                setClientEvents(ProxyConnection.output)
                return
            }
            if count <= 0 { break }
        }
        // The request was read whole: closing now does not reset the connection under the answer.
        close(closeReason)
    }

    private func dropUpstream() {
        if let token = upstreamToken { core.loop.deregister(fd: upstream, token: token) }
        upstreamToken = nil
        upstreamEvents = 0
        if upstream >= 0 { Glibc.close(upstream) }
        upstream = -1
    }

    /// Closes both sockets, frees the tunnel slot and reports the end. Idempotent.
    func close(_ reason: String) {
        guard stage != .closed else { return }
        stage = .closed
        for timer in timers { core.loop.cancel(timer) }
        timers = []
        dropUpstream()
        if let token = clientToken { core.loop.deregister(fd: client, token: token) }
        clientToken = nil
        Glibc.close(client)
        if holdsTunnel, let instance {
            holdsTunnel = false
            core.registry.releaseTunnel(instance.name, sent: sent, received: received)
            if connected {
                let seconds = Double(EventLoop.now() &- opened) / 1e9
                core.emit(
                    .closed(
                        server: instance.name, host: target.host, port: target.port, sent: sent, received: received,
                        seconds: seconds, reason: reason))
            }
        }
        core.forget(self)
    }

    private func setClientEvents(_ events: UInt32) {
        guard events != clientEvents, let token = clientToken else { return }
        clientEvents = events
        core.loop.modify(fd: client, events: events, token: token)
    }

    private func setUpstreamEvents(_ events: UInt32) {
        guard events != upstreamEvents, let token = upstreamToken else { return }
        upstreamEvents = events
        core.loop.modify(fd: upstream, events: events, token: token)
    }

    static let input = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue)
    static let output = UInt32(EPOLLOUT.rawValue)
    static let readable = UInt32(EPOLLIN.rawValue) | UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)
    static let broken = UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)
    static let hangUp = UInt32(EPOLLRDHUP.rawValue) | UInt32(EPOLLHUP.rawValue) | UInt32(EPOLLERR.rawValue)
    static let challenge = "Proxy-Authenticate: Basic realm=\"omni-egress\""
}

/// The loop's handler for the client socket.
private final class ClientSide: EventLoopHandler {
    unowned let connection: ProxyConnection

    init(_ connection: ProxyConnection) {
        self.connection = connection
    }

    func handle(events: UInt32) { connection.clientReady(events) }
}

/// The loop's handler for the upstream socket.
private final class UpstreamSide: EventLoopHandler {
    unowned let connection: ProxyConnection

    init(_ connection: ProxyConnection) {
        self.connection = connection
    }

    func handle(events: UInt32) { connection.upstreamReady(events) }
}

/// Reason phrases for the parser's statuses.
enum HTTPReason {
    static func phrase(_ status: Int) -> String {
        switch status {
        case 400: "Bad Request"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 431: "Request Header Fields Too Large"
        case 501: "Not Implemented"
        case 505: "HTTP Version Not Supported"
        default: "Error"
        }
    }
}
