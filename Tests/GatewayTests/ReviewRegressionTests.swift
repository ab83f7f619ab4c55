import HTTP
import JSON
import Testing

@testable import Actual
@testable import Desired
@testable import Gateway

/// Regressions for what an independent review of the gateway change found (slot and registry
/// races, a modern server's own requestState, error statuses, relays after a given-up call,
/// unanswered relays, waiters of a removed server, per-path body limits).
@Suite struct ReviewRegressionTests {
    @Test func aWaiterThatTimesOutLeavesNoSlotBehind() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .milliseconds(200)), upstream: upstream)
        async let first = harness.modern("tools/call", id: 1, params: [("name", "a")])
        // Seen arriving (it may time out at any moment after: both orders end the same way).
        await harness.eventually("the first call") { upstream.received.count == 1 }
        let waited = try await harness.modern("tools/call", id: 2, params: [("name", "b")])
        #expect(waited.status == 504)
        #expect(try await first.status == 504)
        // Both timed out; the one slot is free again: the next call reaches the server.
        upstream.script(.answer(.object([])))
        let next = try await harness.modern("tools/call", id: 3, params: [("name", "c")])
        #expect(next.status == 200)
        #expect(harness.gateway.metricsText().contains(#"omni_gateway_in_flight{server="demo"} 0"#))
        await harness.stop()
    }

    @Test func aModernServersOwnRequestStateGoesToTheServer() async throws {
        let upstream = FakeUpstream { _, _ in .answer(.object([("resultType", "input_required"), ("requestState", "server-state")])) }
        let harness = try GatewayHarness(upstream: upstream)
        let first = try await harness.modern("tools/call", id: 1, params: [("name", "ask")])
        #expect(first.json?["result"]?["requestState"] == "server-state")
        upstream.script(.answer(.object([("content", .array([]))])))
        let retry = try await harness.modern(
            "tools/call", id: 2, params: [("name", "ask"), ("requestState", "server-state"), ("inputResponses", .object([]))])
        #expect(retry.status == 200)
        #expect(upstream.received.count == 2)
        #expect(upstream.received.last?.params?["requestState"] == "server-state")
        let forged = try await harness.modern("tools/call", id: 3, params: [("name", "ask"), ("requestState", "omni-parked-nope")])
        #expect(forged.status == 400)
        await harness.stop()
    }

    @Test func aServersMethodNotFoundIs404ForAModernClientAnd200ForALegacyOne() async throws {
        let upstream = FakeUpstream { _, _ in .fail(.remote(RPCErrorObject(code: -32601, message: "no such method"))) }
        let harness = try GatewayHarness(upstream: upstream)
        let modern = try await harness.modern("resources/list")
        #expect(modern.status == 404)
        #expect(modern.json?["error"]?["code"] == -32601)
        let session = try await harness.initialize()
        let legacy = try await harness.legacy("resources/list", session: session)
        #expect(legacy.status == 200)
        #expect(legacy.json?["error"]?["code"] == -32601)
        await harness.stop()
    }

    @Test func afterAGivenUpCallTheServersRequestsAreNotRelayedToSomeoneElse() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            identity: GatewayHarness.legacyServer, limits: Limits(rps: 100, burst: 100, concurrency: 8, requestTimeout: .milliseconds(150)),
            upstream: upstream)
        let meta = GatewayHarness.modernMeta.setting("io.modelcontextprotocol/clientCapabilities", to: .object([("roots", .object([]))]))
        #expect(try await harness.modern("tools/call", id: 1, params: [("name", "a")], meta: meta).status == 504)
        async let other = harness.modern("tools/call", id: 2, params: [("name", "b")], meta: meta)
        // Whether or not it is still in flight (it has a short deadline), the relay is refused.
        await harness.eventually("the second call") { upstream.received.count == 2 }
        #expect(upstream.ask(ServerRequest(id: .int(9), method: "roots/list", params: nil)))
        #expect(upstream.lastError?.message.contains("given up") == true)
        _ = try await other
        await harness.stop()
    }

    @Test func aRelayedRequestTheClientNeverAnsweredGetsAnErrorWhenTheCallEnds() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(identity: GatewayHarness.legacyServer, upstream: upstream)
        let session = try await harness.initialize(capabilities: .object([("roots", .object([]))]))
        async let reply = harness.legacy("tools/call", id: "t", params: .object([("name", "ask")]), session: session)
        await harness.eventually("the call") { upstream.pendingIDs.count == 1 }
        #expect(upstream.ask(ServerRequest(id: .int(77), method: "roots/list", params: nil)))
        await harness.eventually("the relay") { harness.gateway.state.withLock { !$0.relayed.isEmpty } }
        upstream.reply(try #require(upstream.pendingIDs.first), .success(.object([])))
        _ = try await reply
        await harness.eventually("the error to the server") { upstream.answers.contains { $0.0 == .int(77) } }
        #expect(harness.gateway.state.withLock { $0.relayed.isEmpty })
        await harness.stop()
    }

    @Test func waitersForAServerThatLeavesAreRefusedAtOnce() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .seconds(20)), upstream: upstream)
        async let first = harness.modern("tools/call", id: 1, params: [("name", "a")])
        await harness.eventually("the first call") { upstream.pendingIDs == [1] }
        async let second = harness.modern("tools/call", id: 2, params: [("name", "b")])
        await harness.eventually("the waiter") { harness.gateway.metricsText().contains(#"omni_gateway_queued{server="demo"} 1"#) }
        harness.gateway.configure(servers: [:], notRunnable: [:])
        let refused = try await second
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("left the configuration") == true)
        upstream.close()
        _ = try await first
        await harness.stop()
    }

    @Test func bodyLimitsFollowThePathPrefix() {
        let limits = HTTPLimits(body: 100, bodyByPrefix: ["/mcp/": 1000, "/mcp/big/": 5000])
        #expect(limits.bodyLimit(for: "/status") == 100)
        #expect(limits.bodyLimit(for: "/mcp/demo") == 1000)
        #expect(limits.bodyLimit(for: "/mcp/big/x") == 5000)
        #expect(limits.bodyLimit(for: "/mcpx") == 100)
    }
}

/// `Mcp-Param-*` headers checked against the tool's `x-mcp-header` annotations.
@Suite struct ParamHeaderTests {
    static let tools: JSONValue = .array([
        .object([
            ("name", "deploy"),
            (
                "inputSchema",
                .object([
                    (
                        "properties",
                        .object([
                            ("region", .object([("type", "string"), ("x-mcp-header", "Region")])),
                            ("replicas", .object([("type", "integer"), ("x-mcp-header", "Replicas")])),
                            ("dry", .object([("type", "boolean"), ("x-mcp-header", "Dry")])),
                            ("note", .object([("type", "string")])),
                        ])
                    )
                ])
            ),
        ])
    ])

    func call(_ harness: GatewayHarness, arguments: JSONValue, headers: [(String, String)]) async throws -> GatewayHarness.Reply {
        try await harness.modern(
            "tools/call", params: [("name", "deploy"), ("arguments", arguments)],
            headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "deploy")] + headers)
    }

    @Test func annotatedArgumentsNeedMatchingHeaders() async throws {
        let harness = try GatewayHarness(tools: Self.tools)
        let full: JSONValue = .object([("region", "eu-west-1"), ("replicas", 3), ("dry", true), ("note", "x")])
        let ok = try await call(
            harness, arguments: full,
            headers: [("Mcp-Param-Region", "eu-west-1"), ("Mcp-Param-Replicas", "3.0"), ("Mcp-Param-Dry", "true")])
        #expect(ok.status == 200)
        let missing = try await call(harness, arguments: full, headers: [("Mcp-Param-Region", "eu-west-1"), ("Mcp-Param-Dry", "true")])
        #expect(missing.status == 400)
        #expect(missing.json?["error"]?["code"] == -32020)
        #expect(missing.json?["error"]?["message"]?.stringValue?.contains("Mcp-Param-Replicas") == true)
        let wrong = try await call(
            harness, arguments: full, headers: [("Mcp-Param-Region", "us-east-1"), ("Mcp-Param-Replicas", "3"), ("Mcp-Param-Dry", "true")])
        #expect(wrong.json?["error"]?["code"] == -32020)
        let encoded = try await call(
            harness, arguments: .object([("region", "Zürich")]), headers: [("Mcp-Param-Region", "=?base64?WsO8cmljaA==?=")])
        #expect(encoded.status == 200)
        let extra = try await call(harness, arguments: .object([("region", .null)]), headers: [("Mcp-Param-Region", "x")])
        #expect(extra.status == 400)
        let unknownTool = try await harness.modern("tools/call", params: [("name", "other"), ("arguments", .object([("region", "x")]))])
        #expect(unknownTool.status == 200)
        await harness.stop()
    }

    @Test func toolListsPassingThroughTeachTheAnnotations() async throws {
        let upstream = FakeUpstream { method, _ in
            method == "tools/list" ? .answer(.object([("tools", ParamHeaderTests.tools)])) : .answer(.object([]))
        }
        // The gateway's own listing when the process is routed fails: nothing is known yet.
        upstream.script(.fail(.closed("starting")))
        let harness = try GatewayHarness(upstream: upstream)
        #expect(try await call(harness, arguments: .object([("region", "a")]), headers: []).status == 200)
        #expect(try await harness.modern("tools/list").status == 200)
        #expect(try await call(harness, arguments: .object([("region", "a")]), headers: []).status == 400)
        #expect(ParamHeaders.matches("1", .double(1.0)))
        #expect(!ParamHeaders.matches("1.5", .double(1.5)))
        #expect(!ParamHeaders.matches("x", .array([])))
        await harness.stop()
    }
}
