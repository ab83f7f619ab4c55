import JSON
import Testing

@testable import Tracing

@Suite struct OTLPJSONTests {
    static let server = Span(
        traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", parentSpanID: "b7ad6b7169203331",
        name: "tools/call echo", kind: .server, start: 1_700_000_000_123_456_789, end: 1_700_000_000_223_456_789,
        attributes: [
            .string("mcp.method.name", "tools/call"), .int("http.response.status_code", 200), .bool("omni.flag", true),
            .double("omni.ratio", 0.5),
        ],
        status: .ok)

    /// Every field name and type of an `ExportTraceServiceRequest` as OTLP/JSON writes it: hex
    /// ids, integer enums, 64-bit integers as decimal strings.
    @Test func encodesABatchExactly() throws {
        var failed = OTLPJSONTests.server
        failed.spanID = "1111111111111111"
        failed.parentSpanID = nil
        failed.kind = .internal
        failed.status = .error("timed out")
        failed.attributes = []
        let body = OTLPJSON(serviceName: "omni-test", serviceVersion: "0.1.0").encode([OTLPJSONTests.server, failed])
        let expected =
            #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"omni-test"}},"#
            + #"{"key":"service.version","value":{"stringValue":"0.1.0"}}]},"#
            + #""scopeSpans":[{"scope":{"name":"omni-mcp","version":"0.1.0"},"spans":["#
            + #"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"00f067aa0ba902b7","parentSpanId":"b7ad6b7169203331","#
            + #""name":"tools/call echo","kind":2,"startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000223456789","#
            + #""attributes":[{"key":"mcp.method.name","value":{"stringValue":"tools/call"}},"#
            + #"{"key":"http.response.status_code","value":{"intValue":"200"}},{"key":"omni.flag","value":{"boolValue":true}},"#
            + #"{"key":"omni.ratio","value":{"doubleValue":0.5}}],"status":{"code":1}},"#
            + #"{"traceId":"4bf92f3577b34da6a3ce929d0e0e4736","spanId":"1111111111111111","name":"tools/call echo","kind":1,"#
            + #""startTimeUnixNano":"1700000000123456789","endTimeUnixNano":"1700000000223456789","attributes":[],"#
            + #""status":{"code":2,"message":"timed out"}}]}]}]}"#
        #expect(String(decoding: body, as: UTF8.self) == expected)
        // And it is JSON our own strict parser reads back.
        let parsed = try JSONParser.parse(body)
        #expect(parsed["resourceSpans"]?.arrayValue?.first?["scopeSpans"]?.arrayValue?.first?["spans"]?.arrayValue?.count == 2)
    }

    /// What the encoder writes for the values JSON cannot hold as they are.
    @Test func escapesStringsAndSpellsNonFiniteDoublesAsProtobufDoes() throws {
        var span = OTLPJSONTests.server
        span.name = "q\"b\\n\nt\tc\u{01}é"
        span.attributes = [.double("nan", .nan), .double("inf", -.infinity), .double("whole", 3), .int("neg", -5)]
        let body = OTLPJSON(serviceName: "t", serviceVersion: "1").encode([span])
        let text = String(decoding: body, as: UTF8.self)
        #expect(text.contains(#""name":"q\"b\\n\nt\tc\u0001é""#))
        #expect(text.contains(#"{"key":"nan","value":{"doubleValue":"NaN"}}"#))
        #expect(text.contains(#"{"key":"inf","value":{"doubleValue":"-Infinity"}}"#))
        #expect(text.contains(#"{"key":"whole","value":{"doubleValue":3}}"#))
        #expect(text.contains(#"{"key":"neg","value":{"intValue":"-5"}}"#))
        let parsed = try JSONParser.parse(body)
        let name = parsed["resourceSpans"]?.arrayValue?.first?["scopeSpans"]?.arrayValue?.first?["spans"]?.arrayValue?.first?["name"]
        #expect(name?.stringValue == span.name)
        #expect(
            OTLPJSON(serviceName: "t", serviceVersion: "1").encode([])
                == Array(
                    #"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"t"}},{"key":"service.version","value":{"stringValue":"1"}}]},"scopeSpans":[{"scope":{"name":"omni-mcp","version":"1"},"spans":[]}]}]}"#
                        .utf8))
    }

    @Test func decimalsAreExact() {
        for value: UInt64 in [0, 7, 10, 1_700_000_000_123_456_789, .max] {
            var out: [UInt8] = []
            OTLPJSON.write(decimal: value, to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(value))
        }
    }

    @Test func anEndBeforeTheStartIsClampedToIt() {
        let span = Span(
            traceID: "4bf92f3577b34da6a3ce929d0e0e4736", spanID: "00f067aa0ba902b7", parentSpanID: nil, name: "x", kind: .internal,
            start: 10, end: 5, attributes: [], status: .ok)
        #expect(span.end == 10)
    }

    @Test func idsAreHexOfTheRightLength() {
        var values: [UInt64] = [0x0123_4567_89ab_cdef, 0xf, 0xffff_ffff_ffff_ffff]
        let next = { values.removeFirst() }
        #expect(TraceIDs.spanID(next) == "0123456789abcdef")
        #expect(TraceIDs.traceID(next) == "000000000000000fffffffffffffffff")
        #expect(TraceIDs.spanID().count == 16)
        #expect(TraceIDs.unixNanos() > 1_600_000_000 * 1_000_000_000)
    }
}

@Suite struct SpanRedactionTests {
    /// Every string a server or client may have written passes the redactor; keys, ids and
    /// numbers do not.
    @Test func redactsNamesStringValuesAndTheErrorMessage() {
        var span = OTLPJSONTests.server
        span.status = .error("token hunter2 refused")
        span.attributes.append(.string("omni.reason", "hunter2 in argv"))
        let redacted = span.redacted { $0.replacingOccurrences(of: "hunter2", with: "[REDACTED]") }
        #expect(redacted.status == .error("token [REDACTED] refused"))
        #expect(redacted.attributes.last == .string("omni.reason", "[REDACTED] in argv"))
        #expect(redacted.attributes.first { $0.key == "http.response.status_code" }?.value == .int(200))
        #expect(redacted.traceID == span.traceID)
    }

    /// The exporter applies it to what it sends.
    @Test func theExporterSendsRedactedSpans() {
        let transport = FakeTransport()
        var failing = span(1)
        failing.status = .error("password=hunter2")
        let exporter = TraceExporter(
            encoder: OTLPJSON(serviceName: "t", serviceVersion: "1"), transport: transport,
            redact: { $0.replacingOccurrences(of: "hunter2", with: "[REDACTED]") })
        exporter.record(failing)
        exporter.step(at: .max)
        let body = String(decoding: transport.state.withLock { $0.bodies }.first ?? [], as: UTF8.self)
        #expect(body.contains("password=[REDACTED]"))
        #expect(!body.contains("hunter2"))
    }
}
