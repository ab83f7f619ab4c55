/// What should be running: the reconciler's input, a pure value.
public struct DesiredState: Sendable, Hashable {
    public var config: ControllerConfig
    /// Every valid manifest, enabled or not, by name.
    public var manifests: [String: Manifest]
    /// The servers that should run, by name.
    public var servers: [String: ServerSpec]
    /// Known servers that will not run, and why.
    public var skipped: [String: SkipReason]

    public init(config: ControllerConfig, manifests: [String: Manifest], servers: [String: ServerSpec], skipped: [String: SkipReason]) {
        self.config = config
        self.manifests = manifests
        self.servers = servers
        self.skipped = skipped
    }

    /// Gates and resolves every manifest.
    ///
    /// A server runs when it is enabled (`OMNI_FEATURE_<NAME>` wins over `features:`) and every
    /// variable it needs is set. Cross-field policy rules are checked for every manifest, enabled
    /// or not, so that `validate` catches them before anyone flips the switch.
    public static func build(config: ControllerConfig, manifests: [Manifest], environment: Environment) -> (DesiredState, [Diagnostic]) {
        var diagnostics: [Diagnostic] = []
        var byName: [String: Manifest] = [:]
        var servers: [String: ServerSpec] = [:]
        var skipped: [String: SkipReason] = [:]
        let overrides = featureOverrides(environment, &diagnostics)
        for manifest in manifests {
            if let first = byName[manifest.name] {
                let at = SourcePosition(file: manifest.file, line: 1, column: 1)
                diagnostics.append(Diagnostic(at: at, path: "name", "\"\(manifest.name)\" is already defined in \(first.file)"))
                continue
            }
            let merged = manifest.policies.merged(over: config.defaults)
            // A rule broken by a manifest together with a default is the manifest's problem:
            // report it there, and say where the other value came from.
            let problems = Policies.crossFieldProblems(merged).map { problem -> Diagnostic in
                guard problem.position.file != manifest.file else { return problem }
                let section = String(problem.path.prefix { $0 != "." })
                let at = manifest.policies.pair(section)?.keyPosition ?? SourcePosition(file: manifest.file, line: 1, column: 1)
                return Diagnostic(
                    at: at, path: problem.path, problem.message, hint: "the other value is the default from \(problem.position)")
            }
            diagnostics += problems
            let isolationProblems = Isolation.problems(manifest, merged: merged)
            diagnostics += isolationProblems
            if problems.hasErrors || isolationProblems.hasErrors { continue }
            byName[manifest.name] = manifest
            let enabled = overrides[environmentKey(manifest.name)]?.enabled ?? config.features[manifest.name]?.enabled ?? false
            guard enabled else {
                skipped[manifest.name] = .disabled
                continue
            }
            switch ServerResolver.resolve(
                manifest, policies: Policies(node: merged), isolation: Isolation(policies: merged), environment: environment)
            {
            case .ready(let spec): servers[manifest.name] = spec
            case .skipped(let reason, let problems):
                skipped[manifest.name] = reason
                diagnostics += problems
            }
        }
        for (name, feature) in config.features.sorted(by: { $0.key < $1.key }) where byName[name] == nil {
            let guess = Suggestion.closest(to: name, among: Array(byName.keys).sorted())
            diagnostics.append(
                Diagnostic(
                    .warning, at: feature.position, path: "features.\(name)", "no server is named \"\(name)\"",
                    hint: guess.map { "did you mean \"\($0)\"?" }))
        }
        let known = Set(byName.keys.map(environmentKey))
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) where !known.contains(key) {
            diagnostics.append(Diagnostic(.warning, at: value.position, "OMNI_FEATURE_\(key) names no server"))
        }
        return (DesiredState(config: config, manifests: byName, servers: servers, skipped: skipped), diagnostics)
    }

    /// `github-enterprise` → `GITHUB_ENTERPRISE`, the suffix of its `OMNI_FEATURE_` variable.
    public static func environmentKey(_ name: String) -> String {
        String(name.uppercased().map { $0 == "-" ? "_" : $0 })
    }

    private static func featureOverrides(_ environment: Environment, _ diagnostics: inout [Diagnostic]) -> [String: ControllerConfig
        .FeatureSwitch]
    {
        var out: [String: ControllerConfig.FeatureSwitch] = [:]
        for (name, value) in environment.withPrefix("OMNI_FEATURE_") {
            let at = SourcePosition.origin("environment")
            switch value {
            case "true": out[String(name.dropFirst(13))] = .init(enabled: true, position: .origin(name))
            case "false": out[String(name.dropFirst(13))] = .init(enabled: false, position: .origin(name))
            case "": continue
            default:
                diagnostics.append(Diagnostic(at: at, path: name, "expected true or false, got \"\(value)\"", hint: "write true or false"))
            }
        }
        return out
    }
}
