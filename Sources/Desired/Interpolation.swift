/// `${VAR}`, `${VAR:-default}` and `$$` in manifest and config strings.
///
/// Any other `$` is an error rather than a literal, so that a typo such as `$VAR` or
/// `${VAR-x}` is caught by `validate` instead of reaching a child as text.
public struct Interpolation: Sendable, Hashable {
    public enum Segment: Sendable, Hashable {
        case literal(String)
        /// `${name}` (default nil) or `${name:-default}`: the default applies when the
        /// variable is unset or empty, as in a POSIX shell; without one, unset or empty is missing.
        case variable(name: String, default: String?)
    }

    public var segments: [Segment]

    /// The JSON Schema pattern equivalent to `parse` succeeding.
    public static let pattern = "^(?:[^$]|\\$\\$|\\$\\{[A-Za-z_][A-Za-z0-9_]*(?::-[^}${]*)?\\})*$"

    /// Splits `text` into literals and variables, or says what is wrong.
    public static func parse(_ text: String) -> Result<Interpolation, InterpolationError> {
        var segments: [Segment] = []
        var literal = ""
        var rest = Substring(text)
        while let dollar = rest.firstIndex(of: "$") {
            literal += rest[..<dollar]
            let after = rest[rest.index(after: dollar)...]
            if after.hasPrefix("$") {
                literal += "$"
                rest = after.dropFirst()
                continue
            }
            guard after.hasPrefix("{") else {
                return .failure(InterpolationError(message: "a lone $ in \"\(text)\"", hint: "write $$ for a literal $, or ${NAME}"))
            }
            guard let close = after.firstIndex(of: "}") else {
                return .failure(InterpolationError(message: "unterminated ${ in \"\(text)\"", hint: "close it with }"))
            }
            let body = after[after.index(after: after.startIndex)..<close]
            let name: Substring
            var fallback: String?
            if let separator = body.range(of: ":-") {
                name = body[..<separator.lowerBound]
                fallback = String(body[separator.upperBound...])
            } else {
                name = body
            }
            if let fallback, fallback.contains("$") || fallback.contains("{") {
                return .failure(
                    InterpolationError(
                        message: "the default in \"${\(body)}\" holds $ or {", hint: "defaults are plain text; nested ${} is not supported")
                )
            }
            guard StringFormat.isIdentifier(String(name), allowLower: true) else {
                return .failure(
                    InterpolationError(
                        message: "\"${\(body)}\" is not a variable reference",
                        hint: "write ${NAME} or ${NAME:-default}"))
            }
            if !literal.isEmpty { segments.append(.literal(literal)) }
            literal = ""
            segments.append(.variable(name: String(name), default: fallback))
            rest = after[after.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { segments.append(.literal(literal)) }
        return .success(Interpolation(segments: segments))
    }

    /// True when the text holds at least one `${…}`.
    public var hasVariables: Bool {
        segments.contains { if case .variable = $0 { true } else { false } }
    }

    /// Names of every variable referenced, in order of appearance.
    public var variables: [String] {
        segments.compactMap { if case .variable(let name, _) = $0 { name } else { nil } }
    }

    /// The text with variables substituted, or the names that are unset and have no default.
    public func resolve(_ environment: Environment) -> Result<String, MissingVariables> {
        var out = ""
        var missing: [String] = []
        for segment in segments {
            switch segment {
            case .literal(let text):
                out += text
            case .variable(let name, let fallback):
                let value = environment[name] ?? ""
                if !value.isEmpty {
                    out += value
                } else if let fallback {
                    out += fallback
                } else {
                    // Unset and empty are the same: `cp .env.example .env` leaves every value empty,
                    // and a server must not start with an empty credential.
                    missing.append(name)
                }
            }
        }
        return missing.isEmpty ? .success(out) : .failure(MissingVariables(names: missing))
    }
}

public struct InterpolationError: Error, Sendable, Hashable {
    public var message: String
    public var hint: String?
}

/// Variables a value needs that the environment does not set.
public struct MissingVariables: Error, Sendable, Hashable {
    public var names: [String]

    public init(names: [String]) { self.names = names }
}
