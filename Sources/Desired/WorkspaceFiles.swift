/// Where a workspace's files come from.
///
/// `.disk` reads under the root. `.sent` holds a root's config layers and manifests as a client
/// sent them to a running controller (`controller diff --against`), keyed by path relative to
/// the root; nothing else is read, so a dry run of sent files never touches the controller's
/// own files and takes its environment only from the caller.
public enum WorkspaceFiles: Sendable, Hashable {
    case disk
    case sent([String: [UInt8]])

    /// At most this many files in one `.sent` set.
    public static let maxSentFiles = 4096

    /// Why `path` may not be in a `.sent` set, or nil when it may: `config/<name>.yaml` or
    /// `servers/<name>.yaml`, one level deep, no hidden names, at most 255 bytes a name.
    public static func problem(sentPath path: String) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0] == "config" || parts[0] == "servers" else {
            return "\"\(path)\" is not config/<name>.yaml or servers/<name>.yaml"
        }
        let name = parts[1]
        guard name.hasSuffix(".yaml"), name.count > 5, !name.hasPrefix("."), name.utf8.count <= 255 else {
            return "\"\(path)\": a sent file is named <name>.yaml (not hidden, at most 255 bytes)"
        }
        guard !name.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else { return "\"\(path)\": control characters in a name" }
        return nil
    }
}
