/// A server that should run: its manifest resolved against defaults and the environment.
public struct ServerSpec: Sendable, Hashable {
    public var name: String
    public var description: String
    public var transport: Manifest.Transport
    public var command: [String]
    public var url: String?
    public var cwd: String?
    /// Exactly what the child's environment adds to the baseline (sorted by name).
    public var env: [String: String]
    public var secretNames: [String]
    /// The values of `secretNames`, to be redacted from every log line and record.
    public var secretValues: [String]
    public var scopes: [String]
    public var egress: [String]
    /// `isolation` after `defaults:`; part of `processHash` (it changes how the process starts).
    public var isolation: Isolation
    public var policies: Policies
    public var file: String
    /// Changes when a new process is needed: command, env values, cwd, transport, url, isolation.
    public var processHash: String
    /// Changes when only policies changed, applied in place: limits, health, restart, egress.
    public var policyHash: String

    init(
        manifest: Manifest, command: [String], url: String?, cwd: String?, env: [String: String],
        secretValues: [String], policies: Policies, isolation: Isolation = .none
    ) {
        name = manifest.name
        description = manifest.description
        transport = manifest.transport
        self.command = command
        self.url = url
        self.cwd = cwd
        self.env = env
        secretNames = manifest.secrets
        self.secretValues = secretValues
        scopes = manifest.scopes
        egress = manifest.egress
        self.isolation = isolation
        self.policies = policies
        file = manifest.file
        var process = [
            ["transport", transport.rawValue], ["command"] + command, ["url", url ?? ""], ["cwd", cwd ?? ""],
            ["env"] + env.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" },
        ]
        // Only when set, so that the hashes of servers that do not isolate stay as they were.
        if isolation != .none { process.append(["isolation", isolation.rawValue]) }
        processHash = ServerSpec.hash(process)
        let limits = policies.limits
        let health = policies.health
        let restart = policies.restart
        policyHash = ServerSpec.hash([
            ["limits", "\(limits.rps)", "\(limits.burst)", "\(limits.concurrency)", DurationText.format(limits.requestTimeout)],
            [
                "health", DurationText.format(health.interval), DurationText.format(health.timeout),
                "\(health.failureThreshold)", DurationText.format(health.startupTimeout),
            ],
            [
                "restart", restart.mode.rawValue, restart.budget.description, DurationText.format(restart.quarantine),
                DurationText.format(restart.resetAfter),
            ]
                + restart.backoff.map(DurationText.format),
            ["egress"] + egress,
        ])
    }

    /// 16 hex digits of SHA-256 over length-prefixed fields, so that no two field lists collide
    /// by concatenation (`["ab", "c"]` vs `["a", "bc"]`).
    static func hash(_ groups: [[String]]) -> String {
        var text = ""
        for group in groups {
            text += "\(group.count):"
            for field in group { text += "\(field.utf8.count):\(field);" }
        }
        return String(SHA256.hex(text).prefix(16))
    }
}

/// Why a known server will not run.
public enum SkipReason: Sendable, Hashable, CustomStringConvertible {
    /// Not enabled by `features:` or `OMNI_FEATURE_<NAME>`.
    case disabled
    /// Enabled, but these variables are unset (secrets) or unset with no default (`${VAR}`).
    case missing([String])
    /// Enabled, but its values do not resolve to a valid spec (e.g. `url: ${X}` with X not a URL).
    case invalid(String)

    public var description: String {
        switch self {
        case .disabled: "disabled"
        case .missing(let names): "missing \(names.joined(separator: ", "))"
        case .invalid(let why): "invalid: \(why)"
        }
    }
}
