import CSystem
import Glibc
import Synchronization

/// Why the server could not start.
public struct HTTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// A small, strict HTTP/1.1 server on an event loop: no thread per connection, so thousands of
/// idle, slow or streaming clients cost memory, not threads. Knows nothing of MCP.
///
/// - Keep-alive and pipelining: requests on one connection may be handled at once, and their
///   answers are sent in request order; at most `pipelineDepth` are read ahead.
/// - Every phase of a connection has a deadline (`HTTPLimits`), and anything malformed gets a
///   precise 4xx/5xx and the connection is closed.
/// - Caps on connections in total and per peer; beyond them a small reserve still answers the
///   `alwaysServe` paths (health probes), and everything else gets 503.
/// - On a loopback listener only loopback `Host` names (and `hostNames`) are answered (421
///   otherwise): DNS rebinding protection.
/// - Streamed bodies (`HTTPStream`, Server-Sent Events) are sent as they are written; a client
///   that does not read is dropped once `outputBuffer` bytes wait for it.
///
/// The handler runs on the loop thread and must not block: it answers through the
/// `HTTPResponder` at once or later from any thread. The `async` initialiser runs an async
/// handler as a task per request instead.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest, HTTPResponder) -> Void

    /// What the server has done so far (for metrics).
    public struct Stats: Sendable, Hashable {
        public var open: Int
        public var accepted: Int
        public var refused: Int
        public var timeouts: Int
        public var slowReaders: Int
        public var evicted: Int
    }

    /// The bound port (useful when asked for port 0).
    public let port: Int
    public let host: String
    private let core: ServerCore

    /// Binds and listens on `host:port` (an IPv4 or IPv6 literal; `localhost` means 127.0.0.1).
    public init(
        host: String, port: Int, limits: HTTPLimits = HTTPLimits(), loop: EventLoop = .shared, hostNames: [String] = [],
        alwaysServe: Set<String> = [], handler: @escaping Handler
    ) throws(HTTPServerError) {
        self.host = host
        let literal = host == "localhost" ? "127.0.0.1" : host
        let (fd, bound) = try HTTPServer.listen(host: literal, port: port)
        self.port = bound
        core = ServerCore(
            listener: fd, loop: loop, limits: limits, hosts: HostPolicy(listenHost: literal, extraNames: hostNames),
            alwaysServe: alwaysServe, handler: handler)
    }

    /// An async handler: each request runs as a task of its own; if the client goes away first,
    /// the task is cancelled.
    public convenience init(
        host: String, port: Int, limits: HTTPLimits = HTTPLimits(), loop: EventLoop = .shared, hostNames: [String] = [],
        alwaysServe: Set<String> = [], handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse
    ) throws(HTTPServerError) {
        try self.init(host: host, port: port, limits: limits, loop: loop, hostNames: hostNames, alwaysServe: alwaysServe) {
            request, responder in
            let task = Task { responder.respond(await handler(request)) }
            responder.onCancel { task.cancel() }
        }
    }

    /// Starts accepting (on the loop thread).
    public func start() {
        let core = core
        core.loop.execute { core.start() }
    }

    /// Stops accepting, lets answers in progress finish (at most `grace`; streams are closed at
    /// once), then closes what is left.
    public func stop(grace: Duration = .seconds(5)) async {
        let core = core
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            core.loop.execute { core.stop(forceAfter: grace) { continuation.resume() } }
        }
    }

    public var stats: Stats {
        Stats(
            open: core.counters.accepted.load(ordering: .relaxed) - closedCount, accepted: core.counters.accepted.load(ordering: .relaxed),
            refused: core.counters.refused.load(ordering: .relaxed), timeouts: core.counters.timeouts.load(ordering: .relaxed),
            slowReaders: core.counters.slowReaders.load(ordering: .relaxed), evicted: core.counters.evicted.load(ordering: .relaxed))
    }

    private var closedCount: Int { core.counters.closed.load(ordering: .relaxed) }

    private static func listen(host: String, port: Int) throws(HTTPServerError) -> (Int32, Int) {
        var v4 = in_addr()
        var v6 = in6_addr()
        let isV4 = inet_pton(AF_INET, host, &v4) == 1
        guard isV4 || inet_pton(AF_INET6, host, &v6) == 1 else {
            throw HTTPServerError(description: "listen address \(host) is not an IP address")
        }
        guard (0...65535).contains(port) else { throw HTTPServerError(description: "port \(port) is out of range") }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)
        let fd = socket(isV4 ? AF_INET : AF_INET6, type, 0)
        guard fd >= 0 else { throw HTTPServerError(description: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let result: Int32
        if isV4 {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr = v4
            result = bind(fd, address)
        } else {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = in_port_t(UInt16(port).bigEndian)
            address.sin6_addr = v6
            result = bind(fd, address)
        }
        // A deep backlog: thousands of clients may connect in the same instant, and the loop
        // accepts them in batches.
        guard result == 0, Glibc.listen(fd, 4096) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw HTTPServerError(description: "cannot listen on \(host):\(port): \(reason)")
        }
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return (fd, Int(UInt16(bigEndian: bound.sin6_port)))
    }

    /// bind(2) with any socket address struct.
    private static func bind<Address>(_ fd: Int32, _ address: Address) -> Int32 {
        var address = address
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<Address>.size)) }
        }
    }
}
