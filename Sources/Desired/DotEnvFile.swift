/// A `.env` file: `NAME=value` lines, `#` comments, optional `export ` and quotes.
///
/// Values are taken literally (no interpolation); `"…"` understands `\n`, `\"` and `\\`,
/// `'…'` nothing. A malformed line is a diagnostic with its line number; the rest still load.
public struct DotEnvFile: Sendable, Hashable {
    /// Values in file order; a name given twice keeps the later value.
    public var values: [(String, String)]
    /// The names as written, with the line each was first defined on.
    public var lines: [String: Int]

    public static func == (lhs: DotEnvFile, rhs: DotEnvFile) -> Bool {
        lhs.values.map(\.0) == rhs.values.map(\.0) && lhs.values.map(\.1) == rhs.values.map(\.1)
    }

    public func hash(into hasher: inout Hasher) {
        for (name, value) in values {
            hasher.combine(name)
            hasher.combine(value)
        }
    }

    public static func parse(_ text: String, file: String) -> (DotEnvFile, [Diagnostic]) {
        var values: [(String, String)] = []
        var lines: [String: Int] = [:]
        var diagnostics: [Diagnostic] = []
        for (index, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let number = index + 1
            var line = raw.trimmingWhitespace()[...]
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst(7).trimmingWhitespace()[...] }
            let at = SourcePosition(file: file, line: number, column: 1)
            guard let equals = line.firstIndex(of: "=") else {
                diagnostics.append(Diagnostic(at: at, "expected NAME=value", hint: "comment lines start with #"))
                continue
            }
            let name = String(line[..<equals]).trimmingWhitespace()
            guard StringFormat.isIdentifier(String(name), allowLower: true) else {
                diagnostics.append(Diagnostic(at: at, "\"\(name)\" is not a variable name"))
                continue
            }
            switch unquote(line[line.index(after: equals)...].trimmingWhitespace()) {
            case .success(let value):
                if let existing = values.firstIndex(where: { $0.0 == String(name) }) {
                    values[existing].1 = value
                } else {
                    values.append((String(name), value))
                    lines[String(name)] = number
                }
            case .failure(let problem):
                diagnostics.append(Diagnostic(at: at, path: String(name), problem.message))
            }
        }
        return (DotEnvFile(values: values, lines: lines), diagnostics)
    }

    private struct Problem: Error { var message: String }

    private static func unquote(_ value: String) -> Result<String, Problem> {
        guard let quote = value.first, quote == "\"" || quote == "'" else {
            // Unquoted: a ` #` starts a comment, as in most dotenv readers.
            if let hash = value.range(of: " #") { return .success(String(value[..<hash.lowerBound]).trimmingWhitespace()) }
            return .success(String(value))
        }
        guard value.count >= 2, value.last == quote else { return .failure(Problem(message: "unterminated quote")) }
        let body = value.dropFirst().dropLast()
        if quote == "'" { return .success(String(body)) }
        var out = ""
        var escaped = false
        for character in body {
            if escaped {
                switch character {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(character)
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                out.append(character)
            }
        }
        return .success(out)
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars[first...last])
        return String(out)
    }
}
