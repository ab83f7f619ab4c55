import Desired
import JSON

/// The body of `POST /plan` (`controller diff --against`): a root's config layers and
/// manifests, and the root's name for diagnostics.
///
/// `{"root": "<as the user typed it>", "files": {"config/default.yaml": "<text>", …}}`. Files
/// travel as UTF-8 text (YAML is UTF-8); paths are relative to the root and checked by
/// `WorkspaceFiles.problem(sentPath:)`.
struct DryRunRequest: Sendable {
    var root: String
    var files: [String: [UInt8]]

    /// The largest body the admin API takes for `/plan`: room for `WorkspaceFiles.maxSentFiles`
    /// small manifests or sixteen at the per-file limit.
    static let maxBody = 16 << 20
    static let maxRoot = 4096

    struct Problem: Error, CustomStringConvertible {
        var description: String
    }

    var json: JSONValue {
        .object([
            ("root", .string(root)),
            ("files", .object(files.keys.sorted().map { ($0, .string(String(decoding: files[$0] ?? [], as: UTF8.self))) })),
        ])
    }

    /// The request in `body`, or why it is not one.
    init(body: [UInt8]) throws(Problem) {
        let value: JSONValue
        do { value = try JSONParser.parse(body) } catch { throw Problem(description: "the body is not JSON: \(error)") }
        guard let root = value["root"]?.stringValue, !root.isEmpty, root.utf8.count <= DryRunRequest.maxRoot else {
            throw Problem(description: "\"root\" must be a string of 1 to \(DryRunRequest.maxRoot) bytes")
        }
        guard let pairs = value["files"]?.objectValue else { throw Problem(description: "\"files\" must be an object of path: text") }
        guard pairs.count <= WorkspaceFiles.maxSentFiles else {
            throw Problem(description: "\(pairs.count) files; at most \(WorkspaceFiles.maxSentFiles)")
        }
        var files: [String: [UInt8]] = [:]
        for (path, text) in pairs {
            if let problem = WorkspaceFiles.problem(sentPath: path) { throw Problem(description: problem) }
            guard let text = text.stringValue else { throw Problem(description: "\"\(path)\" must be text") }
            // The JSON parser refuses an object with a key twice.
            files[path] = Array(text.utf8)
        }
        self.root = root
        self.files = files
    }

    init(root: String, files: [String: [UInt8]]) {
        self.root = root
        self.files = files
    }
}
