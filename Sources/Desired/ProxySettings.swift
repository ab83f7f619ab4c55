/// The egress proxy's settings: config key `proxy:` (the manifest's `egress:` is a server's
/// allow-list; this is the controller's proxy that enforces it).
public struct ProxySettings: Sendable, Hashable {
    /// Where the proxy listens; port 0 picks a free one at start. 127.0.0.1 only (enforced at start).
    public var listen: ListenAddress
    /// A tunnel or request with no byte moving either way for this long is closed.
    public var idleTimeout: Duration
    /// No tunnel or request lives longer than this, busy or not.
    public var totalTimeout: Duration
    /// From accepting a connection to a connected upstream: head, name resolution and connect.
    public var connectTimeout: Duration
    /// Tunnels (and forwarded requests) open at once per server; more are answered 429.
    public var maxTunnels: Int
    /// Static name resolution consulted before DNS (like curl's `--resolve` or Docker's
    /// `extra_hosts`): lower-case host name → IPv4 or IPv6 address text. Invalid addresses
    /// are reported when the proxy is configured and never used.
    public var hosts: [String: String]

    public init(
        listen: ListenAddress = ListenAddress(host: "127.0.0.1", port: 0), idleTimeout: Duration = .seconds(60),
        totalTimeout: Duration = .seconds(600), connectTimeout: Duration = .seconds(10), maxTunnels: Int = 32,
        hosts: [String: String] = [:]
    ) {
        self.listen = listen
        self.idleTimeout = idleTimeout
        self.totalTimeout = totalTimeout
        self.connectTimeout = connectTimeout
        self.maxTunnels = maxTunnels
        self.hosts = hosts
    }

    /// Reads the merged `proxy:` node (every key is present: the built-in layer has them all).
    init(node: YAMLNode?) {
        let standard = ProxySettings()
        listen = node?["listen"]?.text.flatMap(ListenAddress.init) ?? standard.listen
        idleTimeout = node?["idle_timeout"]?.durationValue ?? standard.idleTimeout
        totalTimeout = node?["total_timeout"]?.durationValue ?? standard.totalTimeout
        connectTimeout = node?["connect_timeout"]?.durationValue ?? standard.connectTimeout
        maxTunnels = node?["max_tunnels"]?.intValue ?? standard.maxTunnels
        var hosts: [String: String] = [:]
        for pair in node?["hosts"]?.pairs ?? [] {
            if let address = pair.value.text { hosts[pair.key.lowercased()] = address }
        }
        self.hosts = hosts
    }
}
