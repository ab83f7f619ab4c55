import Glibc

/// Extra flags from the environment, so a manifest can turn faults on through `env:` without
/// changing `command:`.
enum EnvironmentFlags {
    static let variable = "MCP_DEMO_FLAGS"

    /// `MCP_DEMO_FLAGS` split on whitespace; empty when unset. (No quoting: a value with a space
    /// cannot be passed this way.)
    static func read() -> [String] {
        // The demo is a stand-alone peer, not the controller: it reads its own environment
        // directly rather than through the controller's snapshot (Sources/Desired/Environment.swift).
        guard let raw = getenv(variable) else { return [] }
        return String(cString: raw).split(whereSeparator: \.isWhitespace).map(String.init)
    }
}
