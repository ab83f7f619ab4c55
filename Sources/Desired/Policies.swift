import JSON

/// Per-server request guards, enforced by the gateway.
public struct Limits: Sendable, Hashable {
    public var rps: Double
    public var burst: Int
    public var concurrency: Int
    public var requestTimeout: Duration

    public init(rps: Double, burst: Int, concurrency: Int, requestTimeout: Duration) {
        self.rps = rps
        self.burst = burst
        self.concurrency = concurrency
        self.requestTimeout = requestTimeout
    }
}

/// How a server's health is probed.
public struct HealthPolicy: Sendable, Hashable {
    public var interval: Duration
    public var timeout: Duration
    public var failureThreshold: Int
    public var startupTimeout: Duration

    public init(interval: Duration, timeout: Duration, failureThreshold: Int, startupTimeout: Duration) {
        self.interval = interval
        self.timeout = timeout
        self.failureThreshold = failureThreshold
        self.startupTimeout = startupTimeout
    }
}

/// What happens when a server's process exits.
public struct RestartPolicy: Sendable, Hashable {
    public enum Mode: String, Sendable, Hashable {
        case always
        case onFailure = "on-failure"
        case never
    }

    public var mode: Mode
    public var backoff: [Duration]
    public var budget: Budget
    public var quarantine: Duration
    public var resetAfter: Duration

    public init(mode: Mode, backoff: [Duration], budget: Budget, quarantine: Duration, resetAfter: Duration) {
        self.mode = mode
        self.backoff = backoff
        self.budget = budget
        self.quarantine = quarantine
        self.resetAfter = resetAfter
    }
}

/// The three policies of a server, after `defaults:` were filled in.
public struct Policies: Sendable, Hashable {
    public var limits: Limits
    public var health: HealthPolicy
    public var restart: RestartPolicy

    /// DESIGN.md's default policy table; also the text of `BuiltinConfig`.
    public static let standard = Policies(
        limits: Limits(rps: 10, burst: 20, concurrency: 8, requestTimeout: .seconds(30)),
        health: HealthPolicy(interval: .seconds(15), timeout: .seconds(5), failureThreshold: 3, startupTimeout: .seconds(30)),
        restart: RestartPolicy(
            mode: .always, backoff: [.milliseconds(500), .seconds(1), .seconds(2), .seconds(5)],
            budget: Budget(count: 5, window: .seconds(60)), quarantine: .seconds(300), resetAfter: .seconds(30)))

    /// Reads policies from a merged `{limits, health, restart}` node that passed validation;
    /// anything absent falls back to `standard`.
    public init(node: YAMLNode) {
        let base = Policies.standard
        let limits = node["limits"]
        let health = node["health"]
        let restart = node["restart"]
        self.limits = Limits(
            rps: limits?["rps"]?.doubleValue ?? base.limits.rps,
            burst: limits?["burst"]?.intValue ?? base.limits.burst,
            concurrency: limits?["concurrency"]?.intValue ?? base.limits.concurrency,
            requestTimeout: limits?["request_timeout"]?.durationValue ?? base.limits.requestTimeout)
        self.health = HealthPolicy(
            interval: health?["interval"]?.durationValue ?? base.health.interval,
            timeout: health?["timeout"]?.durationValue ?? base.health.timeout,
            failureThreshold: health?["failure_threshold"]?.intValue ?? base.health.failureThreshold,
            startupTimeout: health?["startup_timeout"]?.durationValue ?? base.health.startupTimeout)
        self.restart = RestartPolicy(
            mode: restart?["policy"]?.text.flatMap(RestartPolicy.Mode.init(rawValue:)) ?? base.restart.mode,
            backoff: restart?["backoff"]?.items?.compactMap(\.durationValue) ?? base.restart.backoff,
            budget: restart?["budget"]?.text.flatMap(Budget.parse) ?? base.restart.budget,
            quarantine: restart?["quarantine"]?.durationValue ?? base.restart.quarantine,
            resetAfter: restart?["reset_after"]?.durationValue ?? base.restart.resetAfter)
    }

    public init(limits: Limits, health: HealthPolicy, restart: RestartPolicy) {
        self.limits = limits
        self.health = health
        self.restart = restart
    }

    /// Rules that span fields, checked after defaults were merged: each problem is reported at
    /// the position of the value that breaks it.
    public static func crossFieldProblems(_ node: YAMLNode, path: String = "") -> [Diagnostic] {
        let policies = Policies(node: node)
        var out: [Diagnostic] = []
        if policies.health.timeout >= policies.health.interval, let at = node["health"]?["timeout"]?.position {
            out.append(
                Diagnostic(
                    at: at, path: SchemaValidator.join(path, "health.timeout"),
                    "\(DurationText.format(policies.health.timeout)) must be shorter than health.interval (\(DurationText.format(policies.health.interval)))"
                ))
        }
        if Double(policies.limits.burst) < policies.limits.rps, let at = node["limits"]?["burst"]?.position {
            out.append(
                Diagnostic(
                    at: at, path: SchemaValidator.join(path, "limits.burst"),
                    "\(policies.limits.burst) is below limits.rps (\(JSONValue.double(policies.limits.rps).rendered())); a bucket smaller than one second of traffic rejects steady load",
                    hint: "set burst to at least rps"))
        }
        return out
    }
}

extension YAMLNode {
    var intValue: Int? {
        switch scalar {
        case .int(let value)?: value
        case .double(let value)? where value.isFinite && value == value.rounded() && abs(value) < 1e15: Int(value)
        default: nil
        }
    }

    var doubleValue: Double? {
        switch scalar {
        case .int(let value)?: Double(value)
        case .double(let value)?: value
        default: nil
        }
    }

    var boolValue: Bool? {
        if case .bool(let value)? = scalar { return value }
        return nil
    }

    var durationValue: Duration? { text.flatMap(DurationText.parse) }
}
