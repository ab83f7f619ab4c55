import Desired
import JSON
import Synchronization
import Testing

@testable import Actual

/// A scripted channel: answers each method with a fixed outcome and records what was sent.
final class ScriptedChannel: MCPChannel {
    enum Reply: Sendable {
        case result(JSONValue)
        case error(Int, String, JSONValue?)
        case silence
        case garbage
    }

    private let script: Mutex<[String: [Reply]]>
    private let sent = Mutex<[(String, JSONValue?)]>([])
    private let errors = Mutex(0)

    init(_ script: [String: [Reply]]) {
        self.script = Mutex(script)
    }

    var calls: [String] { sent.withLock { $0.map(\.0) } }
    func params(of method: String) -> JSONValue? { sent.withLock { $0.last { $0.0 == method }?.1 } }
    var protocolErrors: Int { errors.withLock { $0 } }

    func call(_ method: String, params: JSONValue?, timeout: Duration, cancellable: Bool) async throws(RPCError) -> JSONValue {
        sent.withLock { $0.append((method, params)) }
        let reply: Reply = script.withLock { script in
            guard var replies = script[method], !replies.isEmpty else { return .error(-32601, "Method not found", nil) }
            let first = replies.removeFirst()
            script[method] = replies.isEmpty ? [first] : replies
            return first
        }
        switch reply {
        case .result(let value): return value
        case .error(let code, let message, let data): throw .remote(RPCErrorObject(code: code, message: message, data: data))
        case .silence: throw .timedOut(method: method, after: timeout)
        case .garbage:
            errors.withLock { $0 += 1 }
            throw .timedOut(method: method, after: timeout)
        }
    }

    func notify(_ method: String, params: JSONValue?) async -> Bool {
        sent.withLock { $0.append((method, params)) }
        return true
    }
}

@Suite struct MCPClientTests {
    static let discover: JSONValue = .object([
        ("resultType", "complete"), ("supportedVersions", ["2026-07-28"]), ("capabilities", .object([("tools", .object([]))])),
        ("ttlMs", 1000), ("cacheScope", "public"),
        ("_meta", .object([("io.modelcontextprotocol/serverInfo", .object([("name", "demo"), ("version", "1.2")]))])),
    ])
    static let initialize: JSONValue = .object([
        ("protocolVersion", "2025-06-18"), ("capabilities", .object([("tools", .object([]))])),
        ("serverInfo", .object([("name", "old"), ("version", "0.9")])), ("instructions", "hi"),
    ])

    @Test func aDiscoverResultMeansModern() async throws {
        let channel = ScriptedChannel(["server/discover": [.result(Self.discover)]])
        var client = MCPClient(channel: channel)
        let identity = try await client.handshake(probeTimeout: .seconds(1))
        #expect(
            identity
                == ServerIdentity(
                    era: .modern, protocolVersion: "2026-07-28", name: "demo", version: "1.2",
                    capabilities: .object([("tools", .object([]))]), instructions: nil))
        #expect(channel.calls == ["server/discover"])
        #expect(channel.params(of: "server/discover")?["_meta"]?["io.modelcontextprotocol/protocolVersion"] == "2026-07-28")
    }

    @Test(arguments: [
        ScriptedChannel.Reply.error(-32601, "Method not found", nil), .error(-32602, "Invalid request parameters", ""), .silence,
        .result(.object([("unexpected", true)])),
        .error(-32022, "Unsupported protocol version", .object([("supported", .array(["2025-06-18"])), ("requested", "2026-07-28")])),
    ])
    func anythingElseFallsBackToInitialize(discoverReply: ScriptedChannel.Reply) async throws {
        let channel = ScriptedChannel(["server/discover": [discoverReply], "initialize": [.result(Self.initialize)]])
        var client = MCPClient(channel: channel)
        let identity = try await client.handshake(probeTimeout: .seconds(1))
        #expect(identity.era == .legacy)
        #expect(identity.protocolVersion == "2025-06-18")
        #expect(identity.name == "old")
        #expect(identity.instructions == "hi")
        #expect(channel.calls == ["server/discover", "initialize", "notifications/initialized"])
        #expect(channel.params(of: "initialize")?["protocolVersion"] == "2025-11-25")
    }

    @Test func aVersionErrorNamingAModernVersionRetriesModern() async throws {
        let error = ScriptedChannel.Reply.error(-32022, "x", .object([("supported", .array(["2026-07-28", "2099-01-01"]))]))
        let channel = ScriptedChannel(["server/discover": [error, .result(Self.discover)]])
        var client = MCPClient(channel: channel)
        #expect(try await client.handshake(probeTimeout: .seconds(1)).era == .modern)
        #expect(channel.calls == ["server/discover", "server/discover"])
    }

    @Test func refusesALegacyVersionItDoesNotSpeak() async {
        let channel = ScriptedChannel(["initialize": [.result(.object([("protocolVersion", "1999-01-01")]))]])
        var client = MCPClient(channel: channel)
        await #expect(throws: MCPClient.HandshakeError.self) { try await client.handshake(probeTimeout: .seconds(1)) }
        #expect(client.identity == nil)
    }

    @Test func failsWhenBothProbesFail() async {
        let channel = ScriptedChannel([:])
        var client = MCPClient(channel: channel)
        do {
            _ = try await client.handshake(probeTimeout: .seconds(1))
            Issue.record("expected a failure")
        } catch {
            #expect(error.description == "no MCP handshake: server/discover and initialize both failed (error -32601: Method not found)")
        }
    }

    /// Invalid output during the handshake must fail it, even if a valid answer came too.
    @Test func invalidOutputDuringTheHandshakeFailsIt() async {
        let channel = ScriptedChannel(["server/discover": [.garbage], "initialize": [.result(Self.initialize)]])
        var client = MCPClient(channel: channel)
        await #expect(throws: MCPClient.HandshakeError.self) { try await client.handshake(probeTimeout: .seconds(1)) }
    }

    @Test func healthChecksUsePingForLegacyAndDiscoverForModern() async throws {
        let legacy = ScriptedChannel([
            "server/discover": [.silence], "initialize": [.result(Self.initialize)], "ping": [.result(.object([]))],
        ])
        var legacyClient = MCPClient(channel: legacy)
        _ = try await legacyClient.handshake(probeTimeout: .seconds(1))
        try await legacyClient.healthCheck(timeout: .seconds(1))
        #expect(legacy.calls.last == "ping")

        let modern = ScriptedChannel(["server/discover": [.result(Self.discover)]])
        var modernClient = MCPClient(channel: modern)
        _ = try await modernClient.handshake(probeTimeout: .seconds(1))
        try await modernClient.healthCheck(timeout: .seconds(1))
        #expect(modern.calls == ["server/discover", "server/discover"])
    }

    @Test func listsToolsAcrossPagesInTheServersEra() async throws {
        let page1: JSONValue = .object([("tools", [.object([("name", "a")])]), ("nextCursor", "2")])
        let page2: JSONValue = .object([("tools", [.object([("name", "b")]), .object([("name", "c")])])])
        let channel = ScriptedChannel(["server/discover": [.result(Self.discover)], "tools/list": [.result(page1), .result(page2)]])
        var client = MCPClient(channel: channel)
        _ = try await client.handshake(probeTimeout: .seconds(1))
        #expect(try await client.listTools(timeout: .seconds(1)) == ["a", "b", "c"])
        #expect(channel.params(of: "tools/list")?["cursor"] == "2")
        #expect(channel.params(of: "tools/list")?["_meta"]?["io.modelcontextprotocol/protocolVersion"] == "2026-07-28")
    }

    @Test func requestsBeforeTheHandshakeAreRefused() async {
        let client = MCPClient(channel: ScriptedChannel([:]))
        await #expect(throws: RPCError.protocolViolation("request before the handshake")) {
            try await client.request("tools/list", timeout: .seconds(1))
        }
    }
}
