/// Config layers: built-in ← `default.yaml` ← `$OMNI_ENV.yaml` ← `local.yaml` ← environment.
///
/// Each file is validated on its own, so an error points at the layer that made it; the
/// merge is then total. Maps merge deeply; scalars and lists replace.
public enum ConfigLayers {
    /// Parses and validates one layer; nil with errors when it is invalid, an empty mapping
    /// for an empty file.
    public static func read(_ bytes: [UInt8], file: String, limits: YAMLLimits = .standard) -> (YAMLNode?, [Diagnostic]) {
        let node: YAMLNode
        do {
            guard let parsed = try YAMLParser.parse(bytes, file: file, limits: limits) else {
                return (.emptyMapping(at: SourcePosition(file: file, line: 1, column: 1)), [])
            }
            node = parsed
        } catch {
            return (nil, [error])
        }
        let diagnostics = SchemaValidator.validate(node, against: ConfigSchema.schema)
        return (diagnostics.hasErrors ? nil : node, diagnostics)
    }

    /// Merges valid layers (lowest first) over the built-in one and applies `OMNI_LISTEN`.
    public static func merge(_ layers: [YAMLNode], environment: Environment) -> (ControllerConfig?, [Diagnostic]) {
        var merged = BuiltinConfig.node
        for layer in layers { merged = layer.merged(over: merged) }
        var diagnostics: [Diagnostic] = []
        if let listen = environment["OMNI_LISTEN"], !listen.isEmpty {
            let at = SourcePosition.origin("environment")
            if let problem = StringFormat.listenAddress.check(listen) {
                diagnostics.append(Diagnostic(at: at, path: "OMNI_LISTEN", problem.message, hint: problem.hint))
            } else {
                let override = YAMLNode(
                    .mapping([YAMLPair(key: "listen", keyPosition: at, value: YAMLNode(.scalar(listen, plain: false), at: at))]), at: at)
                merged = override.merged(over: merged)
            }
        }
        if let defaults = merged["defaults"] {
            diagnostics += Policies.crossFieldProblems(defaults, path: "defaults")
        }
        if diagnostics.hasErrors { return (nil, diagnostics) }
        return (ControllerConfig(node: merged, environment: environment), diagnostics)
    }
}
