import CSystem
import Dispatch
import Foundation
import Glibc
import Synchronization

/// Why the server could not start.
public struct HTTPServerError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
}

/// A small, strict HTTP/1.1 server: keep-alive and pipelining, the limits of `HTTPLimits`, a
/// clean 4xx (then close) for anything malformed, and a bounded number of connections.
///
/// Each connection is served by one thread of its own doing blocking socket I/O with timeouts
/// (`SO_RCVTIMEO`, `SO_SNDTIMEO`), never by the Swift concurrency pool, which a slow client
/// would otherwise block. The handler is async; requests on one connection are answered in
/// order. Knows nothing of MCP.
public final class HTTPServer: Sendable {
    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse

    private struct State {
        var connections: [Int32: Bool] = [:]  // fd → busy (mid-request or responding)
        var stopping = false
    }

    /// The bound port (useful when asked for port 0).
    public let port: Int
    public let host: String
    private let listener: Int32
    private let limits: HTTPLimits
    private let handler: Handler
    private let state = Mutex(State())
    private let drained = DispatchGroup()

    /// Binds and listens on `host:port` (an IPv4 or IPv6 literal; `localhost` means 127.0.0.1).
    public init(host: String, port: Int, limits: HTTPLimits = HTTPLimits(), handler: @escaping Handler) throws(HTTPServerError) {
        self.limits = limits
        self.handler = handler
        self.host = host
        let literal = host == "localhost" ? "127.0.0.1" : host
        let (fd, bound) = try HTTPServer.listen(host: literal, port: port)
        listener = fd
        self.port = bound
    }

    /// Starts accepting on a dedicated thread.
    public func start() {
        let thread = Thread { [self] in
            omni_name_thread("omni-http")
            acceptLoop()
        }
        thread.start()
    }

    /// Stops accepting, lets requests in progress finish (at most `grace`), closes the rest.
    public func stop(grace: Duration = .seconds(5)) async {
        let idle: [Int32] = state.withLock { state in
            state.stopping = true
            return state.connections.filter { !$0.value }.map(\.key)
        }
        // shutdown() wakes the blocked accept(2) and the idle connections' recv(2).
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        for fd in idle { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
        let group = drained
        let seconds = Double(grace.components.seconds) + Double(grace.components.attoseconds) / 1e18
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            Thread.detachNewThread {
                _ = group.wait(timeout: .now() + seconds)
                continuation.resume()
            }
        }
        let left = state.withLock { Array($0.connections.keys) }
        for fd in left { Glibc.shutdown(fd, Int32(SHUT_RDWR)) }
    }

    private func acceptLoop() {
        while true {
            // accept4 is not in Swift's Glibc module; the close-on-exec flag is set right after.
            // A fork in between is harmless: the spawn shim closes every descriptor above 2.
            let fd = accept(listener, nil, nil)
            if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
            if fd < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                if state.withLock({ $0.stopping }) { break }
                if errno == EMFILE || errno == ENFILE {
                    // Out of descriptors: back off instead of spinning.
                    usleep(50_000)
                    continue
                }
                continue
            }
            let admitted = state.withLock { state -> Bool in
                guard !state.stopping, state.connections.count < limits.connections else { return false }
                state.connections[fd] = false
                return true
            }
            guard admitted else {
                let busy = HTTPResponse.text(503, "too many connections\n")
                _ = HTTPConnection.writeAll(fd, busy.head(keepAlive: false) + bodyBytes(busy))
                close(fd)
                continue
            }
            drained.enter()
            // A thread of its own, not a GCD worker: the connection blocks in recv(2), and GCD
            // adds workers beyond its pool only about once a second when all are blocked.
            Thread.detachNewThread { [self] in
                omni_name_thread("omni-http-conn")
                HTTPConnection(fd: fd, limits: limits, handler: handler) { busy in
                    self.state.withLock { state in
                        state.connections[fd] = busy
                        return !state.stopping || busy
                    }
                }.serve()
                state.withLock { _ = $0.connections.removeValue(forKey: fd) }
                close(fd)
                drained.leave()
            }
        }
        close(listener)
    }

    private func bodyBytes(_ response: HTTPResponse) -> [UInt8] {
        if case .bytes(let bytes) = response.body { return bytes }
        return []
    }

    private static func listen(host: String, port: Int) throws(HTTPServerError) -> (Int32, Int) {
        var v4 = in_addr()
        var v6 = in6_addr()
        let isV4 = inet_pton(AF_INET, host, &v4) == 1
        guard isV4 || inet_pton(AF_INET6, host, &v6) == 1 else {
            throw HTTPServerError(description: "listen address \(host) is not an IP address")
        }
        guard (0...65535).contains(port) else { throw HTTPServerError(description: "port \(port) is out of range") }
        let fd = socket(isV4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
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
        guard result == 0, Glibc.listen(fd, 128) == 0 else {
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
