import Desired
import Foundation
import JSON

/// Diagnostics for people (`text`, like a compiler), for tools (`json`) and for GitHub Actions
/// (`github` workflow annotations).
struct DiagnosticRenderer {
    private var lines: [String: [Substring]] = [:]

    /// `path:line:col: error: key.path: message`, the source line, a caret, and the hint.
    mutating func text(_ diagnostic: Diagnostic) -> String {
        var out = diagnostic.description
        let position = diagnostic.position
        if position.line > 0, let line = sourceLine(position.file, position.line) {
            // Show at most 120 characters around the column, so a 1 MiB line stays readable.
            let skip = max(0, position.column - 80)
            let source = (skip > 0 ? "…" : "") + line.dropFirst(skip).prefix(120)
            let column = position.column - skip + (skip > 0 ? 1 : 0)
            let number = String(position.line)
            let gutter = String(repeating: " ", count: number.count)
            // Tabs are kept in the caret line so it lines up under the same text.
            let lead = source.prefix(max(0, column - 1)).map { $0 == "\t" ? "\t" : " " }.joined()
            out += "\n \(number) | \(source)\n \(gutter) | \(lead)^"
        }
        if let hint = diagnostic.hint {
            out += "\n   = hint: \(hint)"
        }
        return out
    }

    static func json(_ diagnostic: Diagnostic) -> JSONValue {
        var pairs: [(String, JSONValue)] = [
            ("severity", .string(diagnostic.severity.rawValue)),
            ("file", .string(diagnostic.position.file)),
            ("line", .int(diagnostic.position.line)),
            ("column", .int(diagnostic.position.column)),
            ("path", .string(diagnostic.path)),
            ("message", .string(diagnostic.message)),
        ]
        if let hint = diagnostic.hint { pairs.append(("hint", .string(hint))) }
        return .object(pairs)
    }

    /// `::error file=…,line=…,col=…,title=…::message` with the workflow-command escapes.
    static func github(_ diagnostic: Diagnostic) -> String {
        let position = diagnostic.position
        var properties = ["file=\(escapeProperty(position.file))"]
        if position.line > 0 {
            properties += ["line=\(position.line)", "col=\(position.column)"]
        }
        if !diagnostic.path.isEmpty { properties.append("title=\(escapeProperty(diagnostic.path))") }
        let message = diagnostic.message + (diagnostic.hint.map { " (hint: \($0))" } ?? "")
        return "::\(diagnostic.severity == .error ? "error" : "warning") \(properties.joined(separator: ","))::\(escapeData(message))"
    }

    private static func escapeData(_ text: String) -> String {
        text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\r", with: "%0D")
            .replacingOccurrences(of: "\n", with: "%0A")
    }

    private static func escapeProperty(_ text: String) -> String {
        escapeData(text).replacingOccurrences(of: ":", with: "%3A").replacingOccurrences(of: ",", with: "%2C")
    }

    private mutating func sourceLine(_ file: String, _ line: Int) -> Substring? {
        if lines[file] == nil {
            guard let data = FileManager.default.contents(atPath: file), data.count <= 1 << 20 else { return nil }
            lines[file] = String(decoding: data, as: UTF8.self).split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)
        }
        guard let all = lines[file], line <= all.count else { return nil }
        return all[line - 1]
    }
}
