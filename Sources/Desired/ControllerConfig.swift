/// The controller's own settings after every layer and the environment were applied.
public struct ControllerConfig: Sendable, Hashable {
    public enum LogLevel: String, Sendable, Hashable, Comparable {
        case debug, info, warning, error

        private var rank: Int {
            switch self {
            case .debug: 0
            case .info: 1
            case .warning: 2
            case .error: 3
            }
        }

        public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rank < rhs.rank }
    }

    public var listen: ListenAddress
    public var tokensEnv: String
    /// Where `auth.tokens_env` was set: a user's file, or the built-in defaults.
    public var tokensEnvPosition: SourcePosition
    public var allowedOrigins: [String]
    public var logLevel: LogLevel
    public var auditPath: String
    public var auditMaxSize: Int64
    public var auditKeep: Int
    public var otelEnabled: Bool
    public var otelEndpoint: String
    public var otelServiceName: String
    public var debounce: Duration
    public var resync: Duration
    public var maxUnavailablePercent: Int
    /// `reconcile.spawn_rate`: process starts per second at most; 0 means no cap.
    public var spawnRate: Double
    /// `reconcile.start_window` as written; 0 means derived from the CPU count (`startWindow(cores:)`).
    public var startWindowSetting: Int
    /// `proxy:`: the egress proxy every server's outbound HTTP goes through.
    public var proxy: ProxySettings
    /// The merged `defaults:` node, laid under every manifest's policies.
    public var defaults: YAMLNode
    /// `features.<name>.enabled` after `OMNI_FEATURE_<NAME>` overrides, with where each value came from.
    public var features: [String: FeatureSwitch]

    /// Every `${VAR}` the config reads (for the `.env.example` rule), with where.
    public var variables: [Variable]

    public struct Variable: Sendable, Hashable {
        public var name: String
        public var position: SourcePosition
    }

    /// One server's switch and its origin (`config/development.yaml:4:14` or `OMNI_FEATURE_TIME`).
    public struct FeatureSwitch: Sendable, Hashable {
        public var enabled: Bool
        public var position: SourcePosition
    }

    /// Reads a config node that passed `ConfigSchema` validation and was merged over the
    /// built-in layer (so every key is present; the literals below only keep the init total).
    init(node: YAMLNode, environment: Environment) {
        func value(_ path: String...) -> YAMLNode? {
            path.reduce(Optional(node)) { $0?[$1] }
        }
        listen = value("listen")?.text.flatMap(ListenAddress.init) ?? ListenAddress.fallback
        tokensEnv = value("auth", "tokens_env")?.text ?? "OMNI_API_TOKENS"
        tokensEnvPosition = value("auth", "tokens_env")?.position ?? .origin(BuiltinConfig.file)
        allowedOrigins = value("auth", "allowed_origins")?.items?.compactMap(\.text) ?? []
        logLevel = value("log", "level")?.text.flatMap(LogLevel.init(rawValue:)) ?? .info
        auditPath = value("audit", "path")?.text.flatMap { Interpolation.parse($0).ok?.resolve(environment).ok } ?? "var/audit.ndjson"
        auditMaxSize = value("audit", "max_size")?.text.flatMap(ByteSize.parse) ?? 64 << 20
        auditKeep = value("audit", "keep")?.intValue ?? 5
        otelEnabled = value("otel", "enabled")?.boolValue ?? false
        otelEndpoint =
            value("otel", "endpoint")?.text.flatMap { Interpolation.parse($0).ok?.resolve(environment).ok } ?? "http://127.0.0.1:4318"
        otelServiceName = value("otel", "service_name")?.text ?? "omni-mcp"
        debounce = value("reconcile", "debounce")?.durationValue ?? .milliseconds(100)
        resync = value("reconcile", "resync")?.durationValue ?? .seconds(60)
        maxUnavailablePercent = value("reconcile", "max_unavailable")?.text.flatMap(Percent.parse) ?? 25
        spawnRate = value("reconcile", "spawn_rate")?.doubleValue ?? 0
        startWindowSetting = value("reconcile", "start_window")?.intValue ?? 0
        proxy = ProxySettings(node: value("proxy"))
        defaults = value("defaults") ?? YAMLNode.emptyMapping(at: .origin(BuiltinConfig.file))
        var features: [String: FeatureSwitch] = [:]
        for pair in value("features")?.pairs ?? [] {
            guard let enabled = pair.value["enabled"]?.boolValue, let at = pair.value["enabled"]?.position else { continue }
            features[pair.key] = FeatureSwitch(enabled: enabled, position: at)
        }
        self.features = features
        variables = ConfigLayers.variables(node).map { Variable(name: $0.name, position: $0.position) }
    }
}

extension ControllerConfig {
    /// How many processes may be starting at once: `reconcile.start_window`, or four per core
    /// (at least four) when it is 0. Starting is where a server costs CPU (a Python server
    /// spends about 0.8 s of it); a window paces starts by readiness, so cheap servers stream
    /// through and expensive ones do not starve each other or the controller.
    public func startWindow(cores: Int) -> Int {
        startWindowSetting > 0 ? startWindowSetting : max(4, 4 * cores)
    }
}

extension ListenAddress {
    static let fallback = ListenAddress(host: "127.0.0.1", port: 8765)

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

extension Result {
    /// The success value, or nil.
    var ok: Success? {
        if case .success(let value) = self { return value }
        return nil
    }
}
