/// How a server's process is started with respect to the network (`isolation:` in a manifest
/// or in `defaults:`). It changes how the process starts, so it is part of the process hash.
public enum Isolation: String, Sendable, Hashable, CaseIterable {
    /// In the controller's network namespace: the proxy variables point the way out, and a
    /// server that ignores them is not stopped from connecting directly.
    case none
    /// In a network namespace of its own with only loopback up: the egress proxy (on
    /// 127.0.0.1 inside) is the only way out, and with `egress: []` there is none.
    case network

    /// The merged `isolation` of a manifest's policies node (`defaults:` underneath); `none`
    /// when neither sets it.
    init(policies node: YAMLNode) {
        self = node["isolation"]?.text.flatMap(Isolation.init(rawValue:)) ?? .none
    }

    /// The rules `isolation` has with the rest of a manifest, checked with `defaults:` merged in
    /// (`merged`): each problem at the value that breaks it.
    ///
    /// A `transport: http` server with a `command:` cannot be isolated: the gateway connects to
    /// its port from the controller's namespace, where an isolated server does not listen. It is
    /// refused, never started unconfined. A remote `transport: http` server (no command) has no
    /// process to isolate: written in its manifest, `isolation: network` is a warning.
    static func problems(_ manifest: Manifest, merged: YAMLNode) -> [Diagnostic] {
        guard Isolation(policies: merged) == .network, manifest.transport == .http else { return [] }
        let written = manifest.policies["isolation"]
        guard !manifest.command.isEmpty else {
            guard let written else { return [] }
            return [
                Diagnostic(
                    .warning, at: written.position, path: "isolation",
                    "has no effect on a transport: http server without a command: nothing is started",
                    hint: "remove isolation")
            ]
        }
        let message =
            "network is not possible for a transport: http server with a command: the gateway connects to its port from the controller's network namespace"
        if let written {
            return [Diagnostic(at: written.position, path: "isolation", message, hint: "remove isolation, or serve over stdio")]
        }
        let from = merged["isolation"]?.position.description ?? "defaults:"
        let at = manifest.command.first?.position ?? SourcePosition(file: manifest.file, line: 1, column: 1)
        return [
            Diagnostic(
                at: at, path: "isolation", message,
                hint: "isolation: network is the default from \(from); write isolation: none in this manifest")
        ]
    }
}
