import HTTP
import JSON
import Testing

@testable import Actual
@testable import Gateway

/// `/mcp/<name>` for clients of 2025-03-26 … 2025-11-25: the handshake answered by the gateway,
/// sessions, the GET stream, DELETE, ping, cancellation, and the exact 400/404/405 cases.
@Suite struct LegacyEndpointTests {
    @Test func initializeNegotiatesAndOpensASealedSession() async throws {
        let harness = try GatewayHarness()
        let body =
            #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26","capabilities":{"sampling":{}},"clientInfo":{"name":"x","version":"1"}}}"#
        let reply = try await harness.post(body: body)
        #expect(reply.status == 200)
        let session = try #require(reply.header("Mcp-Session-Id"))
        // Sealed: visible ASCII, with 128 random bits inside.
        #expect(session.hasPrefix("s1.") && session.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E })
        #expect(harness.gateway.state.withLock { $0.sessions.seal.open(session)?.server } == "demo")
        let result = try #require(reply.json?["result"])
        #expect(result["protocolVersion"] == "2025-03-26")
        #expect(result["serverInfo"]?["name"] == "demo-server")
        #expect(result["capabilities"]?["tools"] != nil)
        #expect(result["resultType"] == nil)
        let unknownVersion = try await harness.post(
            body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{}}}"#)
        #expect(unknownVersion.json?["result"]?["protocolVersion"] == "2025-11-25")
        #expect(harness.upstream.received.isEmpty)
        await harness.stop()
    }

    @Test func aLegacyClientReachesAModernServerWithMetaBuiltFromItsSession() async throws {
        let harness = try GatewayHarness()
        let session = try await harness.initialize(capabilities: .object([("roots", .object([]))]))
        let initialized = try await harness.legacy("notifications/initialized", id: nil, session: session)
        #expect(initialized.status == 202)
        let reply = try await harness.legacy("tools/call", id: "c1", params: .object([("name", "echo")]), session: session)
        #expect(reply.status == 200)
        #expect(reply.json?["id"] == "c1")
        #expect(reply.json?["result"]?["ok"] == true)
        #expect(reply.json?["result"]?["resultType"] == nil)
        let meta = try #require(harness.upstream.received.first?.params?["_meta"])
        #expect(meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28")
        #expect(meta["io.modelcontextprotocol/clientCapabilities"]?["roots"] != nil)
        #expect(meta["io.modelcontextprotocol/clientInfo"]?["name"] == "legacy")
        await harness.stop()
    }

    @Test func modernFieldsAreStrippedForALegacyClient() async throws {
        let upstream = FakeUpstream { _, _ in
            .answer(
                .object([
                    ("resultType", "complete"), ("tools", .array([])), ("ttlMs", 5), ("cacheScope", "public"),
                    ("_meta", .object([("io.modelcontextprotocol/serverInfo", .object([])), ("mine", 1)])),
                ]))
        }
        let harness = try GatewayHarness(upstream: upstream)
        let session = try await harness.initialize()
        let reply = try await harness.legacy("tools/list", session: session)
        let result = try #require(reply.json?["result"])
        #expect(result["resultType"] == nil)
        #expect(result["ttlMs"] == nil)
        #expect(result["cacheScope"] == nil)
        #expect(result["_meta"] == .object([("mine", 1)]))
        await harness.stop()
    }

    @Test func theSessionCasesAreExactly400_404_405() async throws {
        let harness = try GatewayHarness()
        let missing = try await harness.legacy("tools/list", session: nil)
        #expect(missing.status == 400)
        #expect(missing.json?["error"]?["message"]?.stringValue?.contains("Missing session ID") == true)
        let unknown = try await harness.legacy("tools/list", session: "00000000000000000000000000000000")
        #expect(unknown.status == 404)
        #expect(unknown.json?["error"]?["message"] == "Session not found")
        let getWithout = try await harness.send(
            HTTPClientRequest(method: "GET", target: "/mcp/demo", headers: [("Accept", "text/event-stream")]))
        #expect(getWithout.status == 405)
        #expect(getWithout.header("Allow") == "POST")
        let deleteWithout = try await harness.send(HTTPClientRequest(method: "DELETE", target: "/mcp/demo"))
        #expect(deleteWithout.status == 405)
        let session = try await harness.initialize()
        let again = try await harness.legacy("initialize", params: .object([("protocolVersion", "2025-06-18")]), session: session)
        #expect(again.status == 400)
        let ping = try await harness.legacy("ping", id: 5, session: session)
        #expect(ping.json?["result"] == .object([]))
        // A session belongs to the endpoint that issued it.
        let elsewhere = try await harness.post(
            "/mcp/off", body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, headers: [("Mcp-Session-Id", session)])
        #expect(elsewhere.status == 404)
        let deleted = try await harness.send(
            HTTPClientRequest(method: "DELETE", target: "/mcp/demo", headers: [("Mcp-Session-Id", session)]))
        #expect(deleted.status == 200)
        let after = try await harness.legacy("tools/list", session: session)
        #expect(after.status == 404)
        let deleteUnknown = try await harness.send(
            HTTPClientRequest(method: "DELETE", target: "/mcp/demo", headers: [("Mcp-Session-Id", session)]))
        #expect(deleteUnknown.status == 404)
        let modernBodyNoHeaders = try await harness.post(
            body: JSONValue.object([
                ("jsonrpc", "2.0"), ("id", 1), ("method", "tools/list"), ("params", .object([("_meta", GatewayHarness.modernMeta)])),
            ])
            .rendered())
        #expect(modernBodyNoHeaders.json?["error"]?["code"] == -32020)
        await harness.stop()
    }

    @Test func theGetStreamCarriesChangeNotificationsAndASecondGetIs409() async throws {
        let harness = try GatewayHarness()
        let session = try await harness.initialize()
        let request = HTTPClientRequest(
            method: "GET", target: "/mcp/demo", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", session)])
        let (chunks, call) = harness.stream(request, markHead: true)
        await harness.eventually("the stream") { chunks.text.contains("HEAD") }
        let second = try await harness.send(request)
        #expect(second.status == 409)
        harness.gateway.relay(from: InstanceID(name: "demo", number: 1), method: "notifications/tools/list_changed", params: nil)
        harness.gateway.relay(from: InstanceID(name: "demo", number: 1), method: "notifications/message", params: .object([("data", "x")]))
        await harness.eventually("the notification") { chunks.text.contains("list_changed") }
        #expect(harness.gateway.metricsText().contains(#"omni_gateway_sessions{server="demo"} 1"#))
        let deleted = try await harness.send(
            HTTPClientRequest(method: "DELETE", target: "/mcp/demo", headers: [("Mcp-Session-Id", session)]))
        #expect(deleted.status == 200)
        await harness.eventually("the stream's end") { chunks.ended }
        // Checked once the stream is over: logging is not relayed.
        #expect(!chunks.text.contains("notifications/message"))
        call.cancel()
        await harness.stop()
    }

    @Test func cancelledIsForwardedWithTheSessionsIdAndTheClientGetsAnError() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let session = try await harness.initialize()
        async let reply = harness.legacy("tools/call", id: 42, params: .object([("name", "sleep")]), session: session)
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        let childID = try #require(upstream.pendingIDs.first)
        let cancel = try await harness.legacy(
            "notifications/cancelled", id: nil, params: .object([("requestId", 42), ("reason", "user pressed stop")]), session: session)
        #expect(cancel.status == 202)
        let answered = try await reply
        #expect(answered.json?["error"]?["code"] == -32800)
        #expect(upstream.abandoned.first?.0 == childID)
        #expect(upstream.abandoned.first?.1 == "user pressed stop")
        await harness.stop()
    }

    @Test func idleSessionsExpireAndTheCapEvictsTheOldest() {
        var table = LegacySessionTable(
            idle: .seconds(10), limit: 2, seal: SessionSeal(key: Array(repeating: 7, count: 32)), maxAge: .seconds(3600),
            wallClock: { 1_800_000_000 })
        let client = ClientContext(era: .legacy, version: "2025-06-18", capabilities: .object([]), info: nil, logLevel: nil)
        #expect(table.open(id: "a", server: "s", client: client, now: 0) == nil)
        #expect(table.open(id: "b", server: "s", client: client, now: 5_000_000_000) == nil)
        #expect(table.use("a", server: "s", now: 6_000_000_000) != nil)
        let evicted = table.open(id: "c", server: "s", client: client, now: 7_000_000_000)
        #expect(evicted?.id == "b")
        #expect(table.use("a", server: "other", now: 7_000_000_000) == nil)
        #expect(table.expire(now: 16_500_000_000).map(\.id) == ["a"])
        #expect(table.use("c", server: "s", now: 16_500_000_000) != nil)
        #expect(table.use("c", server: "s", now: 27_000_000_000) == nil)
        #expect(table.count == 1)
        #expect(LegacySessionTable.newID() != LegacySessionTable.newID())
    }
}
