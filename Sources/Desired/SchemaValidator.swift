import JSON

/// Checks a node tree against a `Schema`, collecting every problem with its position and key path.
///
/// Contract: never stops at the first error; reports unknown keys (with "did you mean"),
/// missing required keys, wrong types, out-of-range numbers, malformed text (by `StringFormat`)
/// and malformed `${…}` in interpolated text. Interpolated text that holds a variable is not
/// format-checked here: its value is only known once resolved.
public enum SchemaValidator {
    public static func validate(_ node: YAMLNode, against schema: Schema, path: String = "") -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        check(node, schema, path, &diagnostics)
        return diagnostics
    }

    private static func check(_ node: YAMLNode, _ schema: Schema, _ path: String, _ out: inout [Diagnostic]) {
        switch schema {
        case .object(let object):
            checkObject(node, object, path, &out)
        case .map(let keys, let values, _):
            guard let pairs = node.pairs else { return out.append(typeError(node, path, expected: "a map")) }
            for pair in pairs {
                let child = join(path, pair.key)
                if let problem = keys.check(pair.key) {
                    out.append(Diagnostic(at: pair.keyPosition, path: child, "key \(problem.message)", hint: problem.hint))
                }
                check(pair.value, values, child, &out)
            }
        case .array(let element, let minItems, let maxItems, let unique, _):
            guard let items = node.items else { return out.append(typeError(node, path, expected: "a list")) }
            if items.count < minItems {
                out.append(Diagnostic(at: node.position, path: path, "needs at least \(minItems) item\(minItems == 1 ? "" : "s")"))
            }
            if items.count > maxItems {
                out.append(Diagnostic(at: node.position, path: path, "has \(items.count) items; at most \(maxItems) are allowed"))
            }
            var seen: [ScalarValue: Int] = [:]
            for (index, item) in items.enumerated() {
                check(item, element, "\(path)[\(index)]", &out)
                if unique, let value = item.scalar {
                    if let first = seen[value] {
                        out.append(Diagnostic(at: item.position, path: "\(path)[\(index)]", "repeats item \(first) (\(value.described))"))
                    } else {
                        seen[value] = index
                    }
                }
            }
        case .string(let format, let interpolated, _):
            guard case .string(let text)? = node.scalar else {
                let hint: String? =
                    if case .duration = format, let number = node.text, node.intValue != nil {
                        "a duration needs a unit: \(number)s or \(number)ms"
                    } else {
                        quoteHint(node)
                    }
                return out.append(typeError(node, path, expected: "text", hint: hint))
            }
            if interpolated {
                switch Interpolation.parse(text) {
                case .failure(let problem):
                    return out.append(Diagnostic(at: node.position, path: path, problem.message, hint: problem.hint))
                case .success(let parsed) where parsed.hasVariables:
                    // A value with ${VAR} is format-checked once resolved; only its length is known now.
                    guard case .text = format else { return }
                case .success:
                    break
                }
            }
            if let problem = format.check(text) {
                out.append(Diagnostic(at: node.position, path: path, problem.message, hint: problem.hint))
            }
        case .integer(let range, _):
            let outOfRange = "is out of range; it must be between \(range.lowerBound) and \(range.upperBound)"
            if let value = node.intValue {
                if !range.contains(value) { out.append(Diagnostic(at: node.position, path: path, "\(value) \(outOfRange)")) }
            } else if case .double(let number)? = node.scalar, !number.isFinite || number == number.rounded() {
                // Integral but too big for an Int, or infinite: a range problem, not a type problem.
                out.append(Diagnostic(at: node.position, path: path, "\(node.text ?? "") \(outOfRange)"))
            } else {
                out.append(typeError(node, path, expected: "a whole number"))
            }
        case .number(let range, _):
            let value: Double
            switch node.scalar {
            case .int(let number)?: value = Double(number)
            case .double(let number)? where number.isFinite: value = number
            case .double(let number)? where number.isInfinite:
                return out.append(
                    Diagnostic(
                        at: node.position, path: path,
                        "\(node.text ?? "") is out of range; it must be between \(format(range.lowerBound)) and \(format(range.upperBound))"
                    ))
            default: return out.append(typeError(node, path, expected: "a number"))
            }
            if !range.contains(value) {
                out.append(
                    Diagnostic(
                        at: node.position, path: path,
                        "\(format(value)) is out of range; it must be between \(format(range.lowerBound)) and \(format(range.upperBound))"))
            }
        case .boolean:
            guard case .bool? = node.scalar else {
                let hint: String? =
                    switch node.text?.lowercased() {
                    case "yes", "on", "y", "true": "write true (YAML 1.2 booleans are true and false only)"
                    case "no", "off", "n", "false": "write false (YAML 1.2 booleans are true and false only)"
                    default: nil
                    }
                return out.append(typeError(node, path, expected: "true or false", hint: hint))
            }
        }
    }

    private static func checkObject(_ node: YAMLNode, _ object: ObjectSchema, _ path: String, _ out: inout [Diagnostic]) {
        guard let pairs = node.pairs else { return out.append(typeError(node, path, expected: "a map")) }
        let names = object.fields.map(\.name)
        for pair in pairs {
            guard let field = object.field(pair.key) else {
                let guess = Suggestion.closest(to: pair.key, among: names)
                out.append(
                    Diagnostic(
                        at: pair.keyPosition, path: join(path, pair.key), "unknown key",
                        hint: guess.map { "did you mean \"\($0)\"?" } ?? "allowed keys: \(names.joined(separator: ", "))"))
                continue
            }
            check(pair.value, field.schema, join(path, pair.key), &out)
        }
        let present = Set(pairs.map(\.key))
        for field in object.fields where field.required && !present.contains(field.name) {
            out.append(Diagnostic(at: node.position, path: join(path, field.name), "is required"))
        }
        for condition in object.conditions {
            guard node[condition.field]?.text == condition.value else { continue }
            for name in condition.requires where !present.contains(name) {
                out.append(
                    Diagnostic(at: node.position, path: join(path, name), "is required when \(condition.field) is \(condition.value)"))
            }
            for name in condition.forbids {
                guard let pair = node.pair(name) else { continue }
                out.append(
                    Diagnostic(at: pair.keyPosition, path: join(path, name), "is not allowed when \(condition.field) is \(condition.value)")
                )
            }
        }
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private static func typeError(_ node: YAMLNode, _ path: String, expected: String, hint: String? = nil) -> Diagnostic {
        Diagnostic(at: node.position, path: path, "expected \(expected), got \(node.described)", hint: hint)
    }

    /// For a number, boolean or null where text was wanted: suggest quoting it.
    private static func quoteHint(_ node: YAMLNode) -> String? {
        guard let text = node.text, !text.isEmpty else { return nil }
        return "quote it: \"\(text)\""
    }

    private static func format(_ value: Double) -> String {
        JSONValue.double(value).rendered()
    }
}
