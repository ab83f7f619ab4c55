import HTTP
import JSON
import Testing

@testable import Gateway

/// Whatever a client sends, the answer is a clean 4xx with a JSON-RPC error body, and nothing
/// reaches the server.
@Suite struct HostileInputTests {
    @Test func malformedRequestsGetPreciseErrors() async throws {
        let harness = try GatewayHarness()
        let parse = try await harness.post(body: "{not json")
        #expect(parse.status == 400)
        #expect(parse.json?["error"]?["code"] == -32700)
        #expect(parse.json?["id"] == .null)
        let batch = try await harness.post(body: #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        #expect(batch.json?["error"]?["code"] == -32600)
        for body in [
            #"{"jsonrpc":"1.0","id":1,"method":"x"}"#, #"{"jsonrpc":"2.0","id":{},"method":"x"}"#, #"{"jsonrpc":"2.0","id":1,"method":5}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"x","params":[1]}"#, #"{"jsonrpc":"2.0"}"#, "3",
        ] {
            let reply = try await harness.post(body: body)
            #expect(reply.status == 400, "\(body)")
            #expect(reply.json?["error"]?["code"] == -32600, "\(body)")
        }
        let deep = try await harness.post(body: String(repeating: "[", count: 10_000))
        #expect(deep.status == 400)
        let type = try await harness.post(body: "{}", contentType: "text/plain")
        #expect(type.status == 415)
        let accept = try await harness.post(body: "{}", headers: [("Accept", "text/html")])
        #expect(accept.status == 406)
        let put = try await harness.send(HTTPClientRequest(method: "PUT", target: "/mcp/demo"))
        #expect(put.status == 405)
        #expect(harness.upstream.received.isEmpty)
        await harness.stop()
    }

    @Test func aForeignOriginIs403AndAMissingTokenIs401() async throws {
        let harness = try GatewayHarness()
        let foreign = try await harness.post(body: "{}", headers: [("Origin", "https://evil.example")])
        #expect(foreign.status == 403)
        #expect(foreign.json?["error"] != nil)
        let local = try await harness.modern(
            "tools/list",
            headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list"), ("Origin", "http://localhost:3000")])
        #expect(local.status == 200)
        harness.gateway.configureAccess(tokens: "s3cret,other", allowedOrigins: ["https://app.example"])
        let missing = try await harness.modern("tools/list")
        #expect(missing.status == 401)
        #expect(missing.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        let wrong = try await harness.modern(
            "tools/list", headers: [("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list"), ("Authorization", "Bearer nope")])
        #expect(wrong.status == 401)
        let right = try await harness.modern(
            "tools/list",
            headers: [
                ("MCP-Protocol-Version", "2026-07-28"), ("Mcp-Method", "tools/list"), ("Authorization", "Bearer other"),
                ("Origin", "https://app.example"),
            ])
        #expect(right.status == 200)
        await harness.stop()
    }
}
