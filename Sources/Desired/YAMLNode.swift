/// A YAML node with the position it was read from: the tree every later stage works on.
///
/// Scalars keep whether they were written plain (unquoted), because only plain scalars
/// resolve to numbers, booleans or null (YAML 1.2 core schema); `"8080"` is always a string.
/// Mapping keys are scalars (the parser rejects anything else) and unique.
public struct YAMLNode: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case scalar(String, plain: Bool)
        case sequence([YAMLNode])
        case mapping([YAMLPair])
    }

    public var kind: Kind
    public var position: SourcePosition

    public init(_ kind: Kind, at position: SourcePosition) {
        self.kind = kind
        self.position = position
    }

    /// The value for `key` when this node is a mapping.
    public subscript(key: String) -> YAMLNode? {
        pair(key)?.value
    }

    /// The pair for `key` (with the key's own position) when this node is a mapping.
    public func pair(_ key: String) -> YAMLPair? {
        guard case .mapping(let pairs) = kind else { return nil }
        return pairs.first { $0.key == key }
    }

    public var pairs: [YAMLPair]? {
        if case .mapping(let pairs) = kind { return pairs }
        return nil
    }

    public var items: [YAMLNode]? {
        if case .sequence(let items) = kind { return items }
        return nil
    }

    /// The scalar's text, whatever its style.
    public var text: String? {
        if case .scalar(let text, _) = kind { return text }
        return nil
    }

    /// Number of nodes in this subtree, counting itself; the unit of the alias budget.
    public var nodeCount: Int {
        switch kind {
        case .scalar: 1
        case .sequence(let items): items.reduce(1) { $0 + $1.nodeCount }
        case .mapping(let pairs): pairs.reduce(1) { $0 + $1.value.nodeCount + 1 }
        }
    }

    /// An empty mapping, the identity of `merged(over:)`.
    public static func emptyMapping(at position: SourcePosition) -> YAMLNode {
        YAMLNode(.mapping([]), at: position)
    }

    /// This node laid over `base`: mappings merge key by key, recursively; anything else
    /// (scalars, sequences, a null) replaces. Positions stay with the layer a value came from.
    public func merged(over base: YAMLNode) -> YAMLNode {
        guard case .mapping(let top) = kind, case .mapping(var result) = base.kind else {
            return self
        }
        // An index by key keeps the merge linear in the size of both maps.
        var index: [String: Int] = [:]
        for (position, pair) in result.enumerated() { index[pair.key] = position }
        for pair in top {
            if let index = index[pair.key] {
                result[index] = YAMLPair(
                    key: pair.key,
                    keyPosition: pair.keyPosition,
                    value: pair.value.merged(over: result[index].value)
                )
            } else {
                index[pair.key] = result.count
                result.append(pair)
            }
        }
        return YAMLNode(.mapping(result), at: position)
    }
}

/// One key and its value in a mapping.
public struct YAMLPair: Sendable, Hashable {
    public var key: String
    public var keyPosition: SourcePosition
    public var value: YAMLNode

    public init(key: String, keyPosition: SourcePosition, value: YAMLNode) {
        self.key = key
        self.keyPosition = keyPosition
        self.value = value
    }
}
