import Actual
import Desired
import Foundation
import JSON
import Testing

@testable import Gateway

/// Requests for a server with no ready process: they wait for one that is coming (a start, a
/// restart in backoff) within their deadline, bounded in count, and are refused at once, with
/// why, when none is coming in time.
@Suite struct ReadinessWaitTests {
    let first = InstanceID(name: "demo", number: 1)

    func waiting(_ harness: GatewayHarness, _ count: Int) async {
        await harness.eventually("\(count) waiting") { harness.gateway.state.withLock { $0.readyWaiters["demo"]?.count ?? 0 } == count }
    }

    @Test func requestsWaitForTheFirstProcessAndGoThereOnceItIsReady() async throws {
        let harness = try GatewayHarness(route: false)
        async let list = harness.modern("tools/list")
        async let call = harness.modern("tools/call", id: 2, params: [("name", "echo")])
        await waiting(harness, 2)
        harness.gateway.route(to: first, channel: harness.upstream, identity: GatewayHarness.modernServer)
        #expect(try await list.status == 200)
        #expect(try await call.status == 200)
        #expect(harness.upstream.received.map(\.method).sorted() == ["tools/call", "tools/list", "tools/list"])
        await harness.stop()
    }

    @Test func aWaitThatOutlastsTheDeadlineIsA503SayingSo() async throws {
        let harness = try GatewayHarness(
            limits: Limits(rps: 100, burst: 100, concurrency: 4, requestTimeout: .milliseconds(150)), route: false)
        let reply = try await harness.modern("tools/list")
        #expect(reply.status == 503)
        #expect(reply.json?["error"]?["code"] == -32005)
        #expect(reply.json?["error"]?["message"]?.stringValue?.contains("no process became ready within 150ms") == true)
        #expect(harness.gateway.state.withLock { $0.readyWaiters["demo"]?.isEmpty ?? true })
        await harness.stop()
    }

    @Test func aQuarantineOrARestartPastTheDeadlineIsRefusedAtOnceAndEndsTheWaits() async throws {
        let harness = try GatewayHarness(route: false)
        async let waiter = harness.modern("tools/list")
        await waiting(harness, 1)
        // A backoff that ends after the deadline (10 s): the waiter is refused now, with why.
        let late = harness.clock.now + .seconds(60)
        harness.gateway.hold("demo", ServerHold(reason: "backoff: exited 1", restarts: true, startsAt: late))
        let refused = try await waiter
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("after this request's deadline") == true)
        // A backoff that ends in time: the request waits for the restart.
        harness.gateway.hold("demo", ServerHold(reason: "backoff: exited 1", restarts: true, startsAt: harness.clock.now + .seconds(1)))
        async let patient = harness.modern("tools/list")
        await waiting(harness, 1)
        harness.gateway.route(to: first, channel: harness.upstream, identity: GatewayHarness.modernServer)
        #expect(try await patient.status == 200)
        // Quarantined: refused at once.
        harness.gateway.retire(first, reason: "crashed")
        harness.gateway.hold("demo", ServerHold(reason: "quarantined: 5 exits in 60s", restarts: false))
        let held = try await harness.modern("tools/list")
        #expect(held.status == 503)
        #expect(held.json?["error"]?["message"]?.stringValue?.contains("quarantined") == true)
        await harness.stop()
    }

    @Test func aServerDisabledWhileRequestsWaitRefusesThem() async throws {
        let harness = try GatewayHarness(route: false)
        async let waiter = harness.modern("tools/list")
        await waiting(harness, 1)
        harness.gateway.configure(servers: [:], notRunnable: ["demo": "not running: disabled"])
        let refused = try await waiter
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("disabled") == true)
        let again = try await harness.modern("tools/list")
        #expect(again.json?["error"]?["message"]?.stringValue?.contains("disabled") == true)
        #expect(try await harness.modern("tools/list", path: "/mcp/nope").status == 404)
        await harness.stop()
    }

    @Test func waitsAreBoundedInCount() async throws {
        var options = Gateway.Options()
        options.maxWaitingForReady = 1
        let harness = try GatewayHarness(options: options, route: false)
        async let waiter = harness.modern("tools/list")
        await waiting(harness, 1)
        let refused = try await harness.modern("tools/list", id: 2)
        #expect(refused.status == 503)
        #expect(refused.json?["error"]?["code"] == -32008)
        #expect(refused.json?["error"]?["message"]?.stringValue?.contains("1 requests are waiting") == true)
        harness.gateway.route(to: first, channel: harness.upstream, identity: GatewayHarness.modernServer)
        #expect(try await waiter.status == 200)
        await harness.stop()
    }

    @Test func initializeAndDiscoverAreAnsweredFromTheLastProcessDuringARestart() async throws {
        let harness = try GatewayHarness()
        harness.gateway.retire(first, reason: "crashed")
        harness.gateway.hold("demo", ServerHold(reason: "backoff: exited 1", restarts: true, startsAt: harness.clock.now))
        let discover = try await harness.modern("server/discover")
        #expect(discover.status == 200)
        #expect(discover.json?["result"]?["instructions"] == "be nice")
        let session = try await harness.initialize()
        #expect(!session.isEmpty)
        // Quarantined: no process is coming, so nothing is answered in its name.
        harness.gateway.hold("demo", ServerHold(reason: "quarantined", restarts: false))
        #expect(try await harness.modern("server/discover").status == 503)
        await harness.stop()
    }
}
