/// Reads one manifest file: YAML, schema, and the rules that need the file's name.
public enum ManifestReader {
    /// The manifest, or nil with the errors that make it invalid (warnings may come either way).
    ///
    /// - Parameters:
    ///   - file: the path shown in diagnostics.
    ///   - stem: the file name without `.yaml`, which `name:` must equal.
    public static func read(_ bytes: [UInt8], file: String, stem: String, limits: YAMLLimits = .standard) -> (Manifest?, [Diagnostic]) {
        let root: YAMLNode
        do {
            guard let node = try YAMLParser.parse(bytes, file: file, limits: limits) else {
                return (
                    nil,
                    [
                        Diagnostic(
                            at: SourcePosition(file: file, line: 1, column: 1), "the file has no content",
                            hint: "a manifest needs at least name, description, transport and command")
                    ]
                )
            }
            root = node
        } catch {
            return (nil, [error])
        }
        var diagnostics = SchemaValidator.validate(root, against: ManifestSchema.schema)
        if let nameNode = root["name"], let name = nameNode.text, name != stem, StringFormat.isName(name) {
            diagnostics.append(
                Diagnostic(
                    at: nameNode.position, path: "name", "\"\(name)\" must equal the file's name \"\(stem)\"",
                    hint: "rename the file to \(name).yaml or write name: \(stem)"))
        }
        if diagnostics.hasErrors { return (nil, diagnostics) }
        let manifest = decode(root, file: file)
        if let node = root["credentials"] {
            diagnostics += CredentialRoute.check(node, variables: Set(manifest.variables.map(\.name)))
            if diagnostics.hasErrors { return (nil, diagnostics) }
        }
        return (manifest, diagnostics)
    }

    /// Builds the typed manifest from a node that passed validation.
    static func decode(_ root: YAMLNode, file: String) -> Manifest {
        func text(_ node: YAMLNode) -> Manifest.Text {
            let raw = node.text ?? ""
            let interpolation = Interpolation.parse(raw).ok ?? Interpolation(segments: [.literal(raw)])
            return Manifest.Text(raw: raw, interpolation: interpolation, position: node.position)
        }
        let policyKeys: Set = ["limits", "health", "restart", "isolation"]
        let policies = (root.pairs ?? []).filter { policyKeys.contains($0.key) }
        return Manifest(
            name: root["name"]?.text ?? "",
            description: root["description"]?.text ?? "",
            homepage: root["homepage"]?.text,
            transport: root["transport"]?.text.flatMap(Manifest.Transport.init(rawValue:)) ?? .stdio,
            command: root["command"]?.items?.map(text) ?? [],
            url: root["url"].map(text),
            cwd: root["cwd"].map(text),
            env: (root["env"]?.pairs ?? []).map { Manifest.EnvVar(name: $0.key, value: text($0.value)) },
            secrets: root["secrets"]?.items?.compactMap(\.text) ?? [],
            secretPositions: root["secrets"]?.items?.map(\.position) ?? [],
            scopes: root["scopes"]?.items?.compactMap(\.text) ?? [],
            egress: root["egress"]?.items?.compactMap(\.text) ?? [],
            policies: YAMLNode(.mapping(policies), at: root.position),
            file: file,
            credentials: root["credentials"].map(CredentialRoute.decode))
    }
}
