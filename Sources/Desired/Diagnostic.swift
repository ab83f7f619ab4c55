/// One finding about the input: where, which key, what is wrong and, where one helps, a hint.
///
/// Every parser and validator in this module reports through `Diagnostic`, so that one run
/// can report every problem in every file at once.
public struct Diagnostic: Sendable, Hashable, Error, CustomStringConvertible {
    public enum Severity: String, Sendable, Hashable, Codable {
        case error
        case warning
    }

    public var severity: Severity
    public var position: SourcePosition
    /// The key path inside the document, e.g. `limits.rps` or `command[2]`; empty for the document itself.
    public var path: String
    public var message: String
    public var hint: String?

    public init(
        _ severity: Severity = .error,
        at position: SourcePosition,
        path: String = "",
        _ message: String,
        hint: String? = nil
    ) {
        self.severity = severity
        self.position = position
        self.path = path
        self.message = message
        self.hint = hint
    }

    /// `path: message`, or just the message when there is no path.
    public var summary: String {
        path.isEmpty ? message : "\(path): \(message)"
    }

    /// `file:line:col: severity: path: message`, the form compilers use.
    public var description: String {
        "\(position): \(severity.rawValue): \(summary)"
    }
}

extension [Diagnostic] {
    /// True when at least one diagnostic is an error (warnings do not fail validation).
    public var hasErrors: Bool { contains { $0.severity == .error } }

    /// Sorted by position, duplicates removed (a bad default is reported once, not per server),
    /// and at most `maxPerFile` per file followed by one "N more" line, so that a hostile file
    /// cannot turn into gigabytes of output.
    public func normalized(maxPerFile: Int = 50) -> [Diagnostic] {
        var seen = Set<Diagnostic>()
        let sorted = filter { seen.insert($0).inserted }
            .sorted { ($0.position, $0.path, $0.message) < ($1.position, $1.path, $1.message) }
        var perFile: [String: Int] = [:]
        var out: [Diagnostic] = []
        for diagnostic in sorted {
            let count = perFile[diagnostic.position.file, default: 0]
            perFile[diagnostic.position.file] = count + 1
            if count < maxPerFile { out.append(diagnostic) }
        }
        for (file, count) in perFile.sorted(by: { $0.key < $1.key }) where count > maxPerFile {
            out.append(Diagnostic(at: .origin(file), "\(count - maxPerFile) more problems in this file are not shown"))
        }
        return out
    }
}
