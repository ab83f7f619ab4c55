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
        diagnostics += interpolationProblems(merged, environment: environment)
        if let defaults = merged["defaults"] {
            diagnostics += Policies.crossFieldProblems(defaults, path: "defaults")
        }
        if diagnostics.hasErrors { return (nil, diagnostics) }
        return (ControllerConfig(node: merged, environment: environment), diagnostics)
    }

    /// The config strings that may hold `${VAR}`, by key path.
    static let interpolatedPaths = [["audit", "path"], ["otel", "endpoint"]]

    /// The interpolated strings present in `merged`, parsed, with their nodes.
    private static func interpolated(_ merged: YAMLNode) -> [(path: [String], node: YAMLNode, text: Interpolation)] {
        interpolatedPaths.compactMap { path in
            guard let node = path.reduce(Optional(merged), { $0?[$1] }), let text = node.text,
                let parsed = Interpolation.parse(text).ok
            else { return nil }
            return (path, node, parsed)
        }
    }

    /// Every `${VAR}` the merged config reads, with where.
    static func variables(_ merged: YAMLNode) -> [(name: String, position: SourcePosition)] {
        interpolated(merged).flatMap { entry in entry.text.variables.map { ($0, entry.node.position) } }
    }

    /// Variables that are missing, and an endpoint that does not resolve to a URL.
    private static func interpolationProblems(_ merged: YAMLNode, environment: Environment) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for (path, node, parsed) in interpolated(merged) {
            let key = path.joined(separator: ".")
            switch parsed.resolve(environment) {
            case .failure(let missing):
                out.append(Diagnostic(at: node.position, path: key, "needs \(missing.names.joined(separator: ", ")), which is not set"))
            case .success(let value) where path == ["otel", "endpoint"] && StringFormat.url.check(value) != nil:
                out.append(Diagnostic(at: node.position, path: key, "resolves to \"\(value)\", which is not an http(s) URL"))
            case .success(let value) where path == ["otel", "endpoint"] && value.lowercased().hasPrefix("https://"):
                // The exporter sends on the controller's own HTTP client, which has no TLS.
                out.append(
                    Diagnostic(
                        at: node.position, path: key,
                        "https is not supported for span export (no TLS in the controller's HTTP client): use an http:// collector "
                            + "on loopback or inside the cluster"))
            case .success:
                break
            }
        }
        return out
    }
}
