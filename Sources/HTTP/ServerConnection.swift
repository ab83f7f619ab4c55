import CSystem
import Glibc

/// One accepted client connection, driven by the event loop: reads and parses requests, hands
/// each to the server's handler, and sends the answers in request order.
///
/// Confined to the loop thread (every method runs there; other threads reach it only through
/// `EventLoop.execute`), which is why it can be `@unchecked Sendable`.
///
/// Deadlines, one per phase (`HTTPLimits`): before the first byte of a request and while its
/// head arrives, `headTimeout` (from accepting, or from the request's first byte); the body,
/// `bodyTimeout` from the end of the head; between requests, `idleTimeout`; unsent response
/// bytes, `sendTimeout` from when they started waiting. A missed head or body deadline answers
/// 408 (when nothing else is pending) and closes; a missed idle or send deadline just closes.
final class ServerConnection: EventLoopHandler, HTTPStream.Sink, @unchecked Sendable {
    /// One request awaiting or sending its answer.
    private struct Slot {
        var sequence: UInt64
        var isHead: Bool
        var keepAlive: Bool
        var chunked: Bool
        var responder: HTTPResponder?
        var response: HTTPResponse?
    }

    let fd: Int32
    let peer: PeerAddress
    /// Admitted beyond the caps: only the server's always-served paths are answered.
    let restricted: Bool
    private let server: ServerCore
    private var token: UInt64 = 0
    private var parser: HTTPRequestParser
    private var slots: [Slot] = []
    private var slotHead = 0
    private var nextSequence: UInt64 = 0
    private var output = OutputBuffer()
    /// More requests may come (false after the last one, an error, the peer's end, a stop).
    private var moreRequests = true
    /// `pipelineDepth` requests wait for answers: nothing more is read or parsed until one is
    /// sent, and no read deadline runs (the server, not the client, is the one waiting).
    private var paused = false
    /// Inside `processInput` (a handler answering at once must not re-enter it).
    private var processing = false
    /// The request being read asked for `100 Continue`, not sent yet (earlier answers are due).
    private var continuePending = false
    private var writing = false
    /// The events epoll currently watches for this socket.
    private var watching: UInt32 = 0
    /// The client closed its side: answer what it sent, then close.
    private var peerClosed = false
    /// A request that ends the connection was dispatched: later pipelined ones are ignored.
    private var lastRequestSeen = false
    /// After an error answer: our side is shut, and what the client still sends is read and
    /// discarded for a moment, so that closing does not reset the connection (a reset can make
    /// the client lose the error answer it has not read yet).
    private var lingering = false
    private var closeWhenSent = false
    private(set) var closed = false
    private var streaming: HTTPStream?
    private var streamChunked = true
    private var served = 0
    /// The last `Host` value this connection sent that passed the check (clients repeat it).
    private var knownHost: String?

    // Deadline bookkeeping, in monotonic nanoseconds.
    private var phase = HTTPRequestParser.Phase.idle
    private var phaseSince: UInt64
    private var sendingSince: UInt64 = 0
    private var lastWrite: UInt64 = 0
    private var timer: (deadline: UInt64, id: TimerID)?

    init(fd: Int32, peer: PeerAddress, restricted: Bool, server: ServerCore, now: UInt64) {
        self.fd = fd
        self.peer = peer
        self.restricted = restricted
        self.server = server
        parser = HTTPRequestParser(limits: server.limits)
        phaseSince = now
    }

    func start() {
        watching = events
        guard let token = server.loop.register(fd: fd, events: watching, handler: self) else {
            closed = true
            Glibc.close(fd)
            server.connectionClosed(self)
            return
        }
        self.token = token
        settle()
    }

    private static let keepAliveComment = Array(": keep-alive\n\n".utf8)
    private static let continueLine = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// Whether nothing is in progress: no request partly read, none unanswered, nothing unsent.
    var isIdle: Bool { parser.phase == .idle && parser.buffered == 0 && pendingSlots == 0 && output.isEmpty && !lingering }

    /// Since when the connection has been idle (for eviction at the caps), or nil when busy.
    var idleSince: UInt64? { isIdle && !closed ? max(phaseSince, lastWrite) : nil }

    /// Whether the client sent something this side has not read yet (a request on its way is
    /// no reason to evict). One non-blocking peek.
    var hasUnreadInput: Bool {
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) > 0
    }

    /// Whether input is wanted: to parse (more requests may come, the pipeline has room), or to
    /// drain it while lingering.
    private var reading: Bool { lingering || (moreRequests && !lastRequestSeen && !paused) }

    // A reserve connection exists only for a probe's quick request.
    private var headTimeout: Duration { restricted ? min(server.limits.headTimeout, .seconds(1)) : server.limits.headTimeout }
    private var bodyTimeout: Duration { restricted ? min(server.limits.bodyTimeout, .seconds(1)) : server.limits.bodyTimeout }

    private var pendingSlots: Int { slots.count - slotHead }

    private var events: UInt32 {
        // Not reading means not watching for input at all (level-triggered epoll would report a
        // half-closed peer again and again); a reset still arrives as EPOLLHUP/EPOLLERR.
        var mask: UInt32 = 0
        if reading { mask |= UInt32(EPOLLIN.rawValue | EPOLLRDHUP.rawValue) }
        if writing { mask |= UInt32(EPOLLOUT.rawValue) }
        return mask
    }

    // MARK: Events

    func handle(events: UInt32) {
        if events & UInt32(EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0, !reading || events & UInt32(EPOLLIN.rawValue) == 0 {
            close()
            return
        }
        if events & UInt32(EPOLLOUT.rawValue) != 0 { flush() }
        if !closed, reading, events & UInt32(EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLHUP.rawValue) != 0 {
            readAvailable()
        }
        settle()
    }

    private func readAvailable() {
        if lingering {
            discardInput()
            return
        }
        // A few reads per wake-up at most, so one fast client cannot starve the others.
        for _ in 0..<4 {
            let count = server.scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { break }
            guard count > 0 else {
                // The peer closed its side. Answers ready at once still go out, but requests
                // still in progress are cancelled (as Go's server and nginx do): a client that
                // half-closes and waits is rare, one that left is not, and its work must stop.
                moreRequests = false
                peerClosed = true
                break
            }
            server.scratch.withUnsafeBufferPointer { parser.append(UnsafeBufferPointer(rebasing: $0[0..<count])) }
            if count < server.scratch.count { break }
        }
        processInput()
        if !closed, peerClosed, pendingSlots > 0 || streaming != nil { close() }
    }

    /// Parses and dispatches what is buffered, while fewer than `pipelineDepth` requests wait
    /// for answers. Each request's head deadline starts when the one before it was parsed.
    private func processInput() {
        guard !processing, !closed else { return }
        processing = true
        defer { processing = false }
        var now: UInt64?
        while !closed, moreRequests, !lastRequestSeen, pendingSlots < server.limits.pipelineDepth {
            let request: HTTPRequest?
            do {
                request = try parser.next()
            } catch {
                moreRequests = false
                enqueueFinal(HTTPResponse.text(error.status, "\(error.message)\n"))
                break
            }
            guard let request else { break }
            let parsedAt = EventLoop.now()
            now = parsedAt
            phase = .idle
            phaseSince = parsedAt
            dispatch(request)
        }
        guard !closed else { return }
        if parser.phase != phase {
            phase = parser.phase
            phaseSince = now ?? EventLoop.now()
        }
        if parser.takeContinueRequest() { continuePending = true }
        sendContinueIfDue()
        paused = moreRequests && !lastRequestSeen && pendingSlots >= server.limits.pipelineDepth
    }

    /// A client waiting for `100 Continue` before its body gets it once no earlier answer is
    /// still due (an interim answer must not overtake a final one); its body deadline starts then.
    private func sendContinueIfDue() {
        guard continuePending, !closed, pendingSlots == 0, streaming == nil else { return }
        continuePending = false
        guard moreRequests, !lastRequestSeen, parser.phase == .body else { return }
        if output.isEmpty { sendingSince = EventLoop.now() }
        output.append(ServerConnection.continueLine)
        phaseSince = EventLoop.now()
        flush()
    }

    private func dispatch(_ request: HTTPRequest) {
        continuePending = false
        served += 1
        let keepAlive = request.keepAlive && !restricted && !server.stopping && !peerClosed
        let sequence = nextSequence
        nextSequence += 1
        if !keepAlive { lastRequestSeen = true }
        if let refusal = server.refusal(for: request, restricted: restricted, knownHost: &knownHost) {
            slots.append(Slot(sequence: sequence, isHead: request.method == "HEAD", keepAlive: false, chunked: true, response: refusal))
            lastRequestSeen = true
            pump()
            return
        }
        let responder = HTTPResponder(connection: self, sequence: sequence)
        slots.append(
            Slot(
                sequence: sequence, isHead: request.method == "HEAD", keepAlive: keepAlive,
                chunked: request.version != "HTTP/1.0", responder: responder))
        server.handler(request, responder)
    }

    /// Queues a last answer (an error) after everything pending, then closes.
    private func enqueueFinal(_ response: HTTPResponse) {
        slots.append(Slot(sequence: nextSequence, isHead: false, keepAlive: false, chunked: true, response: response))
        nextSequence += 1
        pump()
    }

    /// An answer from a responder, on any thread.
    func deliver(_ response: HTTPResponse, for sequence: UInt64) {
        if server.loop.inLoop {
            complete(sequence, response)
        } else {
            server.loop.execute { self.complete(sequence, response) }
        }
    }

    private func complete(_ sequence: UInt64, _ response: HTTPResponse) {
        guard !closed, let index = slots[slotHead...].firstIndex(where: { $0.sequence == sequence }) else { return }
        slots[index].response = response
        slots[index].responder = nil
        if index == slotHead {
            pump()
            settle()
        }
    }

    // MARK: Writing

    /// Serialises every answer that is ready at the front, in order, and sends what it can.
    private func pump() {
        while !closed, streaming == nil, slotHead < slots.count, let response = slots[slotHead].response {
            let slot = slots[slotHead]
            let keepAlive = slot.keepAlive && !server.stopping && !peerClosed
            if output.isEmpty { sendingSince = EventLoop.now() }
            switch response.body {
            case .bytes(let bytes):
                output.append(response.head(keepAlive: keepAlive))
                if !slot.isHead { output.append(bytes) }
                popSlot()
                if !keepAlive { finishAfterThis() }
            case .stream(let stream):
                // HTTP/1.0 has no chunked coding: the stream ends when the connection closes.
                let chunked = slot.chunked
                if stream.isClosed, !slot.isHead {
                    // Closed by its producer before it was sent: it has nothing to say and can
                    // never end cleanly. Answers before it still go out; then the connection ends.
                    popSlot()
                    finishAfterThis()
                    continue
                }
                output.append(response.head(keepAlive: keepAlive && chunked, chunked: chunked))
                if slot.isHead {
                    stream.close()
                    popSlot()
                    if !keepAlive || !chunked { finishAfterThis() }
                } else {
                    streaming = stream
                    streamChunked = chunked
                    if !keepAlive || !chunked { lastRequestSeen = true }
                    // Closed in the meantime: the head is out but the body cannot follow; what
                    // came before still goes out, then the connection ends.
                    if !stream.attach(self, limit: server.limits.outputBuffer) {
                        streaming = nil
                        popSlot()
                        finishAfterThis()
                    }
                }
            }
        }
        flush()
    }

    private func popSlot() {
        slots[slotHead] = Slot(sequence: 0, isHead: false, keepAlive: false, chunked: false)
        slotHead += 1
        if slotHead == slots.count {
            slots.removeAll(keepingCapacity: true)
            slotHead = 0
        } else if slotHead > 64, slotHead * 2 > slots.count {
            slots.removeSubrange(0..<slotHead)
            slotHead = 0
        }
    }

    /// The answer just queued is the connection's last: stop reading, close once it is sent.
    private func finishAfterThis() {
        moreRequests = false
        closeWhenSent = true
        abandonSlots()
    }

    /// Cancels every request still waiting, and closes any stream already answered for one
    /// (its producer must stop, and nothing will ever send it).
    private func abandonSlots() {
        let waiting = slots[slotHead...]
        slots = []
        slotHead = 0
        for slot in waiting {
            slot.responder?.cancel()
            if case .stream(let stream) = slot.response?.body { stream.close() }
        }
    }

    func streamHasData() {
        if server.loop.inLoop {
            drainStream()
        } else {
            server.loop.execute { self.drainStream() }
        }
    }

    private func drainStream() {
        guard !closed, let stream = streaming else { return }
        let (bytes, finished, streamClosed, overflowed) = stream.pull()
        if streamClosed {
            // Closed mid-body (the producer gave up, or it overflowed): the framing cannot end
            // cleanly, so neither can the connection.
            if overflowed { server.dropped(slowReader: true) }
            close()
            return
        }
        if output.isEmpty { sendingSince = EventLoop.now() }
        if !bytes.isEmpty { appendBody(bytes) }
        if finished {
            if streamChunked { output.append([0x30, 0x0D, 0x0A, 0x0D, 0x0A]) }  // "0\r\n\r\n"
            streaming = nil
            let keepAlive = slots[slotHead].keepAlive && streamChunked && !server.stopping && !peerClosed
            popSlot()
            if !keepAlive { finishAfterThis() }
            pump()
        } else {
            flush()
        }
        settle()
    }

    private func appendBody(_ bytes: [UInt8]) {
        if streamChunked {
            output.append(Array(String(bytes.count, radix: 16).utf8))
            output.append([0x0D, 0x0A])
            output.append(bytes)
            output.append([0x0D, 0x0A])
        } else {
            output.append(bytes)
        }
    }

    private func flush() {
        guard !closed else { return }
        let before = output.pending
        let outcome = output.send(to: fd)
        if output.pending < before { lastWrite = EventLoop.now() }
        switch outcome {
        case .failed:
            close()
            return
        case .blocked:
            writing = true
        case .drained:
            writing = false
            if closeWhenSent, !lingering { return finishConnection() }
        }
        if !closed, output.pending > server.limits.outputBuffer {
            // The client does not read: drop it rather than buffer without bound.
            server.dropped(slowReader: true)
            close()
        }
    }

    /// Ends a connection whose last answer went out. Unless the client already closed its side,
    /// ours is shut first and what the client still sends is read and dropped (there may be
    /// bytes in the kernel nobody read: closing over them would reset the connection and could
    /// destroy the answer before the client read it).
    private func finishConnection() {
        guard !closed else { return }
        if peerClosed { return close() }
        if !lingering { startLingering() }
    }

    private func startLingering() {
        lingering = true
        Glibc.shutdown(fd, Int32(SHUT_WR))
        phaseSince = EventLoop.now()
        settle()
    }

    /// Reads and drops what the client still sends after an error answer, up to a bound.
    private func discardInput() {
        for _ in 0..<16 {
            let count = server.scratch.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { return }
            guard count > 0 else { break }
        }
        close()
    }

    // MARK: Deadlines

    /// The earliest deadline that applies now, and what happens when it passes.
    private func deadline() -> (at: UInt64, Expiry)? {
        let limits = server.limits
        if lingering { return (phaseSince &+ 1_000_000_000, .idle) }
        var best: (at: UInt64, Expiry)?
        func consider(_ at: UInt64, _ expiry: Expiry) {
            if best.map({ at < $0.at }) ?? true { best = (at, expiry) }
        }
        if !output.isEmpty { consider(sendingSince &+ limits.sendTimeout.nanoseconds, .send) }
        // While paused (or past the last request) the server is the one not reading: no read
        // deadline runs.
        if moreRequests, !lastRequestSeen, !paused, !continuePending {
            switch parser.phase {
            case .head: consider(phaseSince &+ headTimeout.nanoseconds, .read)
            case .body: consider(phaseSince &+ bodyTimeout.nanoseconds, .read)
            case .idle:
                if pendingSlots == 0, output.isEmpty {
                    // Before a connection's first request the head deadline applies, not the
                    // idle one: an idle socket that never spoke is the cheapest way to hold a slot.
                    let timeout = served == 0 ? headTimeout : limits.idleTimeout
                    consider(max(phaseSince, lastWrite) &+ timeout.nanoseconds, .idle)
                }
            }
        }
        // Keep-alive comments only on a quiet stream whose client reads: with bytes waiting,
        // the send deadline is what applies, and a comment must not postpone it.
        if let stream = streaming, let interval = stream.keepAlive, output.isEmpty {
            consider(max(lastWrite, sendingSince) &+ interval.nanoseconds, .keepAlive)
        }
        return best
    }

    private enum Expiry {
        case read, idle, send, keepAlive
    }

    /// Brings epoll's interest set and the timer up to date with the connection's state.
    private func settle() {
        guard !closed else { return }
        if paused, pendingSlots < server.limits.pipelineDepth, !processing {
            paused = false
            // The client was not the one waiting: a request partly read before the pause gets
            // its head (or body) deadline from now.
            phase = parser.phase
            phaseSince = EventLoop.now()
            processInput()
            guard !closed else { return }
        }
        sendContinueIfDue()
        guard !closed else { return }
        // Nothing more can happen: no request may come, none is waiting, nothing is unsent.
        if !moreRequests || lastRequestSeen, pendingSlots == 0, streaming == nil, output.isEmpty, !lingering {
            return finishConnection()
        }
        let wanted = events
        if wanted != watching {
            watching = wanted
            server.loop.modify(fd: fd, events: wanted, token: token)
        }
        rearm()
    }

    /// Keeps one loop timer at (or before) the current deadline. A later deadline does not
    /// re-arm: the earlier timer fires, finds nothing due, and arms for the new one, so a busy
    /// keep-alive connection costs no timer work per request.
    private func rearm() {
        guard let (at, _) = deadline() else { return }
        if let timer, timer.deadline <= at { return }
        if let timer { server.loop.cancel(timer.id) }
        let id = server.loop.schedule(at: at) { [weak self] in self?.timerFired() }
        timer = (at, id)
    }

    private func timerFired() {
        timer = nil
        guard !closed else { return }
        let now = EventLoop.now()
        if let (at, expiry) = deadline(), at <= now {
            switch expiry {
            case .keepAlive:
                sendingSince = now
                appendBody(ServerConnection.keepAliveComment)
                flush()
            case .read:
                server.dropped(slowReader: false)
                if pendingSlots == 0, output.isEmpty {
                    // The 408 has its own send deadline; past it the connection is simply
                    // closed. What the client sent of its request is read and dropped after it.
                    moreRequests = false
                    enqueueFinal(HTTPResponse.text(408, "request timeout\n"))
                    settle()
                    return
                }
                close()
                return
            case .idle, .send:
                if expiry == .send { server.dropped(slowReader: true) }
                close()
                return
            }
        }
        settle()
    }

    // MARK: Closing

    /// Closes at once: unanswered requests are cancelled, a stream being sent is closed.
    func close() {
        guard !closed else { return }
        closed = true
        if let timer { server.loop.cancel(timer.id) }
        timer = nil
        server.loop.deregister(fd: fd, token: token)
        Glibc.close(fd)
        output = OutputBuffer()
        abandonSlots()
        streaming?.close()
        streaming = nil
        server.connectionClosed(self)
    }

    /// Called when the server stops: an idle connection closes now, a busy one after its
    /// current answers (streams are closed: they would never end by themselves).
    func stopGracefully() {
        if let stream = streaming {
            stream.close()
            return
        }
        if isIdle {
            close()
        } else {
            moreRequests = false
            settle()
        }
    }
}
