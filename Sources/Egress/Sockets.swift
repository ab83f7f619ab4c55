import Glibc

/// The few socket calls the proxy makes, on `IPAddress`es.
enum Sockets {
    /// A non-blocking, close-on-exec listening socket on `address:port`; the descriptor and the
    /// port it got, or the error text.
    static func listen(on address: IPAddress, port: UInt16) -> Result<(fd: Int32, port: UInt16), SocketError> {
        let fd = socket(address.isV4 ? AF_INET : AF_INET6, stream, 0)
        guard fd >= 0 else { return .failure(SocketError("socket")) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withSocketAddress(address, port: port) { Glibc.bind(fd, $0, $1) }
        guard bound == 0, Glibc.listen(fd, 1024) == 0 else {
            let error = SocketError("cannot listen on \(address):\(port)")
            close(fd)
            return .failure(error)
        }
        return .success((fd, localPort(fd)))
    }

    /// The local port of a bound socket (0 when unknown).
    static func localPort(_ fd: Int32) -> UInt16 {
        var bound = sockaddr_in6()
        var length = socklen_t(MemoryLayout<sockaddr_in6>.size)
        let status = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        // sin_port and sin6_port sit at the same offset.
        return status == 0 ? UInt16(bigEndian: bound.sin6_port) : 0
    }

    /// Starts a non-blocking connect: the descriptor and whether it is connected already
    /// (false: wait for it to become writable, then `pendingError`).
    static func connect(to address: IPAddress, port: UInt16) -> Result<(fd: Int32, connected: Bool), SocketError> {
        let fd = socket(address.isV4 ? AF_INET : AF_INET6, stream, 0)
        guard fd >= 0 else { return .failure(SocketError("socket")) }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let status = withSocketAddress(address, port: port) { Glibc.connect(fd, $0, $1) }
        if status == 0 { return .success((fd, true)) }
        if errno == EINPROGRESS { return .success((fd, false)) }
        let error = SocketError("connect to \(address):\(port)")
        close(fd)
        return .failure(error)
    }

    /// The outcome of a non-blocking connect once the socket is writable: nil when connected.
    static func pendingError(_ fd: Int32) -> String? {
        var code: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &length) == 0 else { return String(cString: strerror(errno)) }
        return code == 0 ? nil : String(cString: strerror(code))
    }

    private static let stream = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue)

    private static func withSocketAddress<T>(
        _ address: IPAddress, port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T
    ) -> T {
        if address.isV4 {
            var socketAddress = sockaddr_in()
            socketAddress.sin_family = sa_family_t(AF_INET)
            socketAddress.sin_port = in_port_t(port.bigEndian)
            withUnsafeMutableBytes(of: &socketAddress.sin_addr) { $0.copyBytes(from: address.bytes) }
            return withUnsafePointer(to: &socketAddress) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        var socketAddress = sockaddr_in6()
        socketAddress.sin6_family = sa_family_t(AF_INET6)
        socketAddress.sin6_port = in_port_t(port.bigEndian)
        withUnsafeMutableBytes(of: &socketAddress.sin6_addr) { $0.copyBytes(from: address.bytes) }
        return withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
        }
    }
}

/// A socket call that failed, with `strerror` of the errno it left.
struct SocketError: Error, Sendable, CustomStringConvertible {
    let description: String

    init(_ what: String) {
        description = "\(what): \(String(cString: strerror(errno)))"
    }
}
