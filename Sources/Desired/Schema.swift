/// The definition of a document's shape: what `validate` checks and what `controller schema`
/// prints as JSON Schema. One definition, two consumers, so they cannot drift apart.
public indirect enum Schema: Sendable {
    case object(ObjectSchema)
    /// A mapping with free keys of `keys` format and values of one schema (e.g. `env`).
    case map(keys: StringFormat, values: Schema, description: String)
    case array(of: Schema, minItems: Int = 0, maxItems: Int = 1024, unique: Bool = false, description: String)
    /// Text; `interpolated` ones may hold `${VAR}`, checked against `format` after resolution.
    case string(StringFormat, interpolated: Bool = false, description: String)
    case integer(ClosedRange<Int>, description: String)
    case number(ClosedRange<Double>, description: String)
    case boolean(description: String)

    public var description: String {
        switch self {
        case .object(let object): object.description
        case .map(_, _, let text), .array(_, _, _, _, let text), .string(_, _, let text),
            .integer(_, let text), .number(_, let text), .boolean(let text):
            text
        }
    }
}

/// A mapping with a fixed set of keys.
public struct ObjectSchema: Sendable {
    public var description: String
    public var fields: [Field]
    public var conditions: [Condition]

    public init(_ description: String, fields: [Field], conditions: [Condition] = []) {
        self.description = description
        self.fields = fields
        self.conditions = conditions
    }

    public func field(_ name: String) -> Field? { fields.first { $0.name == name } }
}

/// One key of an object.
public struct Field: Sendable {
    public var name: String
    public var schema: Schema
    public var required: Bool

    public init(_ name: String, _ schema: Schema, required: Bool = false) {
        self.name = name
        self.schema = schema
        self.required = required
    }
}

/// When `field` equals `value`: the keys in `requires` must be present, those in `forbids` absent
/// (e.g. `transport: stdio` requires `command` and forbids `url`).
public struct Condition: Sendable {
    public var field: String
    public var value: String
    public var requires: [String]
    public var forbids: [String]

    public init(when field: String, is value: String, requires: [String] = [], forbids: [String] = []) {
        self.field = field
        self.value = value
        self.requires = requires
        self.forbids = forbids
    }
}
