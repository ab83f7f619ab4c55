/// OTLP/JSON encoding of an `ExportTraceServiceRequest` (opentelemetry-proto, the JSON mapping
/// OTLP/HTTP specifies): one `resourceSpans` with the service's resource attributes, one
/// `scopeSpans` of scope `omni-mcp`, and the spans. Unlike protobuf's generic JSON mapping, OTLP
/// writes `traceId`, `spanId` and `parentSpanId` as hex, not base64; enums (`kind`, the status
/// `code`) are integers, and 64-bit integers (times, `intValue`) are decimal strings.
///
/// Written byte by byte, with no JSON tree in between: a batch is 512 spans of some forty values
/// each, and building a `JSONValue` for each cost more CPU than everything else the exporter
/// does.
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
        var out: [UInt8] = []
        out.reserveCapacity(256 + spans.count * 640)
        out += #"{"resourceSpans":[{"resource":{"attributes":["#.utf8
        OTLPJSON.write(.string("service.name", serviceName), to: &out)
        out.append(UInt8(ascii: ","))
        OTLPJSON.write(.string("service.version", serviceVersion), to: &out)
        out += #"]},"scopeSpans":[{"scope":{"name":"#.utf8
        OTLPJSON.write(string: scopeName, to: &out)
        out += #","version":"#.utf8
        OTLPJSON.write(string: serviceVersion, to: &out)
        out += #"},"spans":["#.utf8
        for (index, span) in spans.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            OTLPJSON.write(span, to: &out)
        }
        out += "]}]}]}".utf8
        return out
    }

    static func write(_ span: Span, to out: inout [UInt8]) {
        out += #"{"traceId":"#.utf8
        write(string: span.traceID, to: &out)
        out += #","spanId":"#.utf8
        write(string: span.spanID, to: &out)
        if let parent = span.parentSpanID {
            out += #","parentSpanId":"#.utf8
            write(string: parent, to: &out)
        }
        out += #","name":"#.utf8
        write(string: span.name, to: &out)
        out += #","kind":"#.utf8
        write(decimal: UInt64(span.kind.rawValue), to: &out)
        out += #","startTimeUnixNano":""#.utf8
        write(decimal: span.start, to: &out)
        out += #"","endTimeUnixNano":""#.utf8
        write(decimal: span.end, to: &out)
        out += #"","attributes":["#.utf8
        for (index, attribute) in span.attributes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            write(attribute, to: &out)
        }
        switch span.status {
        case .ok:
            out += #"],"status":{"code":1}}"#.utf8
        case .error(let message):
            out += #"],"status":{"code":2,"message":"#.utf8
            write(string: message, to: &out)
            out += "}}".utf8
        }
    }

    static func write(_ attribute: Attribute, to out: inout [UInt8]) {
        out += #"{"key":"#.utf8
        write(string: attribute.key, to: &out)
        switch attribute.value {
        case .string(let text):
            out += #","value":{"stringValue":"#.utf8
            write(string: text, to: &out)
        case .int(let number):
            out += #","value":{"intValue":"\#(number)""#.utf8
        case .bool(let flag):
            out += #","value":{"boolValue":\#(flag)"#.utf8
        // JSON has no NaN or infinity; protobuf's JSON mapping spells them as strings.
        case .double(let number) where number.isNaN:
            out += #","value":{"doubleValue":"NaN""#.utf8
        case .double(let number) where number.isInfinite:
            out += (number > 0 ? #","value":{"doubleValue":"Infinity""# : #","value":{"doubleValue":"-Infinity""#).utf8
        case .double(let number):
            out +=
                #","value":{"doubleValue":\#(number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number))"#
                .utf8
        }
        out += "}}".utf8
    }

    /// A JSON string: quotes, backslashes and control characters escaped, the rest as UTF-8.
    static func write(string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        defer { out.append(UInt8(ascii: "\"")) }
        // Nearly every string needs no escape: appended whole.
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            out += string.utf8
            return
        }
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += #"\""#.utf8
            case UInt8(ascii: "\\"): out += #"\\"#.utf8
            case 0x0A: out += #"\n"#.utf8
            case 0x0D: out += #"\r"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                let hex: [UInt8] = Array("0123456789abcdef".utf8)
                out += #"\u00"#.utf8
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
    }

    /// `value` in decimal, without a `String` in between.
    static func write(decimal value: UInt64, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var index = 20
            var rest = value
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
            } while rest > 0
            out += buffer[index...]
        }
    }
}
