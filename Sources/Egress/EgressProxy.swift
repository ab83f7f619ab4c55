import Actual
import Desired
import Foundation
import Glibc
import HTTP
import Synchronization

/// The egress forward proxy (proxy mode): HTTP `CONNECT` tunnels and absolute-form HTTP
/// requests from the servers the controller runs, on 127.0.0.1, each checked against the
/// requesting server's current `egress:` list.
///
/// - Every instance gets its own credentials (`admit`): user = server name, password = a random
///   token; a request without them is answered 407.
/// - The host must match an entry (exact, `*.suffix`, optional `:port`; without a port, 80 and
///   443). The proxy resolves the name itself (static `proxy.hosts` first, then DNS off the
///   loop) and connects only to an address it checked: outside the internal ranges, or named
///   literally by an entry. A refusal is a 403 and an `EgressEvent.denied`.
/// - Idle and total timeouts per tunnel, a connect deadline, and at most `maxTunnels` open
///   tunnels per server (429 beyond).
/// - Absolute-form requests are forwarded one per connection (`Connection: close` upstream).
public final class EgressProxy: EgressBroker, Sendable {
    public let port: UInt16
    private let registry: ProxyRegistry
    private let resolver: NameResolver
    private let core: ProxyCore
    private let loop: EventLoop
    private let settings: ProxySettings

    /// Listens on `settings.listen` (loopback only). `onEvent` is called on the proxy's loop
    /// thread (or a resolver thread): it must not block.
    public init(
        settings: ProxySettings, loop: EventLoop = EventLoop(name: "omni-egress"), maxConnections: Int = 4096,
        onEvent: @escaping @Sendable (EgressEvent) -> Void
    ) throws(EgressProxyError) {
        // 127.0.0.1 exactly: every child is told `127.0.0.1:<port>` (inside an isolated
        // server's namespace that is the only address there is), so a proxy on 127.0.0.2 would
        // send the children, with their credentials, to whatever else holds 127.0.0.1:<port>.
        guard let address = IPAddress(settings.listen.host), settings.listen.host == "127.0.0.1" else {
            throw EgressProxyError("the proxy listens on 127.0.0.1 only (children are told that address); not \(settings.listen.host)")
        }
        let bound: (fd: Int32, port: UInt16)
        switch Sockets.listen(on: address, port: UInt16(clamping: settings.listen.port)) {
        case .failure(let error): throw EgressProxyError(error.description)
        case .success(let value): bound = value
        }
        port = bound.port
        self.loop = loop
        self.settings = settings
        registry = ProxyRegistry(maxTunnels: settings.maxTunnels)
        resolver = NameResolver()
        core = ProxyCore(
            loop: loop, registry: registry, resolver: resolver, settings: settings, maxConnections: maxConnections, emit: onEvent)
        let core = core
        loop.execute { core.listen(bound.fd, for: nil) }
        _ = configureHosts(settings.hosts)
    }

    /// The proxy URL for credentials: `http://<server>:<token>@127.0.0.1:<port>`.
    public func url(user: String, token: String) -> String {
        "http://\(user):\(token)@127.0.0.1:\(port)"
    }

    // MARK: EgressBroker

    public func admit(_ instance: InstanceID) -> [String: String] {
        let proxy = url(user: instance.name, token: registry.admit(instance))
        // Loopback stays direct: a server talking to a sidecar on the same host needs no proxy
        // (and the proxy would refuse it unless listed).
        let direct = "localhost,127.0.0.1,::1"
        return [
            "HTTP_PROXY": proxy, "http_proxy": proxy, "HTTPS_PROXY": proxy, "https_proxy": proxy, "NO_PROXY": direct,
            "no_proxy": direct, "NODE_USE_ENV_PROXY": "1",
        ]
    }

    public func adopt(listener: Int32, for instance: InstanceID) {
        // Already released (the process ended first): nothing will release it again.
        guard registry.isAdmitted(instance) else {
            close(listener)
            return
        }
        // A release after this check queues behind this on the loop, and closes the listener.
        let core = core
        loop.execute { core.listen(listener, for: instance) }
    }

    public func release(_ instance: InstanceID) {
        registry.release(instance)
        let core = core
        loop.execute { core.release(instance) }
    }

    // MARK: Configuration and state

    /// Every server's current `egress:` list (by server name; a server left out may reach
    /// nothing). Takes effect for the next request, without restarting anything.
    public func configure(egress: [String: [String]]) {
        registry.configure(egress: egress, maxTunnels: settings.maxTunnels)
    }

    /// Replaces the static name map; returns the entries whose address is not an IP address
    /// (they are left out).
    public func configureHosts(_ hosts: [String: String]) -> [String] {
        var map: [String: IPAddress] = [:]
        var invalid: [String] = []
        for (name, text) in hosts {
            if let address = IPAddress(text), let host = EgressRule.normalise(name) {
                map[host] = address
            } else {
                invalid.append(name)
            }
        }
        resolver.setHosts(map)
        return invalid.sorted()
    }

    /// Counters per server since start.
    public func stats() -> [String: EgressStats] {
        registry.stats()
    }

    /// Stops listening and closes every connection.
    public func shutdown() {
        let core = core
        loop.execute { core.shutdown() }
    }
}

/// Why the proxy could not start.
public struct EgressProxyError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
