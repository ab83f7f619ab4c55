import Actual
import Desired
import HTTP
import JSON
import Testing

@testable import Gateway

/// `/mcp`: every ready server's lists under `<server>__<name>`, calls routed by that prefix,
/// fail-open when a server is down, slow or answers garbage.
@Suite struct AggregateTests {
    @Test func namesArePrefixedAndLongOnesCutWithAStableHash() {
        #expect(AggregateNames.publicName(server: "demo", name: "echo") == "demo__echo")
        let server = String(repeating: "s", count: 40)
        let tool = String(repeating: "t", count: 60)
        let long = AggregateNames.publicName(server: server, name: tool)
        #expect(long.utf8.count == 64)
        #expect(long.hasPrefix(server + "__"))
        #expect(long == AggregateNames.publicName(server: server, name: tool))
        #expect(long != AggregateNames.publicName(server: server, name: tool + "x"))
        #expect(AggregateNames.resolve(long, known: [long: (server, tool)])! == (server, tool))
        #expect(AggregateNames.resolve("demo__echo__more", known: [:])! == ("demo", "echo__more"))
        #expect(AggregateNames.resolve("nounderscores", known: [:]) == nil)
        #expect(AggregateNames.resolve("__x", known: [:]) == nil)
        #expect(AggregateNames.resolve("demo__", known: [:]) == nil)
    }

    static func server(_ tools: [String]) -> FakeUpstream {
        let listed: JSONValue = .array(tools.map { .object([("name", .string($0)), ("description", "d")]) })
        return FakeUpstream { method, params in
            switch method {
            case "tools/list": .answer(.object([("tools", listed)]))
            case "tools/call": .answer(.object([("content", .array([.object([("type", "text"), ("text", params?["name"] ?? "")])]))]))
            default: .answer(.object([]))
            }
        }
    }

    func fleet(_ extra: [String: FakeUpstream], deadline: Duration = .seconds(2)) throws -> GatewayHarness {
        var options = Gateway.Options()
        options.aggregateListDeadline = deadline
        let harness = try GatewayHarness(options: options, upstream: AggregateTests.server(["echo", "add"]), route: false)
        let limits = Limits(rps: 1000, burst: 1000, concurrency: 8, requestTimeout: .seconds(10))
        var servers: [String: Gateway.ServerSettings] = ["demo": .init(limits: limits, backoff: [])]
        for name in extra.keys { servers[name] = .init(limits: limits, backoff: []) }
        harness.gateway.configure(servers: servers, notRunnable: ["off": "not running: disabled"])
        harness.gateway.route(to: InstanceID(name: "demo", number: 1), channel: harness.upstream, identity: GatewayHarness.modernServer)
        for (name, upstream) in extra {
            harness.gateway.route(to: InstanceID(name: name, number: 1), channel: upstream, identity: GatewayHarness.legacyServer)
        }
        return harness
    }

    func names(_ reply: GatewayHarness.Reply) -> [String] {
        reply.json?["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
    }

    @Test func listsEveryReadyServerInOrderAndRoutesCallsByPrefix() async throws {
        let server = String(repeating: "s", count: 40)
        let tool = String(repeating: "t", count: 60)
        let harness = try fleet(["time": AggregateTests.server(["get_current_time"]), server: AggregateTests.server([tool])])
        let listed = try await harness.modern("tools/list", path: "/mcp")
        #expect(listed.status == 200)
        let long = AggregateNames.publicName(server: server, name: tool)
        #expect(names(listed) == ["demo__echo", "demo__add", long, "time__get_current_time"])
        #expect(listed.json?["result"]?["resultType"] == "complete")
        // Calls reach the right server under the server's own name.
        let call = try await harness.modern("tools/call", params: [("name", "time__get_current_time")], path: "/mcp")
        #expect(call.json?["result"]?["content"]?.arrayValue?.first?["text"] == "get_current_time")
        let cut = try await harness.modern("tools/call", params: [("name", .string(long))], path: "/mcp")
        #expect(cut.json?["result"]?["content"]?.arrayValue?.first?["text"] == .string(tool))
        // Legacy clients get the same list on a session of /mcp.
        let session = try await harness.initialize(path: "/mcp")
        let legacy = try await harness.legacy("tools/list", session: session, path: "/mcp")
        #expect(names(legacy) == names(listed))
        #expect(legacy.json?["result"]?["resultType"] == nil)
        // Unknown names and methods: clear errors.
        let unknown = try await harness.modern("tools/call", params: [("name", "nope__x")], path: "/mcp")
        #expect(unknown.json?["error"]?["code"] == -32602)
        // A name that points back at the aggregate is refused, not routed in circles.
        let circular = try await harness.modern("tools/call", params: [("name", "*__*__*__echo")], path: "/mcp")
        #expect(circular.json?["error"]?["code"] == -32602)
        // A reload keeps /mcp's listen streams open.
        let listen = HTTPClientRequest(
            method: "POST", target: "/mcp",
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "subscriptions/listen"), ("Content-Type", "application/json"),
                ("Accept", "text/event-stream"),
            ],
            body: JSONValue.object([
                ("jsonrpc", "2.0"), ("id", 3), ("method", "subscriptions/listen"),
                ("params", .object([("notifications", .object([("toolsListChanged", true)])), ("_meta", GatewayHarness.modernMeta)])),
            ]).renderedBytes())
        let (chunks, stream) = harness.stream(listen)
        await harness.eventually("the acknowledgement") { chunks.text.contains("acknowledged") }
        let limits = Limits(rps: 1000, burst: 1000, concurrency: 8, requestTimeout: .seconds(10))
        harness.gateway.configure(
            servers: [
                "demo": .init(limits: limits, backoff: []), "time": .init(limits: limits, backoff: []),
                server: .init(limits: limits, backoff: []),
            ],
            notRunnable: [:])
        #expect(harness.gateway.state.withLock { $0.listeners.values.contains { $0.server == Gateway.aggregate } })
        stream.cancel()
        let other = try await harness.modern("completion/complete", path: "/mcp")
        #expect(other.json?["error"]?["code"] == -32601)
        let discover = try await harness.modern("server/discover", path: "/mcp")
        #expect(discover.json?["result"]?["capabilities"]?["tools"]?["listChanged"] == true)
        await harness.stop()
    }

    @Test func aServerThatHangsFailsOrAnswersGarbageDropsOutAndTheRestAreListed() async throws {
        let hanging = FakeUpstream { _, _ in .hold }
        let failing = FakeUpstream { method, _ in method == "tools/list" ? .fail(.closed("gone")) : .answer(.object([])) }
        let garbage = FakeUpstream { method, _ in method == "tools/list" ? .answer(.string("hello")) : .answer(.object([])) }
        let harness = try fleet(["hang": hanging, "fail": failing, "junk": garbage], deadline: .milliseconds(200))
        hanging.settleLearning()
        let listed = try await harness.modern("tools/list", path: "/mcp")
        #expect(listed.status == 200)
        #expect(names(listed) == ["demo__echo", "demo__add"])
        // The late server's request was cancelled at it.
        #expect(hanging.abandoned.map(\.1) == ["the aggregate list deadline passed"])
        #expect(harness.reported.last?.error == "3 server(s) left out")
        await harness.stop()
    }

    @Test func eachListingLegPassesItsServersGuards() async throws {
        let harness = try fleet(["time": AggregateTests.server(["get_current_time"])])
        // `time` admits one request, then its bucket is empty for a while.
        harness.gateway.configure(
            servers: [
                "demo": .init(limits: Limits(rps: 1000, burst: 1000, concurrency: 8, requestTimeout: .seconds(10)), backoff: []),
                "time": .init(limits: Limits(rps: 0.01, burst: 1, concurrency: 8, requestTimeout: .seconds(10)), backoff: []),
            ], notRunnable: [:])
        let first = try await harness.modern("tools/list", path: "/mcp")
        #expect(names(first).contains("time__get_current_time"))
        let second = try await harness.modern("tools/list", path: "/mcp")
        #expect(names(second) == ["demo__echo", "demo__add"])
        #expect(harness.reported.last?.error == "1 server(s) left out")
        // The same bucket guards `/mcp/time`.
        let direct = try await harness.modern("tools/list", path: "/mcp/time")
        #expect(direct.status == 429)
        await harness.stop()
    }
}
