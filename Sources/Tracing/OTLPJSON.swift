import JSON

/// OTLP/JSON encoding of an `ExportTraceServiceRequest` (opentelemetry-proto, the JSON mapping
/// OTLP/HTTP specifies): one `resourceSpans` with the service's resource attributes, one
/// `scopeSpans` of scope `omni-mcp`, and the spans. Unlike protobuf's generic JSON mapping, OTLP
/// writes `traceId`, `spanId` and `parentSpanId` as hex, not base64; enums (`kind`, the status
/// `code`) are integers, and 64-bit integers (times, `intValue`) are decimal strings.
public struct OTLPJSON: Sendable {
    public var serviceName: String
    public var serviceVersion: String
    public var scopeName: String

    public init(serviceName: String, serviceVersion: String, scopeName: String = "omni-mcp") {
        self.serviceName = serviceName
        self.serviceVersion = serviceVersion
        self.scopeName = scopeName
    }

    /// The request body for `spans`.
    public func encode(_ spans: [Span]) -> [UInt8] {
        request(spans).renderedBytes()
    }

    /// The `ExportTraceServiceRequest` for `spans`, as a JSON value.
    public func request(_ spans: [Span]) -> JSONValue {
        let resource = JSONValue.object([
            (
                "attributes",
                .array([
                    OTLPJSON.attribute(.string("service.name", serviceName)),
                    OTLPJSON.attribute(.string("service.version", serviceVersion)),
                ])
            )
        ])
        let scope = JSONValue.object([("name", .string(scopeName)), ("version", .string(serviceVersion))])
        let scopeSpans = JSONValue.object([("scope", scope), ("spans", .array(spans.map(OTLPJSON.span)))])
        return .object([
            ("resourceSpans", .array([.object([("resource", resource), ("scopeSpans", .array([scopeSpans]))])]))
        ])
    }

    static func span(_ span: Span) -> JSONValue {
        var pairs: [(String, JSONValue)] = [("traceId", .string(span.traceID)), ("spanId", .string(span.spanID))]
        if let parent = span.parentSpanID { pairs.append(("parentSpanId", .string(parent))) }
        pairs += [
            ("name", .string(span.name)), ("kind", .int(span.kind.rawValue)),
            ("startTimeUnixNano", .string(String(span.start))), ("endTimeUnixNano", .string(String(span.end))),
            ("attributes", .array(span.attributes.map(attribute))),
        ]
        switch span.status {
        case .ok: pairs.append(("status", .object([("code", .int(1))])))
        case .error(let message): pairs.append(("status", .object([("code", .int(2)), ("message", .string(message))])))
        }
        return .object(pairs)
    }

    static func attribute(_ attribute: Attribute) -> JSONValue {
        let value: (String, JSONValue)
        switch attribute.value {
        case .string(let text): value = ("stringValue", .string(text))
        case .int(let number): value = ("intValue", .string(String(number)))
        case .bool(let flag): value = ("boolValue", .bool(flag))
        // JSON has no NaN or infinity; protobuf's JSON mapping spells them as strings.
        case .double(let number) where number.isNaN: value = ("doubleValue", .string("NaN"))
        case .double(let number) where number.isInfinite: value = ("doubleValue", .string(number > 0 ? "Infinity" : "-Infinity"))
        case .double(let number): value = ("doubleValue", .double(number))
        }
        return .object([("key", .string(attribute.key)), ("value", .object([value]))])
    }
}
