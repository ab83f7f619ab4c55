import Glibc
import Synchronization

/// Why a client request did not complete.
public enum HTTPClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The name did not resolve, or the connection was refused or failed.
    case connect(String)
    /// The deadline passed first (the connection is closed).
    case timedOut
    /// Cancelled by the caller (the connection is closed).
    case cancelled
    /// The server closed the connection or it broke before the response ended.
    case closed(String)
    /// The response broke HTTP/1.1 (or a limit): the connection is closed.
    case protocolViolation(HTTPParseError)
    /// The request itself cannot be sent (a control character in a header, say).
    case invalidRequest(String)
    /// A `fetch` body larger than the limit.
    case bodyTooLarge(Int)

    public var description: String {
        switch self {
        case .connect(let why): "cannot connect: \(why)"
        case .timedOut: "timed out"
        case .cancelled: "cancelled"
        case .closed(let why): "connection closed: \(why)"
        case .protocolViolation(let error): "invalid response: \(error)"
        case .invalidRequest(let why): "invalid request: \(why)"
        case .bodyTooLarge(let limit): "response body larger than \(limit) bytes"
        }
    }
}

/// Where a request goes: a host (name or IP literal) and a port, plain HTTP.
public struct HTTPOrigin: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 literal: the `Host` header's value.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// What a request's response does as it arrives. Called on the event loop thread, in order:
/// `head` once, `body` for each piece, then `end` exactly once (with nil when the response
/// ended normally). They must not block.
public struct HTTPResponseHandlers: Sendable {
    public var head: @Sendable (HTTPResponseHead) -> Void
    public var body: @Sendable ([UInt8]) -> Void
    public var end: @Sendable (HTTPClientError?) -> Void

    public init(
        head: @escaping @Sendable (HTTPResponseHead) -> Void, body: @escaping @Sendable ([UInt8]) -> Void,
        end: @escaping @Sendable (HTTPClientError?) -> Void
    ) {
        self.head = head
        self.body = body
        self.end = end
    }
}

/// A request in flight, to cancel.
public final class HTTPClientCall: Sendable {
    private struct State {
        var action: (@Sendable () -> Void)?
        var cancelled = false
    }

    // One lock for both: a cancel and the hand-over of its action may race, and neither order
    // may lose the cancel.
    private let state = Mutex(State())

    init() {}

    /// Abandons the request: its `end` runs with `.cancelled` (unless it already ended) and its
    /// connection is closed (the only way to stop a response in HTTP/1.1).
    public func cancel() {
        let action = state.withLock { state in
            state.cancelled = true
            return state.action
        }
        action?()
    }

    func onCancel(_ action: @escaping @Sendable () -> Void) {
        let cancelled = state.withLock { state in
            state.action = action
            return state.cancelled
        }
        if cancelled { action() }
    }
}

/// An HTTP/1.1 client on the event loop: keep-alive connections pooled per origin, a deadline
/// per request, responses streamed as they arrive (Server-Sent Events included) and bounded by
/// `HTTPClientLimits`. Plain HTTP only (the product's `transport: http` servers on this host or
/// its network); no TLS.
///
/// One request per connection at a time (no pipelining: a slow response would hold up the
/// others); a connection returns to the pool when its response ended cleanly, the whole request
/// was sent and both sides keep it alive, and leaves it when the server closes it or it idles
/// past `idleTimeout`. The default (4 s) is below the 5 s after which uvicorn and Node close an
/// idle connection, so a request rarely meets a connection the server is just closing (it is
/// not retried: a POST may not be sent twice).
public final class HTTPClient: Sendable {
    private let settings: ClientSettings
    private var loop: EventLoop { settings.loop }
    private let pool: ClientPool
    private let addresses = Mutex<[HTTPOrigin: ResolvedAddress]>([:])

    public init(
        loop: EventLoop = .shared, limits: HTTPClientLimits = HTTPClientLimits(), idleTimeout: Duration = .seconds(4),
        maxIdlePerOrigin: Int = 8
    ) {
        settings = ClientSettings(loop: loop, limits: limits, idleTimeout: idleTimeout, maxIdlePerOrigin: maxIdlePerOrigin)
        pool = ClientPool()
    }

    deinit {
        let pool = pool
        settings.loop.execute { pool.closeAll() }
    }

    /// Sends `request` to `origin`; the response arrives through `handlers`. `timeout` covers the
    /// whole exchange, from connecting to the response's end.
    @discardableResult
    public func send(
        _ request: HTTPClientRequest, to origin: HTTPOrigin, timeout: Duration, handlers: HTTPResponseHandlers
    ) -> HTTPClientCall {
        let call = HTTPClientCall()
        let bytes: [UInt8]
        do {
            bytes = try request.serialized(host: origin.description)
        } catch {
            let failure = HTTPClientError.invalidRequest(error.message)
            loop.execute { handlers.end(failure) }
            return call
        }
        let address: ResolvedAddress
        do {
            address = try resolve(origin)
        } catch {
            loop.execute { handlers.end(error) }
            return call
        }
        let exchange = ClientExchange(
            method: request.method, bytes: bytes, handlers: handlers, deadline: EventLoop.now() &+ timeout.nanoseconds)
        let pool = pool
        let settings = settings
        loop.execute { pool.start(exchange, origin: origin, address: address, settings: settings) }
        call.onCancel { [loop] in loop.execute { exchange.fail(.cancelled) } }
        return call
    }

    /// The whole response: its head and its body (at most `maxBody` bytes).
    public func fetch(
        _ request: HTTPClientRequest, to origin: HTTPOrigin, timeout: Duration, maxBody: Int = 16 << 20
    ) async throws(HTTPClientError) -> (head: HTTPResponseHead, body: [UInt8]) {
        final class Collected: Sendable {
            let state = Mutex<(head: HTTPResponseHead?, body: [UInt8], tooLarge: Bool)>((nil, [], false))
        }
        let collected = Collected()
        let result: Result<(head: HTTPResponseHead, body: [UInt8]), HTTPClientError> = await withCheckedContinuation {
            continuation in
            let call = HTTPClientCall()
            let handlers = HTTPResponseHandlers(
                head: { head in collected.state.withLock { $0.head = head } },
                body: { bytes in
                    let over = collected.state.withLock { state -> Bool in
                        guard state.body.count + bytes.count <= maxBody else {
                            state.tooLarge = true
                            return true
                        }
                        state.body += bytes
                        return false
                    }
                    if over { call.cancel() }
                },
                end: { error in
                    let (head, body, tooLarge) = collected.state.withLock { ($0.head, $0.body, $0.tooLarge) }
                    if tooLarge {
                        continuation.resume(returning: .failure(.bodyTooLarge(maxBody)))
                    } else if let error {
                        continuation.resume(returning: .failure(error))
                    } else if let head {
                        continuation.resume(returning: .success((head, body)))
                    } else {
                        continuation.resume(returning: .failure(.closed("no response")))
                    }
                })
            let sent = send(request, to: origin, timeout: timeout, handlers: handlers)
            call.onCancel { sent.cancel() }
        }
        return try result.get()
    }

    /// Idle connections in the pool (for tests and metrics).
    public var idleConnections: Int { pool.idleCount.load(ordering: .relaxed) }

    /// Resolves a name once and keeps the answer for a minute; IP literals need no look-up.
    private func resolve(_ origin: HTTPOrigin) throws(HTTPClientError) -> ResolvedAddress {
        let now = EventLoop.now()
        if let known = addresses.withLock({ $0[origin] }), known.expires > now { return known }
        guard let address = ResolvedAddress(host: origin.host, port: origin.port, expires: now &+ 60_000_000_000) else {
            throw .connect("cannot resolve \(origin.host)")
        }
        addresses.withLock { $0[origin] = address }
        return address
    }
}

/// A socket address for `connect(2)`, resolved with getaddrinfo (on the caller's thread: a
/// look-up may block, the loop must not).
struct ResolvedAddress: Sendable {
    let family: Int32
    let bytes: [UInt8]
    let expires: UInt64

    init?(host: String, port: Int, expires: UInt64) {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let first = list else { return nil }
        defer { freeaddrinfo(list) }
        // The first IPv4 answer if there is one (`localhost` may list ::1 first while a server
        // listens on 127.0.0.1 only), else the first answer.
        var chosen = first
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            if entry.pointee.ai_family == AF_INET {
                chosen = entry
                break
            }
            cursor = entry.pointee.ai_next
        }
        guard let address = chosen.pointee.ai_addr else { return nil }
        family = chosen.pointee.ai_family
        bytes = Array(UnsafeRawBufferPointer(start: address, count: Int(chosen.pointee.ai_addrlen)))
        self.expires = expires
    }
}
