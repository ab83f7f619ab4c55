import Actual

/// The protocol versions the gateway serves to clients, and how a legacy `initialize` is
/// negotiated (MCP.md: the same version when supported, else the latest).
public enum ProtocolVersions {
    /// Stateless, per-request `_meta` (2026-07-28).
    public static let modern = MCPVersion.modern
    /// `initialize` and sessions, newest first.
    public static let legacy = MCPVersion.legacy
    /// Every version, newest first: the `supported` list of a `-32022` error.
    public static let all = modern + legacy

    public static func isLegacy(_ version: String) -> Bool { legacy.contains(version) }

    /// The version a legacy `initialize` asking for `requested` gets.
    public static func negotiate(_ requested: String?) -> String {
        guard let requested, legacy.contains(requested) else { return legacy[0] }
        return requested
    }
}
