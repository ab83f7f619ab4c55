/// What a scalar means, by the YAML 1.2 core schema restricted the way this project reads it:
/// only plain scalars resolve; `true`/`false` are the only booleans; `~`, `null` and empty are
/// null; decimal integers and floats are numbers; everything else (`yes`, `no`, `0x1F`,
/// `2024-01-01`) is text.
public enum ScalarValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)

    public init(_ text: String, plain: Bool) {
        guard plain else {
            self = .string(text)
            return
        }
        switch text {
        case "", "~", "null", "Null", "NULL": self = .null
        case "true": self = .bool(true)
        case "false": self = .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": self = .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": self = .double(-.infinity)
        case ".nan", ".NaN", ".NAN": self = .double(.nan)
        default:
            if ScalarValue.isInteger(text), let value = Int(text) {
                self = .int(value)
            } else if ScalarValue.isFloat(text), let value = Double(text) {
                self = .double(value)
            } else {
                self = .string(text)
            }
        }
    }

    /// `[-+]?[0-9]+`
    static func isInteger(_ text: String) -> Bool {
        var digits = Substring(text)
        if let first = digits.first, first == "-" || first == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
    }

    /// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
    static func isFloat(_ text: String) -> Bool {
        var rest = Substring(text)
        if let first = rest.first, first == "-" || first == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0 != "e" && $0 != "E" }
        let exponent = rest.dropFirst(mantissa.count)
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, whole.allSatisfy(\.isASCIIDigit) else { return false }
        let fraction = parts.count > 1 ? parts[1] : nil
        guard fraction?.allSatisfy(\.isASCIIDigit) ?? true else { return false }
        if whole.isEmpty && (fraction?.isEmpty ?? true) { return false }
        if exponent.isEmpty { return true }
        var digits = exponent.dropFirst()
        if let sign = digits.first, sign == "-" || sign == "+" { digits = digits.dropFirst() }
        return !digits.isEmpty && digits.allSatisfy(\.isASCIIDigit)
    }

    /// How messages name a value: `text "fast"`, `the number 3`, `true`, `null`.
    public var described: String {
        switch self {
        case .null: "null"
        case .bool(let value): "\(value)"
        case .int(let value): "the number \(value)"
        case .double(let value): "the number \(value)"
        case .string(let value): "text \"\(value.count > 40 ? value.prefix(40) + "…" : value)\""
        }
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}

extension YAMLNode {
    /// The resolved scalar, or nil for a sequence or mapping.
    public var scalar: ScalarValue? {
        if case .scalar(let text, let plain) = kind { return ScalarValue(text, plain: plain) }
        return nil
    }

    /// How messages name this node's kind and value.
    public var described: String {
        switch kind {
        case .scalar: scalar?.described ?? "text"
        case .sequence: "a list"
        case .mapping: "a map"
        }
    }
}
