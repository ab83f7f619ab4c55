import Dispatch
import Glibc
import Synchronization

/// Resolves host names for the proxy: an IP literal is itself, a name in the static map is its
/// address, anything else goes to `getaddrinfo` on a dispatch queue (never on the event loop),
/// at most `parallel` at once and `queued` more waiting; beyond that a lookup fails at once.
final class NameResolver: Sendable {
    private struct State {
        var running = 0
        var waiting: [@Sendable () -> Void] = []
        var hosts: [String: IPAddress] = [:]
    }

    private let state = Mutex(State())
    private let parallel: Int
    private let queued: Int
    private let queue = DispatchQueue(label: "omni-egress-resolve", attributes: .concurrent)

    init(parallel: Int = 4, queued: Int = 256) {
        self.parallel = parallel
        self.queued = queued
    }

    /// Replaces the static map (names already lower case).
    func setHosts(_ hosts: [String: IPAddress]) {
        state.withLock { $0.hosts = hosts }
    }

    /// The addresses of `host` without a lookup: a literal or a static entry; nil otherwise.
    func immediate(_ host: String) -> [IPAddress]? {
        if let literal = IPAddress(host) { return [literal] }
        return state.withLock { $0.hosts[host] }.map { [$0] }
    }

    /// Calls `done` (on a resolver thread) with the addresses of `host`, or an error text.
    func resolve(_ host: String, done: @escaping @Sendable (Result<[IPAddress], ResolveError>) -> Void) {
        if let found = immediate(host) {
            done(.success(found))
            return
        }
        let job: @Sendable () -> Void = { [self] in
            let result = NameResolver.lookup(host)
            done(result)
            finished()
        }
        enum Admission { case run, wait, refuse }
        let admission: Admission = state.withLock { state in
            if state.running < parallel {
                state.running += 1
                return .run
            }
            guard state.waiting.count < queued else { return .refuse }
            state.waiting.append(job)
            return .wait
        }
        switch admission {
        case .run: queue.async(execute: job)
        case .wait: break
        case .refuse: done(.failure(ResolveError("too many name lookups in flight")))
        }
    }

    private func finished() {
        let next: (@Sendable () -> Void)? = state.withLock { state in
            guard !state.waiting.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiting.removeFirst()
        }
        if let next { queue.async(execute: next) }
    }

    /// Blocking `getaddrinfo` for TCP, IPv4 and IPv6, at most 16 addresses, in the order given.
    static func lookup(_ host: String) -> Result<[IPAddress], ResolveError> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, nil, &hints, &list)
        guard status == 0 else { return .failure(ResolveError(String(cString: gai_strerror(status)))) }
        defer { freeaddrinfo(list) }
        var found: [IPAddress] = []
        var cursor = list
        while let entry = cursor?.pointee, found.count < 16 {
            cursor = entry.ai_next
            guard let address = entry.ai_addr else { continue }
            var ip: IPAddress?
            if entry.ai_family == AF_INET {
                ip = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin_addr
                    return IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) })
                }
            } else if entry.ai_family == AF_INET6 {
                ip = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                    var raw = pointer.pointee.sin6_addr
                    return IPAddress(bytes: withUnsafeBytes(of: &raw) { Array($0) })
                }
            }
            if let ip, !found.contains(ip) { found.append(ip) }
        }
        return found.isEmpty ? .failure(ResolveError("no address")) : .success(found)
    }
}

/// Why a name did not resolve.
struct ResolveError: Error, Sendable, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
