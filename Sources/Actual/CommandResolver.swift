import Glibc

/// Turns a manifest's `command[0]` into the path to execute.
///
/// - A word with a slash is a path: absolute as written, relative to the root otherwise
///   (manifests must not depend on the directory the controller was started from).
/// - A bare word is looked up in the *child's* `PATH` (what the server will see, not the
///   controller's), then in the directory of the running `controller` binary, so that helpers
///   built beside it (`mcp-demo`) work in any manifest without a path.
public struct CommandResolver: Sendable {
    var root: String
    var helperDirectory: String?
    var isExecutable: @Sendable (String) -> Bool = { access($0, X_OK) == 0 && !CommandResolver.isDirectory($0) }

    func resolve(_ word: String, childPath: String?) -> Result<String, LaunchError> {
        guard !word.isEmpty else { return .failure(LaunchError(.resolve, "the command is empty")) }
        if word.contains("/") {
            let relative = word.hasPrefix("./") ? String(word.dropFirst(2)) : word
            let path = word.hasPrefix("/") ? word : join(root, relative)
            return isExecutable(path)
                ? .success(path) : .failure(LaunchError(.resolve, code: ENOENT, "\(path) is not an executable file"))
        }
        var searched = (childPath ?? "").split(separator: ":", omittingEmptySubsequences: true).map(String.init)
        if let helperDirectory { searched.append(helperDirectory) }
        for directory in searched {
            let candidate = join(directory, word)
            if isExecutable(candidate) { return .success(candidate) }
        }
        return .failure(
            LaunchError(.resolve, code: ENOENT, "executable \"\(word)\" not found in \(searched.joined(separator: ":"))"))
    }

    private func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// The directory of the running executable (`/proc/self/exe`), or nil.
    public static func runningBinaryDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }
}
