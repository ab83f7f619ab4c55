import JSON
import Testing

@testable import Actual
@testable import Gateway

/// Pure pieces: era translation, trace context, version negotiation, Accept.
@Suite struct TranslationTests {
    let modernClient = ClientContext.modern(GatewayHarness.modernMeta)
    let legacyClient = ClientContext(era: .legacy, version: "2025-06-18", capabilities: .object([]), info: nil, logLevel: nil)

    @Test func resultsKeepWhatTheServerSetAndAddOnlyWhatIsMissing() throws {
        let own: JSONValue = .object([("resultType", "complete"), ("tools", .array([])), ("ttlMs", 60000), ("cacheScope", "public")])
        let kept = try #require(EraTranslation.result(own, method: "tools/list", server: GatewayHarness.modernServer, client: modernClient))
        #expect(kept["ttlMs"] == 60000)
        #expect(kept["cacheScope"] == "public")
        let call = try #require(
            EraTranslation.result(.object([]), method: "tools/call", server: GatewayHarness.legacyServer, client: modernClient))
        #expect(call["ttlMs"] == nil)
        #expect(call["resultType"] == "complete")
        let input = try #require(
            EraTranslation.result(
                .object([("resultType", "input_required")]), method: "tools/list", server: GatewayHarness.modernServer, client: modernClient
            ))
        #expect(input["ttlMs"] == nil)
        #expect(
            EraTranslation.result(.string("odd"), method: "x", server: GatewayHarness.modernServer, client: legacyClient) == .string("odd"))
    }

    @Test func errorsAndProgressAreTranslated() {
        let notFound = RPCErrorObject(code: -32002, message: "no such resource", data: nil)
        #expect(EraTranslation.error(notFound, client: modernClient).code == -32602)
        #expect(EraTranslation.error(notFound, client: legacyClient).code == -32002)
        let progress: JSONValue = .object([("progressToken", 1), ("_meta", .object([("io.modelcontextprotocol/x", 1)]))])
        #expect(EraTranslation.progress(progress, client: legacyClient) == .object([("progressToken", 1)]))
        #expect(EraTranslation.progress(progress, client: modernClient) == progress)
    }

    @Test func paramsForAModernServerCarryTheLegacyClientsSession() {
        let client = ClientContext(
            era: .legacy, version: "2025-06-18", capabilities: .object([("sampling", .object([]))]), info: .object([("name", "c")]),
            logLevel: "info")
        let sent = EraTranslation.params(nil, server: GatewayHarness.modernServer, client: client, traceparent: nil)
        #expect(sent?["_meta"]?["io.modelcontextprotocol/clientCapabilities"]?["sampling"] != nil)
        #expect(sent?["_meta"]?["io.modelcontextprotocol/logLevel"] == "info")
        #expect(EraTranslation.params(nil, server: GatewayHarness.legacyServer, client: client, traceparent: nil) == nil)
        let stripped = EraTranslation.params(
            .object([("_meta", .object([("io.modelcontextprotocol/protocolVersion", "2026-07-28")]))]), server: GatewayHarness.legacyServer,
            client: client, traceparent: nil)
        #expect(stripped == .object([]))
    }

    @Test func traceparentIsKeptWhenValidAndReplacedWhenNot() {
        var counter: UInt64 = 0
        let next = { () -> UInt64 in
            counter += 1
            return counter
        }
        let kept = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", random: next)
        #expect(kept.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(!kept.sampled)
        #expect(kept.traceparent.hasPrefix("00-4bf92f3577b34da6a3ce929d0e0e4736-"))
        #expect(kept.traceparent.hasSuffix("-00"))
        for bad in [
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "garbage",
        ] {
            #expect(TraceContext(traceparent: bad, random: next).traceID.count == 32, "\(bad)")
            #expect(TraceContext(traceparent: bad, random: next).traceID != "4bf92f3577b34da6a3ce929d0e0e4736")
        }
        #expect(TraceContext.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future")?.sampled == true)
    }

    @Test func versionsAndAcceptance() {
        #expect(ProtocolVersions.negotiate("2025-03-26") == "2025-03-26")
        #expect(ProtocolVersions.negotiate("2026-07-28") == "2025-11-25")
        #expect(ProtocolVersions.negotiate(nil) == "2025-11-25")
        #expect(Acceptance(nil).json && Acceptance(nil).stream)
        #expect(Acceptance("*/*").stream)
        let jsonOnly = Acceptance("application/json; q=1")
        #expect(jsonOnly.json && !jsonOnly.stream)
        #expect(Gateway.mediaType(" Application/JSON ; charset=utf-8") == "application/json")
        #expect(GatewayMetrics.label("made/up") == "other")
        #expect(Gateway.escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd")
    }
}
