/// One finished span, as exported: ids in lower-case hex (the W3C and OTLP/JSON form), times in
/// Unix nanoseconds.
public struct Span: Sendable, Hashable {
    /// OTLP's `SpanKind` numbers.
    public enum Kind: Int, Sendable, Hashable {
        case `internal` = 1
        case server = 2
        case client = 3
    }

    /// OTLP's `Status`: `ok` (code 1) or `error` (code 2, with a message).
    public enum Status: Sendable, Hashable {
        case ok
        case error(String)
    }

    /// 32 hex digits.
    public var traceID: String
    /// 16 hex digits.
    public var spanID: String
    /// 16 hex digits; nil for a root span.
    public var parentSpanID: String?
    public var name: String
    public var kind: Kind
    public var start: UInt64
    public var end: UInt64
    public var attributes: [Attribute]
    public var status: Status

    public init(
        traceID: String, spanID: String, parentSpanID: String?, name: String, kind: Kind, start: UInt64, end: UInt64,
        attributes: [Attribute], status: Status
    ) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.name = name
        self.kind = kind
        self.start = start
        self.end = max(start, end)
        self.attributes = attributes
        self.status = status
    }
}

extension Span {
    /// The span with `redact` applied to its name, every string attribute value and the error
    /// message (what may quote a secret a server or client wrote).
    public func redacted(_ redact: (String) -> String) -> Span {
        var copy = self
        copy.name = redact(name)
        copy.attributes = attributes.map { attribute in
            guard case .string(let text) = attribute.value else { return attribute }
            return Attribute(attribute.key, .string(redact(text)))
        }
        if case .error(let message) = status { copy.status = .error(redact(message)) }
        return copy
    }
}

/// A span or resource attribute: a key and one OTLP `AnyValue` of the four scalar kinds.
public struct Attribute: Sendable, Hashable {
    public enum Value: Sendable, Hashable {
        case string(String)
        case int(Int)
        case bool(Bool)
        case double(Double)
    }

    public var key: String
    public var value: Value

    public init(_ key: String, _ value: Value) {
        self.key = key
        self.value = value
    }

    public static func string(_ key: String, _ value: String) -> Attribute { Attribute(key, .string(value)) }
    public static func int(_ key: String, _ value: Int) -> Attribute { Attribute(key, .int(value)) }
    public static func bool(_ key: String, _ value: Bool) -> Attribute { Attribute(key, .bool(value)) }
    public static func double(_ key: String, _ value: Double) -> Attribute { Attribute(key, .double(value)) }
}
