import Desired
import HTTP
import JSON
import Testing

@testable import Actual
@testable import Gateway

/// The request path's guards and failure handling: rate limit, concurrency, timeout with
/// cancellation at the server, breaker, retries of idempotent methods, a server that goes
/// away, and refusals that say why at once.
@Suite struct GuardedForwardingTests {
    @Test func theBucketAdmitsItsBurstThen429WithRetryAfter() async throws {
        let harness = try GatewayHarness(limits: Limits(rps: 1, burst: 2, concurrency: 8, requestTimeout: .seconds(10)))
        for _ in 0..<2 { #expect(try await harness.modern("tools/list").status == 200) }
        let refused = try await harness.modern("tools/list")
        #expect(refused.status == 429)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.json?["error"]?["code"] == -32001)
        harness.clock.advance(.seconds(1))
        #expect(try await harness.modern("tools/list").status == 200)
        #expect(harness.gateway.metrics.count(server: "demo", method: "tools/list", outcome: "rate_limited") == 1)
        await harness.stop()
    }

    @Test func beyondConcurrencyARequestWaitsForASlot() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .seconds(10)), upstream: upstream)
        async let first = harness.modern("tools/call", id: 1, params: [("name", "a")])
        await harness.eventually("the first request") { upstream.pendingIDs.count == 1 }
        async let second = harness.modern("tools/call", id: 2, params: [("name", "b")])
        await harness.eventually("the second to queue") { harness.gateway.metricsText().contains(#"omni_gateway_queued{server="demo"} 1"#) }
        #expect(upstream.received.count == 1)
        upstream.reply(1, .success(.object([])))
        await harness.eventually("the second request") { upstream.pendingIDs == [2] }
        upstream.reply(2, .success(.object([])))
        #expect(try await first.json?["id"] == 1)
        #expect(try await second.json?["id"] == 2)
        await harness.stop()
    }

    @Test func aFullQueueIsRefusedAtOnce() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 1, requestTimeout: .seconds(10)), upstream: upstream)
        var waiting: [Task<GatewayHarness.Reply, any Error>] = []
        for index in 0..<5 { waiting.append(Task { try await harness.modern("tools/call", id: .int(index), params: [("name", "a")]) }) }
        await harness.eventually("four to queue") { harness.gateway.metricsText().contains(#"omni_gateway_queued{server="demo"} 4"#) }
        let refused = try await harness.modern("tools/call", id: 99, params: [("name", "a")])
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["code"] == -32008)
        // Each waiter gets the slot in turn once the one before is answered.
        for _ in 0..<5 {
            await harness.eventually("the next request") { upstream.pendingIDs.count == 1 }
            if let id = upstream.pendingIDs.first { upstream.reply(id, .success(.object([]))) }
        }
        for task in waiting { #expect(try await task.value.status == 200) }
        await harness.stop()
    }

    @Test func aTimeoutCancelsAtTheServerAndAnswers504() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 4, requestTimeout: .milliseconds(150)), upstream: upstream)
        let reply = try await harness.modern("tools/call", params: [("name", "sleep")])
        #expect(reply.status == 504)
        #expect(reply.json?["error"]?["code"] == -32004)
        #expect(reply.json?["error"]?["message"]?.stringValue?.contains("150ms") == true)
        #expect(upstream.abandoned.first?.1 == "timed out")
        await harness.stop()
    }

    @Test func aClientThatLeavesCancelsItsRequestAtTheServer() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let body: JSONValue = .object([
            ("jsonrpc", "2.0"), ("id", 1), ("method", "tools/call"),
            ("params", .object([("name", "sleep"), ("_meta", GatewayHarness.modernMeta)])),
        ])
        let request = HTTPClientRequest(
            method: "POST", target: "/mcp/demo",
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/call"), ("Mcp-Name", "sleep"),
                ("Content-Type", "application/json"),
            ], body: body.renderedBytes())
        let (_, call) = harness.stream(request)
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        call.cancel()
        await harness.eventually("the cancellation") { !upstream.abandoned.isEmpty }
        #expect(upstream.abandoned.first?.1 == "client disconnected")
        await harness.eventually("the record") { harness.reported.contains { $0.outcome == "cancelled" } }
        await harness.stop()
    }

    @Test func aServerThatGoesAwayFailsItsRequestsAtOnceAndListsAreRetried() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        async let call = harness.modern("tools/call", params: [("name", "sleep")])
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        upstream.close()
        let failed = try await call
        #expect(failed.status == 502)
        #expect(failed.json?["error"]?["code"] == -32006)
        // An idempotent list is sent again after the backoff, and the second attempt answers.
        upstream.script(.fail(.closed("exited")), .answer(.object([("tools", .array([]))])))
        let listed = try await harness.modern("tools/list")
        #expect(listed.status == 200)
        #expect(upstream.received.filter { $0.method == "tools/list" }.count == 2)
        // A tools/call is never sent twice.
        upstream.script(.refuse(.unwritable("queue full")))
        let once = try await harness.modern("tools/call", params: [("name", "echo")])
        #expect(once.status == 502)
        #expect(upstream.received.filter { $0.method == "tools/call" }.count == 2)
        await harness.stop()
    }

    @Test func theBreakerOpensAfterConsecutiveFailuresAndRefusesFast() async throws {
        let upstream = FakeUpstream { _, _ in .fail(.protocolViolation("garbage")) }
        let harness = try GatewayHarness(upstream: upstream)
        for _ in 0..<5 { #expect(try await harness.modern("tools/call", params: [("name", "x")]).status == 502) }
        let open = try await harness.modern("tools/call", params: [("name", "x")])
        #expect(open.status == 503)
        #expect(open.json?["error"]?["code"] == -32003)
        #expect(open.header("Retry-After") != nil)
        #expect(upstream.received.count == 5)
        #expect(harness.gateway.metricsText().contains(#"omni_gateway_breaker_state{server="demo"} 2"#))
        await harness.stop()
    }

    @Test func limitsChangeInPlaceAndAServerThatLeavesIsForgotten() async throws {
        let harness = try GatewayHarness(limits: Limits(rps: 1, burst: 1, concurrency: 8, requestTimeout: .seconds(10)))
        #expect(try await harness.modern("tools/list").status == 200)
        #expect(try await harness.modern("tools/list").status == 429)
        harness.gateway.configure(
            servers: ["demo": .init(limits: Limits(rps: 100, burst: 100, concurrency: 8, requestTimeout: .seconds(10)), backoff: [])],
            notRunnable: [:])
        #expect(try await harness.modern("tools/list").status == 200)
        harness.gateway.configure(servers: [:], notRunnable: [:])
        harness.gateway.retire(InstanceID(name: "demo", number: 1), reason: "removed")
        #expect(try await harness.modern("tools/list").status == 503)
        await harness.stop()
    }
}
