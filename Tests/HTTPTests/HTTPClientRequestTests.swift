import Testing

@testable import HTTP

@Suite struct HTTPClientRequestTests {
    private func text(_ request: HTTPClientRequest, host: String = "127.0.0.1:8080") throws -> String {
        String(decoding: try request.serialized(host: host), as: UTF8.self)
    }

    private func refusal(_ request: HTTPClientRequest, host: String = "example.com") -> String? {
        do {
            _ = try request.serialized(host: host)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func rendersARequestWithHostAndContentLength() throws {
        let get = HTTPClientRequest(
            method: "GET", target: "/mcp?x=1", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", "a b")])
        #expect(
            try text(get) == "GET /mcp?x=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nAccept: text/event-stream\r\nMcp-Session-Id: a b\r\n\r\n")
        let post = HTTPClientRequest(
            method: "POST", target: "/mcp", headers: [("Content-Type", "application/json")], body: Array("{}".utf8))
        #expect(
            try text(post, host: "[::1]:80")
                == "POST /mcp HTTP/1.1\r\nHost: [::1]:80\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        #expect(
            try text(HTTPClientRequest(method: "POST", target: "/"))
                == "POST / HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 0\r\n\r\n")
        #expect(try text(HTTPClientRequest(method: "DELETE", target: "/mcp")) == "DELETE /mcp HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n")
        // Bytes outside ASCII in a value are sent as UTF-8 (obs-text), not refused.
        #expect(
            try text(HTTPClientRequest(method: "GET", target: "/", headers: [("X-Name", "caf\u{E9}")])).contains("X-Name: caf\u{E9}\r\n"))
    }

    @Test(arguments: [
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", "b\r\nInjected: 1")]), "invalid value for header X-A"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", "b\nc")]), "invalid value for header X-A"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", "b\u{0}")]), "invalid value for header X-A"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", " padded")]), "invalid value for header X-A"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", "padded\t")]), "invalid value for header X-A"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X-A\r\nB", "c")]), "invalid header name \"X-A\\r\\nB\""),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("X A", "c")]), "invalid header name \"X A\""),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("", "c")]), "invalid header name \"\""),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("host", "evil")]), "host is set by the serializer"),
        (HTTPClientRequest(method: "GET", target: "/", headers: [("Content-Length", "5")]), "Content-Length is set by the serializer"),
        (
            HTTPClientRequest(method: "GET", target: "/", headers: [("Transfer-Encoding", "chunked")]),
            "Transfer-Encoding is set by the serializer"
        ),
        (HTTPClientRequest(method: "GET", target: "/a b"), "invalid request target \"/a b\""),
        (HTTPClientRequest(method: "GET", target: "/\r\nX: y"), "invalid request target \"/\\r\\nX: y\""),
        (HTTPClientRequest(method: "GET", target: ""), "invalid request target \"\""),
        (HTTPClientRequest(method: "G T", target: "/"), "invalid method \"G T\""),
        (HTTPClientRequest(method: "", target: "/"), "invalid method \"\""),
    ])
    func refusesWhatCouldSplitTheRequest(request: HTTPClientRequest, message: String) {
        #expect(refusal(request) == message)
    }

    @Test func refusesABadHost() {
        let request = HTTPClientRequest(method: "GET", target: "/")
        for host in ["", "a b", "a\r\nX: y", "a/b", "user@host"] {
            #expect(refusal(request, host: host) == "invalid host \(host.debugDescription)")
        }
    }
}
