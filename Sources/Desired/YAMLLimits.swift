/// The bounds every YAML file is read within; exceeding one is an error, never a crash or a hang.
public struct YAMLLimits: Sendable, Hashable {
    /// Largest file accepted, in bytes (a Kubernetes ConfigMap holds 1 MiB).
    public var maxBytes: Int
    /// Deepest nesting of sequences and mappings.
    public var maxDepth: Int
    /// Most nodes that aliases may expand to in one file: the billion-laughs guard.
    public var maxAliasNodes: Int

    public init(maxBytes: Int = 1 << 20, maxDepth: Int = 64, maxAliasNodes: Int = 10_000) {
        self.maxBytes = maxBytes
        self.maxDepth = maxDepth
        self.maxAliasNodes = maxAliasNodes
    }

    public static let standard = YAMLLimits()
}
