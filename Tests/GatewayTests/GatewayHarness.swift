import Desired
import Foundation
import HTTP
import JSON
import Synchronization
import Testing

@testable import Actual
@testable import Gateway

/// A gateway on a real loopback HTTP server, with a scripted server behind `/mcp/demo`.
final class GatewayHarness: Sendable {
    struct Reply: Sendable {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }

        var json: JSONValue? { try? JSONParser.parse(body) }

        /// The JSON-RPC messages of an SSE body (`data:` lines), or the one JSON body.
        var messages: [JSONValue] {
            if header("Content-Type") == "text/event-stream" {
                return body.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
                    try? JSONParser.parse(String($0.dropFirst(6)))
                }
            }
            return json.map { [$0] } ?? []
        }
    }

    let loop: EventLoop
    let gateway: Gateway
    let server: HTTPServer
    let client: HTTPClient
    let upstream: FakeUpstream
    let clock: TestClock
    let records: RecordBox

    static let modernServer = ServerIdentity(
        era: .modern, protocolVersion: "2026-07-28", name: "demo-server", version: "1.2.3",
        capabilities: .object([("tools", .object([("listChanged", true)])), ("logging", .object([]))]), instructions: "be nice")
    static let legacyServer = ServerIdentity(
        era: .legacy, protocolVersion: "2025-11-25", name: "old-server", version: "0.9", capabilities: .object([("tools", .object([]))]),
        instructions: nil)

    init(
        identity: ServerIdentity = GatewayHarness.modernServer,
        limits: Limits = Limits(rps: 1000, burst: 1000, concurrency: 8, requestTimeout: .seconds(10)),
        options: Gateway.Options = Gateway.Options(), upstream: FakeUpstream = FakeUpstream(), route: Bool = true,
        tools: JSONValue = .array([])
    ) throws {
        loop = EventLoop(name: "gateway-test")
        clock = TestClock()
        let records = RecordBox()
        self.records = records
        let gateway = Gateway(loop: loop, clock: clock, options: options) { record in records.items.withLock { $0.append(record) } }
        self.gateway = gateway
        self.upstream = upstream
        gateway.configure(
            servers: ["demo": .init(limits: limits, backoff: [.milliseconds(10), .milliseconds(20)])],
            notRunnable: ["off": "not running: disabled"])
        if route {
            gateway.route(to: InstanceID(name: "demo", number: 1), channel: upstream, identity: identity)
            upstream.settleLearning(tools: tools)
            if tools != .array([]) { gateway.learned(tools: .object([("tools", tools)]), server: "demo") }
        }
        server = try HTTPServer(host: "127.0.0.1", port: 0, loop: loop) { request, responder in gateway.handle(request, responder) }
        server.start()
        client = HTTPClient(loop: loop)
    }

    var reported: [GatewayRecord] { records.items.withLock { $0 } }

    static let modernMeta: JSONValue = .object([
        ("io.modelcontextprotocol/protocolVersion", "2026-07-28"), ("io.modelcontextprotocol/clientCapabilities", .object([])),
        ("io.modelcontextprotocol/clientInfo", .object([("name", "test"), ("version", "1")])),
    ])

    /// A modern request with every header right (unless `headers` overrides them).
    func modern(
        _ method: String, id: JSONValue = 1, params: [(String, JSONValue)] = [], meta: JSONValue = GatewayHarness.modernMeta,
        headers: [(String, String)]? = nil, path: String = "/mcp/demo", accept: String = "application/json, text/event-stream"
    ) async throws -> Reply {
        var standard = [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", method)]
        if let name = params.first(where: { $0.0 == "name" || $0.0 == "uri" })?.1.stringValue { standard.append(("Mcp-Name", name)) }
        let body: JSONValue = .object([
            ("jsonrpc", "2.0"), ("id", id), ("method", .string(method)), ("params", .object(params + [("_meta", meta)])),
        ])
        return try await post(path, body: body.rendered(), headers: (headers ?? standard) + [("Accept", accept)])
    }

    func post(_ path: String = "/mcp/demo", body: String, headers: [(String, String)] = [], contentType: String = "application/json")
        async throws -> Reply
    {
        var all = headers
        if !all.contains(where: { $0.0 == "Accept" }) { all.append(("Accept", "application/json, text/event-stream")) }
        all.append(("Content-Type", contentType))
        return try await send(HTTPClientRequest(method: "POST", target: path, headers: all, body: Array(body.utf8)))
    }

    func send(_ request: HTTPClientRequest) async throws -> Reply {
        let (head, body) = try await client.fetch(request, to: HTTPOrigin(host: "127.0.0.1", port: server.port), timeout: .seconds(20))
        return Reply(status: head.status, headers: head.headers, body: String(decoding: body, as: UTF8.self))
    }

    /// A legacy session: `initialize` answered, its id returned.
    func initialize(version: String = "2025-06-18", capabilities: JSONValue = .object([]), path: String = "/mcp/demo") async throws
        -> String
    {
        let body: JSONValue = .object([
            ("jsonrpc", "2.0"), ("id", 0), ("method", "initialize"),
            (
                "params",
                .object([
                    ("protocolVersion", .string(version)), ("capabilities", capabilities),
                    ("clientInfo", .object([("name", "legacy"), ("version", "1")])),
                ])
            ),
        ])
        let reply = try await post(path, body: body.rendered())
        #expect(reply.status == 200)
        return try #require(reply.header("Mcp-Session-Id"))
    }

    func legacy(_ method: String, id: JSONValue? = 1, params: JSONValue? = nil, session: String?, path: String = "/mcp/demo")
        async throws -> Reply
    {
        var pairs: [(String, JSONValue)] = [("jsonrpc", "2.0")]
        if let id { pairs.append(("id", id)) }
        pairs.append(("method", .string(method)))
        if let params { pairs.append(("params", params)) }
        var headers = [("MCP-Protocol-Version", "2025-06-18")]
        if let session { headers.append(("Mcp-Session-Id", session)) }
        return try await post(path, body: JSONValue.object(pairs).rendered(), headers: headers)
    }

    /// Waits (bounded) until `condition` holds; the gateway's work is on other threads.
    func eventually(_ what: String, _ condition: () -> Bool) async {
        for _ in 0..<2000 {
            if condition() { return }
            try? await Task.sleep(for: .milliseconds(2))
        }
        Issue.record("timed out waiting for \(what)")
    }

    /// Sends `request` and collects its (streamed) response as it arrives; cancel the returned
    /// call to close the connection. `head` is written into the box first when asked.
    func stream(_ request: HTTPClientRequest, markHead: Bool = false) -> (ChunkBox, HTTPClientCall) {
        let chunks = ChunkBox()
        let call = client.send(
            request, to: HTTPOrigin(host: "127.0.0.1", port: server.port), timeout: .seconds(20),
            handlers: HTTPResponseHandlers(
                head: { _ in if markHead { chunks.append(Array("HEAD\n".utf8)) } }, body: { chunks.append($0) },
                end: { _ in chunks.end() }))
        return (chunks, call)
    }

    func stop() async {
        await server.stop(grace: .zero)
    }
}

final class RecordBox: Sendable {
    let items = Mutex<[GatewayRecord]>([])
}

/// A monotonic clock the test moves by hand (the guards' token buckets read it).
final class TestClock: MonotonicClock {
    private let value = Mutex(Duration.seconds(1000))
    var now: Duration { value.withLock { $0 } }
    func advance(_ by: Duration) { value.withLock { $0 += by } }
    func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// Bytes of a streamed response as they arrive.
final class ChunkBox: Sendable {
    private let state = Mutex<(bytes: [UInt8], ended: Bool)>(([], false))
    func append(_ bytes: [UInt8]) { state.withLock { $0.bytes += bytes } }
    func end() { state.withLock { $0.ended = true } }
    var text: String { state.withLock { String(decoding: $0.bytes, as: UTF8.self) } }
    var ended: Bool { state.withLock { $0.ended } }
}
