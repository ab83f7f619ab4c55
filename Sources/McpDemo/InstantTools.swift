import Foundation

/// The tools that answer at once.
enum InstantTools {
    /// `echo`: `text` (string) comes back as the only content block.
    static func echo(_ arguments: JSONValue) -> ToolResult {
        guard let text = arguments["text"]?.stringValue else {
            return .failure("Invalid arguments for echo: \"text\" is required and must be a string.")
        }
        return ToolResult(text: text)
    }

    /// `add`: `a` + `b` (JSON numbers). Integers add exactly when the sum fits; otherwise the
    /// sum is a double.
    static func add(_ arguments: JSONValue) -> ToolResult {
        guard let a = arguments["a"], let b = arguments["b"], let x = a.numberValue, let y = b.numberValue else {
            return .failure("Invalid arguments for add: \"a\" and \"b\" are required and must be numbers.")
        }
        let sum: JSONValue
        if case .integer(let m) = a, case .integer(let n) = b, case (let exact, false) = m.addingReportingOverflow(n) {
            sum = .integer(exact)
        } else {
            let double = x + y
            guard double.isFinite else { return .failure("Invalid arguments for add: the sum is not a finite number.") }
            sum = .number(double)
        }
        let text = String(decoding: sum.encoded(), as: UTF8.self)
        return ToolResult(text: text, structured: .object([("sum", sum)]))
    }

    /// `clock`: the current UTC time, ISO 8601 with milliseconds (`2026-01-02T03:04:05.678Z`).
    static func clock() -> ToolResult {
        ToolResult(text: Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }
}
