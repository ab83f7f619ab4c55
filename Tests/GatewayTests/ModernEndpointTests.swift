import Desired
import HTTP
import JSON
import Testing

@testable import Actual
@testable import Gateway

/// `/mcp/<name>` for 2026-07-28 clients: header checks with the spec's errors, translation to
/// and from the server's era, answers the gateway gives itself, SSE when progress comes.
@Suite struct ModernEndpointTests {
    @Test func aToolCallReachesAModernServerWithTheClientsMetaAndComesBackComplete() async throws {
        let harness = try GatewayHarness()
        let reply = try await harness.modern("tools/call", id: "a", params: [("name", "echo"), ("arguments", .object([("text", "hi")]))])
        #expect(reply.status == 200)
        let result = try #require(reply.json?["result"])
        #expect(reply.json?["id"] == "a")
        #expect(result["resultType"] == "complete")
        #expect(result["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "demo-server")
        let sent = try #require(harness.upstream.received.first)
        #expect(sent.method == "tools/call")
        #expect(sent.params?["_meta"]?["io.modelcontextprotocol/protocolVersion"] == "2026-07-28")
        #expect(sent.params?["_meta"]?["io.modelcontextprotocol/clientInfo"]?["name"] == "test")
        #expect(sent.params?["_meta"]?["traceparent"]?.stringValue?.hasPrefix("00-") == true)
        #expect(sent.params?["arguments"]?["text"] == "hi")
        await harness.eventually("the record") { harness.reported.count == 1 }
        #expect(harness.reported.first?.tool == "echo")
        #expect(harness.reported.first?.outcome == "ok")
        await harness.stop()
    }

    @Test func aLegacyServerGetsNoModernMetaAndItsListGetsCachingHints() async throws {
        let upstream = FakeUpstream { _, _ in .answer(.object([("tools", .array([]))])) }
        let harness = try GatewayHarness(identity: GatewayHarness.legacyServer, upstream: upstream)
        let reply = try await harness.modern(
            "tools/list", meta: GatewayHarness.modernMeta.setting("progressToken", to: 7),
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list"),
                ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            ])
        let result = try #require(reply.json?["result"])
        #expect(result["resultType"] == "complete")
        #expect(result["ttlMs"] == 0)
        #expect(result["cacheScope"] == "private")
        let meta = try #require(upstream.received.first?.params?["_meta"])
        #expect(meta["io.modelcontextprotocol/protocolVersion"] == nil)
        #expect(meta["progressToken"] == 7)
        #expect(meta["traceparent"]?.stringValue?.contains("0af7651916cd43dd8448eb211c80319c") == true)
        await harness.eventually("the record") { harness.reported.count == 1 }
        #expect(harness.reported.first?.traceID == "0af7651916cd43dd8448eb211c80319c")
        await harness.stop()
    }

    @Test func headersThatDisagreeWithTheBodyAre32020AndAnUnknownVersionIs32022() async throws {
        let harness = try GatewayHarness()
        let call: [(String, JSONValue)] = [("name", "echo")]
        let noMethod = try await harness.modern(
            "tools/call", params: call, headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Name", "echo")])
        #expect(noMethod.status == 400)
        #expect(noMethod.json?["error"]?["code"] == -32020)
        #expect(noMethod.json?["id"] == 1)
        let wrongName = try await harness.modern(
            "tools/call", params: call,
            headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "add")])
        #expect(wrongName.json?["error"]?["code"] == -32020)
        let twice = try await harness.modern(
            "tools/list", headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list"), ("Mcp-Method", "tools/list")])
        #expect(twice.json?["error"]?["code"] == -32020)
        let mismatch = try await harness.modern(
            "tools/list", meta: GatewayHarness.modernMeta.setting("io.modelcontextprotocol/protocolVersion", to: "2027-01-01"))
        #expect(mismatch.json?["error"]?["code"] == -32020)
        let future = GatewayHarness.modernMeta.setting("io.modelcontextprotocol/protocolVersion", to: "2027-01-01")
        let unknown = try await harness.modern(
            "tools/list", meta: future, headers: [("MCP-Protocol-Version", "2027-01-01"), ("Mcp-Method", "tools/list")])
        #expect(unknown.status == 400)
        #expect(unknown.json?["error"]?["code"] == -32022)
        #expect(unknown.json?["error"]?["data"]?["requested"] == "2027-01-01")
        #expect(unknown.json?["error"]?["data"]?["supported"]?.arrayValue?.contains("2026-07-28") == true)
        #expect(unknown.json?["error"]?["data"]?["supported"]?.arrayValue?.contains("2025-11-25") == true)
        let noMeta = try await harness.modern("tools/list", meta: .object([]))
        #expect(noMeta.json?["error"]?["code"] == -32602)
        let noCapabilities = try await harness.modern(
            "tools/list", meta: .object([("io.modelcontextprotocol/protocolVersion", "2026-07-28")]))
        #expect(noCapabilities.json?["error"]?["code"] == -32602)
        #expect(harness.upstream.received.isEmpty)
        await harness.stop()
    }

    @Test func aBase64NameMatchesItsDecodedBody() async throws {
        let harness = try GatewayHarness()
        let name = "Hello, 世界"
        let reply = try await harness.modern(
            "tools/call", params: [("name", .string(name))],
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "=?base64?SGVsbG8sIOS4lueVjA==?="),
            ])
        #expect(reply.status == 200)
        #expect(ModernRequestCheck.decodeHeader("=?base64?not base64?=") == nil)
        #expect(ModernRequestCheck.decodeHeader("plain") == "plain")
        await harness.stop()
    }

    @Test func serverDiscoverIsAnsweredFromTheRecordedIdentity() async throws {
        let harness = try GatewayHarness()
        let reply = try await harness.modern("server/discover")
        let result = try #require(reply.json?["result"])
        #expect(result["supportedVersions"] == .array(["2026-07-28"]))
        #expect(result["capabilities"]?["tools"] != nil)
        #expect(result["capabilities"]?["logging"] == nil)
        #expect(result["instructions"] == "be nice")
        #expect(result["_meta"]?["io.modelcontextprotocol/serverInfo"]?["version"] == "1.2.3")
        #expect(harness.upstream.received.isEmpty)
        let legacyOnly = try await harness.modern("initialize")
        #expect(legacyOnly.status == 404)
        #expect(legacyOnly.json?["error"]?["code"] == -32601)
        await harness.stop()
    }

    @Test func progressTurnsTheAnswerIntoAStreamThatEndsWithTheResult() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let meta = GatewayHarness.modernMeta.setting("progressToken", to: "p1")
        async let reply = harness.modern("tools/call", id: 9, params: [("name", "sleep")], meta: meta)
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        let id = try #require(upstream.pendingIDs.first)
        upstream.progress(id, .object([("progressToken", "p1"), ("progress", 1), ("total", 2)]))
        upstream.progress(id, .object([("progressToken", "p1"), ("progress", 2), ("total", 2)]))
        upstream.reply(id, .success(.object([("content", .array([]))])))
        let answered = try await reply
        #expect(answered.header("Content-Type") == "text/event-stream")
        #expect(answered.header("X-Accel-Buffering") == "no")
        let messages = answered.messages
        #expect(messages.count == 3)
        #expect(messages.first?["method"] == "notifications/progress")
        #expect(messages.first?["params"]?["progressToken"] == "p1")
        #expect(messages.last?["id"] == 9)
        #expect(messages.last?["result"]?["resultType"] == "complete")
        await harness.stop()
    }

    @Test func withoutStreamsInAcceptProgressIsDroppedAndTheAnswerIsJSON() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let meta = GatewayHarness.modernMeta.setting("progressToken", to: 1)
        async let reply = harness.modern("tools/call", params: [("name", "sleep")], meta: meta, accept: "application/json")
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        let id = try #require(upstream.pendingIDs.first)
        upstream.progress(id, .object([("progressToken", 1), ("progress", 1)]))
        upstream.reply(id, .success(.object([])))
        let answered = try await reply
        #expect(answered.header("Content-Type") == "application/json")
        #expect(answered.json?["result"]?["resultType"] == "complete")
        await harness.stop()
    }

    @Test func notificationsAre202AndResponsesAreRefused() async throws {
        let harness = try GatewayHarness()
        let note = try await harness.post(
            body: #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            headers: [("MCP-Protocol-Version", "2026-07-28")])
        #expect(note.status == 202)
        #expect(note.body.isEmpty)
        let future = try await harness.post(
            body: #"{"jsonrpc":"2.0","method":"notifications/x"}"#, headers: [("MCP-Protocol-Version", "2099-01-01")])
        #expect(future.json?["error"]?["code"] == -32022)
        let response = try await harness.post(
            body: #"{"jsonrpc":"2.0","id":3,"result":{}}"#, headers: [("MCP-Protocol-Version", "2026-07-28")])
        #expect(response.status == 400)
        #expect(response.json?["error"]?["code"] == -32600)
        await harness.stop()
    }

    @Test func aModernServersInputRequiredCannotReachALegacyClient() async throws {
        let upstream = FakeUpstream { _, _ in .answer(.object([("resultType", "input_required"), ("requestState", "x")])) }
        let harness = try GatewayHarness(upstream: upstream)
        let session = try await harness.initialize()
        let reply = try await harness.legacy("tools/call", params: .object([("name", "ask")]), session: session)
        #expect(reply.json?["error"]?["code"] == -32603)
        #expect(reply.json?["error"]?["message"]?.stringValue?.contains("input_required") == true)
        await harness.stop()
    }

    @Test func aListenStreamIsAcknowledgedAndCarriesOnlyWhatItAskedFor() async throws {
        let harness = try GatewayHarness()
        let body: JSONValue = .object([
            ("jsonrpc", "2.0"), ("id", "listen-1"), ("method", "subscriptions/listen"),
            (
                "params",
                .object([
                    ("_meta", GatewayHarness.modernMeta),
                    ("notifications", .object([("toolsListChanged", true), ("promptsListChanged", true)])),
                ])
            ),
        ])
        let request = HTTPClientRequest(
            method: "POST", target: "/mcp/demo",
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "subscriptions/listen"),
                ("Accept", "application/json, text/event-stream"),
                ("Content-Type", "application/json"),
            ], body: body.renderedBytes())
        let (chunks, call) = harness.stream(request)
        await harness.eventually("the acknowledgement") { chunks.text.contains("acknowledged") }
        #expect(chunks.text.contains(#""toolsListChanged":true"#))
        // The server did not declare prompts.listChanged: not agreed.
        #expect(!chunks.text.contains("promptsListChanged"))
        harness.gateway.relay(from: InstanceID(name: "demo", number: 1), method: "notifications/tools/list_changed", params: nil)
        harness.gateway.relay(from: InstanceID(name: "demo", number: 1), method: "notifications/prompts/list_changed", params: nil)
        // Another instance's notification is not this route's.
        harness.gateway.relay(from: InstanceID(name: "demo", number: 7), method: "notifications/tools/list_changed", params: nil)
        await harness.eventually("the notification") { chunks.text.contains("tools/list_changed") }
        #expect(chunks.text.contains(#""io.modelcontextprotocol/subscriptionId":"listen-1""#))
        #expect(harness.gateway.metricsText().contains(#"omni_gateway_listen_streams{server="demo"} 1"#))
        harness.gateway.shutdown()
        await harness.eventually("the graceful end") { chunks.ended }
        // Once: instance 7's notification was not relayed.
        #expect(chunks.text.components(separatedBy: "tools/list_changed").count == 2)
        #expect(chunks.text.contains(#""id":"listen-1","result""#))
        #expect(!chunks.text.contains("prompts/list_changed"))
        call.cancel()
        await harness.stop()
    }

    @Test func aListenWithoutStreamsInAcceptIs406() async throws {
        let harness = try GatewayHarness()
        let reply = try await harness.modern("subscriptions/listen", accept: "application/json")
        #expect(reply.status == 406)
        await harness.stop()
    }
}
