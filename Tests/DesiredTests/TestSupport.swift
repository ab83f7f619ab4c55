import Desired
import Foundation

/// Parses `text` as `test.yaml`, failing the test on a parse error.
func parse(_ text: String, file: String = "test.yaml") throws -> YAMLNode {
    guard let node = try YAMLParser.parse(Array(text.utf8), file: file) else {
        throw TestFailure("no content")
    }
    return node
}

/// The error a parse throws, or nil when it parses.
func parseError(_ text: String, limits: YAMLLimits = .standard) -> Diagnostic? {
    parseError(Array(text.utf8), limits: limits)
}

func parseError(_ bytes: [UInt8], limits: YAMLLimits = .standard) -> Diagnostic? {
    do {
        _ = try YAMLParser.parse(bytes, file: "test.yaml", limits: limits)
        return nil
    } catch {
        return error
    }
}

/// `line:col: path: message` of every error, the form the corpus uses.
func summaries(_ diagnostics: [Diagnostic]) -> [String] {
    diagnostics.filter { $0.severity == .error }.map { "\($0.position.line):\($0.position.column): \($0.summary)" }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A throwaway root directory with `servers/` and `config/`, removed on deinit.
final class TemporaryWorkspace {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "omni-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root + "/servers", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/config", withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func write(_ relative: String, _ text: String) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: root + "/" + relative))
    }

    func load(env: String? = nil, environment: [String: String] = [:]) -> Workspace.Load {
        Workspace(root: root, envName: env).load(Environment(environment))
    }
}

/// A minimal valid manifest for `name`, with extra lines appended.
func manifest(_ name: String, _ extra: String = "") -> String {
    """
    name: \(name)
    description: test server \(name)
    transport: stdio
    command: [mcp-demo]
    \(extra)
    """
}
