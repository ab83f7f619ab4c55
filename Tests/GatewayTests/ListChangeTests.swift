import Actual
import HTTP
import JSON
import Testing

@testable import Gateway

/// `list_changed` after restarts: fingerprints per kind, one notification per stream for a
/// burst, none for a burst that ends where it began.
@Suite struct ListChangeTests {
    @Test func theFirstListingIsTheBaselineAndABurstIsToldOnce() {
        var watch = ListWatch()
        var steps: [Bool] = []
        steps.append(watch.listed(.tools, fingerprint: 1))
        let nothing = watch.flush()
        steps.append(watch.listed(.tools, fingerprint: 2))
        steps.append(watch.listed(.tools, fingerprint: 3))
        steps.append(watch.listed(.prompts, fingerprint: 9))
        let burst = watch.flush()
        let again = watch.flush()
        #expect(steps == [false, true, true, false])
        #expect(nothing.isEmpty)
        #expect(burst == [.tools])
        #expect(again.isEmpty)
        // Away and back within one burst: nothing to tell.
        let away = watch.listed(.tools, fingerprint: 4)
        let back = watch.listed(.tools, fingerprint: 3)
        let roundTrip = watch.flush()
        #expect(away && !back && roundTrip.isEmpty)
        // The server's own announcement is told whatever the fingerprints say.
        watch.announce(.resources)
        let announced = watch.flush()
        #expect(announced == [.resources])
        #expect(ListWatch.Kind(notification: "notifications/prompts/list_changed") == .prompts)
        #expect(ListWatch.Kind(notification: "notifications/message") == nil)
    }

    /// What a flush of `demo`'s lists would tell now (the gateway's own state is not changed).
    static func due(_ harness: GatewayHarness) -> [ListWatch.Kind] {
        var watch = harness.gateway.state.withLock { $0.lists["demo"] } ?? ListWatch()
        return watch.flush()
    }

    static func upstream(tools: [String]) -> FakeUpstream {
        let listed: JSONValue = .array(tools.map { .object([("name", .string($0))]) })
        return FakeUpstream { method, _ in method == "tools/list" ? .answer(.object([("tools", listed)])) : .answer(.object([])) }
    }

    @Test func restartsThatChangeTheToolsAreToldOnceToEveryStream() async throws {
        var options = Gateway.Options()
        options.listChangedQuiet = .milliseconds(50)
        let harness = try GatewayHarness(options: options, upstream: ListChangeTests.upstream(tools: ["echo"]), route: false)
        harness.gateway.route(to: InstanceID(name: "demo", number: 1), channel: harness.upstream, identity: GatewayHarness.modernServer)
        let session = try await harness.initialize()
        let get = HTTPClientRequest(
            method: "GET", target: "/mcp/demo", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", session)])
        let (legacy, legacyCall) = harness.stream(get, markHead: true)
        await harness.eventually("the GET stream") { legacy.text.contains("HEAD") }
        let meta = GatewayHarness.modernMeta
        let listen = HTTPClientRequest(
            method: "POST", target: "/mcp/demo",
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "subscriptions/listen"), ("Content-Type", "application/json"),
                ("Accept", "application/json, text/event-stream"),
            ],
            body: JSONValue.object([
                ("jsonrpc", "2.0"), ("id", 5), ("method", "subscriptions/listen"),
                ("params", .object([("notifications", .object([("toolsListChanged", true)])), ("_meta", meta)])),
            ]).renderedBytes())
        let (modern, modernCall) = harness.stream(listen)
        await harness.eventually("the acknowledgement") { modern.text.contains("subscriptions/acknowledged") }

        // Three restarts in a burst; the tools end up different from the baseline.
        for (number, tools) in [(2, ["echo", "add"]), (3, ["echo"]), (4, ["echo", "roots"])] {
            harness.gateway.route(
                to: InstanceID(name: "demo", number: number), channel: ListChangeTests.upstream(tools: tools),
                identity: GatewayHarness.modernServer)
        }
        await harness.eventually("the legacy notification") { legacy.text.contains("tools/list_changed") }
        await harness.eventually("the modern notification") { modern.text.contains("tools/list_changed") }
        // Nothing more is due: no flush is pending, and one now would tell nothing.
        #expect(harness.gateway.state.withLock { $0.lists["demo"]?.timer } == nil)
        #expect(ListChangeTests.due(harness).isEmpty)
        #expect(legacy.text.components(separatedBy: "tools/list_changed").count == 2)
        #expect(modern.text.components(separatedBy: "tools/list_changed").count == 2)
        #expect(modern.text.contains("io.modelcontextprotocol/subscriptionId"))

        // A restart with the same tools tells nobody.
        harness.gateway.route(
            to: InstanceID(name: "demo", number: 5), channel: ListChangeTests.upstream(tools: ["echo", "roots"]),
            identity: GatewayHarness.modernServer)
        // The fake answers the listing within `route`: had it been a change, a flush would be
        // pending now.
        #expect(harness.gateway.state.withLock { $0.lists["demo"]?.timer } == nil)
        #expect(ListChangeTests.due(harness).isEmpty)
        legacyCall.cancel()
        modernCall.cancel()
        await harness.stop()
    }
}
