import Foundation

/// The variables manifests and config are resolved against.
///
/// - Important: This is the only type in the project that reads the process environment
///   (`make lint` fails if any other file does), so that every value a server sees can be
///   traced to one snapshot, and tests can pass any environment they like.
public struct Environment: Sendable, Hashable {
    public private(set) var values: [String: String]

    public init(_ values: [String: String] = [:]) {
        self.values = values
    }

    /// A snapshot of the controller's own environment.
    public static func process() -> Environment {
        Environment(ProcessInfo.processInfo.environment)
    }

    public subscript(name: String) -> String? { values[name] }

    /// These values with `file`'s added underneath: a variable already set is never overridden
    /// (the real environment wins over `.env`).
    public func addingDefaults(_ file: DotEnvFile) -> Environment {
        var merged = values
        for (name, value) in file.values where merged[name] == nil {
            merged[name] = value
        }
        return Environment(merged)
    }

    /// Variables whose names start with `prefix`, sorted by name.
    public func withPrefix(_ prefix: String) -> [(name: String, value: String)] {
        values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }
}
