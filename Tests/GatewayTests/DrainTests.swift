import Actual
import Desired
import HTTP
import JSON
import Synchronization
import Testing

@testable import Gateway

/// Replacement without loss at the gateway: the old instance finishes what it has, new requests
/// go to the new one, and the executor's stop waits for the first to end.
@Suite struct DrainTests {
    final class Flag: Sendable {
        let value = Mutex(false)
        var isSet: Bool { value.withLock { $0 } }
        func set() { value.withLock { $0 = true } }
    }

    @Test func aDrainWaitsForTheRequestsInFlightWhileNewOnesGoToTheSuccessor() async throws {
        let old = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: old)
        let first = InstanceID(name: "demo", number: 1)
        let second = InstanceID(name: "demo", number: 2)
        async let inFlight = harness.modern("tools/call", params: [("name", "slow")])
        await harness.eventually("the request at the old process") { !old.pendingIDs.isEmpty }
        #expect(harness.gateway.inFlight(at: first) == 1)

        let successor = FakeUpstream()
        harness.gateway.route(to: second, channel: successor, identity: GatewayHarness.modernServer)
        successor.settleLearning()
        let drained = Flag()
        let drain = Task {
            await harness.gateway.drain(first, reason: "replaced", wait: true)
            drained.set()
        }
        await harness.eventually("the drain waiting") { harness.gateway.state.withLock { $0.drainWaiters[first]?.count == 1 } }
        // A new request reaches the successor while the old one is still working.
        let fresh = try await harness.modern("tools/call", params: [("name", "echo")])
        #expect(fresh.status == 200)
        #expect(successor.received.map(\.method) == ["tools/call"])
        #expect(!drained.isSet)

        old.reply(try #require(old.pendingIDs.first), .success(.object([("content", .array([]))])))
        #expect(try await inFlight.status == 200)
        await drain.value
        #expect(drained.isSet)
        #expect(harness.gateway.inFlight(at: first) == 0)
        await harness.stop()
    }

    @Test func aDrainWithNothingInFlightOrWithoutWaitingReturnsAtOnce() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let first = InstanceID(name: "demo", number: 1)
        await harness.gateway.drain(first, reason: "replaced", wait: true)
        #expect(harness.gateway.activeInstance(of: "demo") == nil)
        // Routed again (the executor re-routes a successor first), a request is held there…
        harness.gateway.route(to: first, channel: upstream, identity: GatewayHarness.modernServer)
        upstream.settleLearning()
        async let call = harness.modern("tools/call", params: [("name", "slow")])
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        // …and an unhealthy process's stop does not wait for it.
        await harness.gateway.drain(first, reason: "unhealthy", wait: false)
        #expect(harness.gateway.inFlight(at: first) == 1)
        upstream.close()
        #expect(try await call.status == 502)
        await harness.stop()
    }

    @Test func aRetiredInstanceEndsItsDrain() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        let first = InstanceID(name: "demo", number: 1)
        async let call = harness.modern("tools/call", params: [("name", "slow")])
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        let drain = Task { await harness.gateway.drain(first, reason: "replaced", wait: true) }
        await harness.eventually("the drain waiting") { harness.gateway.state.withLock { $0.drainWaiters[first]?.count == 1 } }
        harness.gateway.retire(first, reason: "killed")
        await drain.value
        upstream.close()
        let failed = try await call
        #expect(failed.status == 502)
        await harness.stop()
    }
}

/// The gateway's part of a graceful shutdown: refuse new requests, let those in flight finish.
@Suite struct QuiesceTests {
    @Test func aShutdownRefusesNewRequestsAndWaitsForThoseInFlight() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        async let inFlight = harness.modern("tools/call", params: [("name", "slow")])
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        harness.gateway.shutdown()
        let quiesced = Task { await harness.gateway.quiesce(within: .seconds(20)) }
        // Waiting for real before the answer comes: otherwise 0 would prove nothing.
        await harness.eventually("the quiesce waiting") { harness.gateway.state.withLock { $0.quiesceWaiters.count == 1 } }
        let refused = try await harness.modern("tools/list")
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("shutting down") == true)
        upstream.reply(try #require(upstream.pendingIDs.first), .success(.object([("content", .array([]))])))
        #expect(try await inFlight.status == 200)
        #expect(await quiesced.value == 0)
        // Still taken while stopping: notifications (a cancellation, an answer); refused: new
        // sessions and streams.
        let notification = try await harness.post(
            body: #"{"jsonrpc":"2.0","method":"notifications/progress","params":{}}"#,
            headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "notifications/progress")])
        #expect(notification.status == 202)
        let initialize = try await harness.post(
            body: #"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}"#)
        #expect(initialize.status == 503)
        let get = try await harness.send(
            HTTPClientRequest(method: "GET", target: "/mcp/demo", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", "x")]))
        #expect(get.status == 503)
        #expect(await harness.gateway.quiesce(within: .seconds(20)) == 0)
        await harness.stop()
    }

    @Test func aQuiesceIsBounded() async throws {
        let upstream = FakeUpstream { _, _ in .hold }
        let harness = try GatewayHarness(upstream: upstream)
        async let inFlight = harness.modern("tools/call", params: [("name", "slow")])
        await harness.eventually("the request") { !upstream.pendingIDs.isEmpty }
        harness.gateway.shutdown()
        #expect(await harness.gateway.quiesce(within: .milliseconds(20)) == 1)
        upstream.close()
        #expect(try await inFlight.status == 502)
        await harness.stop()
    }
}
