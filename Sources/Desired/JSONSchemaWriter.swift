import JSON

/// Renders a `Schema` as a JSON Schema (draft 2020-12) document for editors and CI tools.
///
/// What JSON Schema cannot say stays the validator's alone, and is listed in the document's
/// description: the name equals the file's stem, duration ranges, cross-file checks.
public enum JSONSchemaWriter {
    public static func document(_ schema: Schema, id: String, title: String) -> JSONValue {
        guard case .object(var pairs) = node(schema) else { return node(schema) }
        pairs.insert(
            contentsOf: [
                ("$schema", "https://json-schema.org/draft/2020-12/schema"),
                ("$id", .string(id)),
                ("title", .string(title)),
            ], at: 0)
        return .object(pairs)
    }

    static func node(_ schema: Schema) -> JSONValue {
        switch schema {
        case .object(let object):
            var pairs: [(String, JSONValue)] = [
                ("type", "object"),
                ("description", .string(object.description)),
                ("properties", .object(object.fields.map { ($0.name, node($0.schema)) })),
            ]
            let required = object.fields.filter(\.required).map { JSONValue.string($0.name) }
            if !required.isEmpty { pairs.append(("required", .array(required))) }
            pairs.append(("additionalProperties", false))
            if !object.conditions.isEmpty {
                pairs.append(("allOf", .array(object.conditions.map(condition))))
            }
            return .object(pairs)
        case .map(let keys, let values, let description):
            return .object([
                ("type", "object"),
                ("description", .string(description)),
                ("propertyNames", .object(string(keys))),
                ("additionalProperties", node(values)),
            ])
        case .array(let element, let minItems, let maxItems, let unique, let description):
            var pairs: [(String, JSONValue)] = [
                ("type", "array"), ("description", .string(description)), ("items", node(element)),
            ]
            if minItems > 0 { pairs.append(("minItems", .int(minItems))) }
            pairs.append(("maxItems", .int(maxItems)))
            if unique { pairs.append(("uniqueItems", true)) }
            return .object(pairs)
        case .string(let format, let interpolated, let description):
            var pairs: [(String, JSONValue)] = [("type", "string"), ("description", .string(description))]
            if interpolated, case .text = format {
                pairs += string(format)
                pairs.append(("pattern", .string(Interpolation.pattern)))
            } else if interpolated {
                // Either the format itself, or text with a ${VAR} whose value is checked once resolved.
                pairs.append(("pattern", .string(Interpolation.pattern)))
                pairs.append(("anyOf", [.object(string(format)), .object([("pattern", "(^|[^$])(\\$\\$)*\\$\\{")])]))
            } else {
                pairs += string(format)
            }
            return .object(pairs)
        case .integer(let range, let description):
            return .object([
                ("type", "integer"), ("description", .string(description)),
                ("minimum", .int(range.lowerBound)), ("maximum", .int(range.upperBound)),
            ])
        case .number(let range, let description):
            return .object([
                ("type", "number"), ("description", .string(description)),
                ("minimum", .double(range.lowerBound)), ("maximum", .double(range.upperBound)),
            ])
        case .boolean(let description):
            return .object([("type", "boolean"), ("description", .string(description))])
        }
    }

    private static func string(_ format: StringFormat) -> [(String, JSONValue)] {
        switch format {
        case .text(let max):
            return [("minLength", 1), ("maxLength", .int(max))]
        case .oneOf(let words):
            return [("enum", .array(words.map { .string($0) }))]
        default:
            return format.pattern.map { [("pattern", .string($0))] } ?? []
        }
    }

    private static func condition(_ condition: Condition) -> JSONValue {
        var then: [(String, JSONValue)] = []
        if !condition.requires.isEmpty {
            then.append(("required", .array(condition.requires.map { .string($0) })))
        }
        if !condition.forbids.isEmpty {
            then.append(("properties", .object(condition.forbids.map { ($0, false) })))
        }
        return .object([
            (
                "if",
                .object([
                    ("properties", .object([(condition.field, .object([("const", .string(condition.value))]))])),
                    ("required", [.string(condition.field)]),
                ])
            ),
            ("then", .object(then)),
        ])
    }
}
