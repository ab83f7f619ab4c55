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
    /// One child environment variable as written.
    public struct EnvVar: Sendable, Hashable {
        public var name: String
        public var value: Text
    }

    /// Child environment in file order.
    public var env: [EnvVar]
    public var secrets: [String]
    /// Where each of `secrets` was written.
    public var secretPositions: [SourcePosition]
    public var scopes: [String]
    public var egress: [String]
    /// `{limits, health, restart, isolation}` as written; `defaults:` fill the rest.
    public var policies: YAMLNode
    public var file: String
    /// `credentials:`: the provider's identity route, if the manifest documents one.
    public var credentials: CredentialRoute? = nil

    /// Every controller variable this manifest reads: secrets and `${VAR}` references, in order.
    public var variables: [(name: String, position: SourcePosition)] {
        var out: [(String, SourcePosition)] = Array(zip(secrets, secretPositions))
        let texts = command + [url, cwd].compactMap { $0 } + env.map(\.value)
        for text in texts {
            out += text.interpolation.variables.map { ($0, text.position) }
        }
        return out
    }
}
