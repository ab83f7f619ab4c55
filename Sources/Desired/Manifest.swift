/// A server manifest as written in `servers/NAME.yaml`, validated but not yet resolved against
/// config defaults and the environment.
public struct Manifest: Sendable, Hashable {
    public enum Transport: String, Sendable, Hashable {
        case stdio, http
    }

    /// Text that may hold `${VAR}`, with where it was written.
    public struct Text: Sendable, Hashable {
        public var raw: String
        public var interpolation: Interpolation
        public var position: SourcePosition
    }

    public var name: String
    public var description: String
    public var homepage: String?
    public var transport: Transport
    public var command: [Text]
    public var url: Text?
    public var cwd: Text?
    /// Child environment in file order.
    public var env: [(name: String, value: Text)]
    public var secrets: [String]
    /// Where each of `secrets` was written.
    public var secretPositions: [SourcePosition]
    public var scopes: [String]
    public var egress: [String]
    /// `{limits, health, restart}` as written; `defaults:` fill the rest.
    public var policies: YAMLNode
    public var file: String

    /// Every controller variable this manifest reads: secrets and `${VAR}` references, in order.
    public var variables: [(name: String, position: SourcePosition)] {
        var out: [(String, SourcePosition)] = Array(zip(secrets, secretPositions))
        let texts = command + [url, cwd].compactMap { $0 } + env.map(\.value)
        for text in texts {
            out += text.interpolation.variables.map { ($0, text.position) }
        }
        return out
    }

    public static func == (lhs: Manifest, rhs: Manifest) -> Bool {
        lhs.name == rhs.name && lhs.description == rhs.description && lhs.homepage == rhs.homepage
            && lhs.transport == rhs.transport && lhs.command == rhs.command && lhs.url == rhs.url
            && lhs.cwd == rhs.cwd && lhs.env.map(\.name) == rhs.env.map(\.name)
            && lhs.env.map(\.value) == rhs.env.map(\.value) && lhs.secrets == rhs.secrets
            && lhs.scopes == rhs.scopes && lhs.egress == rhs.egress && lhs.policies == rhs.policies
            && lhs.file == rhs.file
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(name)
        hasher.combine(file)
        hasher.combine(policies)
    }
}
