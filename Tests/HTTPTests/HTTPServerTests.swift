import Dispatch
import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// A raw TCP client: exactly the bytes a test wants on the wire, blocking I/O on a thread of its
/// own (never the cooperative pool that runs the server's handler, nor GCD's small pool).
struct RawClient {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        _ = Array(text.utf8).withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the server closes (or 10 s pass), or until `until` appears.
    func read(until marker: String? = nil) async -> String {
        let fd = fd
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var bytes: [UInt8] = []
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    guard count > 0 else { break }
                    bytes += chunk[0..<count]
                    if let marker, String(decoding: bytes, as: UTF8.self).contains(marker) { break }
                }
                continuation.resume(returning: String(decoding: bytes, as: UTF8.self))
            }
        }
    }

    func close() { Glibc.close(fd) }
}

/// Set when the `/slow` handler has started (the request is in progress on the server).
final class Started: Sendable {
    let flag = Mutex(false)
}

@Suite(.timeLimit(.minutes(1))) struct HTTPServerTests {
    private func server(_ limits: HTTPLimits = HTTPLimits(), started: Started = Started()) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request in
            switch request.path {
            case "/stream":
                let (stream, continuation) = AsyncStream.makeStream(of: [UInt8].self)
                continuation.yield(Array("data: one\n\n".utf8))
                continuation.yield(Array("data: two\n\n".utf8))
                continuation.finish()
                return HTTPResponse(status: 200, headers: [("Content-Type", "text/event-stream")], body: .stream(stream))
            case "/slow":
                started.flag.withLock { $0 = true }
                try? await Task.sleep(for: .milliseconds(300))
                return .text(200, "slow\n")
            default:
                return .text(200, "\(request.method) \(request.path) \(request.body.count)\n")
            }
        }
        server.start()
        return server
    }

    @Test func servesKeepAliveAndPipelinedRequestsInOrder() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send(
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /c HTTP/1.1\r\nConnection: close\r\n\r\n"
        )
        let text = await client.read()
        let bodies = text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix { $0 != "\n" } }
        #expect(bodies.map(String.init) == ["GET /a 0", "POST /b 3", "GET /c 0"])
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nConnection: keep-alive"))
        #expect(text.contains("Connection: close"))
        await server.stop()
    }

    /// HEAD gets the headers only; the next response on the connection must start clean.
    @Test func headHasNoBody() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("HEAD /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        #expect(text.hasSuffix("\r\n\r\nGET /b 0\n"))
        #expect(!text.contains("HEAD /a"))
        await server.stop()
    }

    @Test func answersMalformedInputWith4xxAndCloses() async throws {
        let server = try server(HTTPLimits(body: 10))
        for (request, status) in [
            ("GET / HTTP/1.1\nHost: x\n\n", "400 Bad Request"), ("POST / HTTP/1.1\r\nContent-Length: 99\r\n\r\n", "413 Content Too Large"),
            ("BREW / HTCPCP/1.0\r\n\r\n", "400 Bad Request"), ("GET / HTTP/3.0\r\n\r\n", "505 HTTP Version Not Supported"),
        ] {
            let client = try RawClient(port: server.port)
            client.send(request)
            let text = await client.read()
            #expect(text.hasPrefix("HTTP/1.1 \(status)\r\n"), "\(request)")
            #expect(text.contains("Connection: close"))
            client.close()
        }
        await server.stop()
    }

    /// A client that starts a request and trickles it must not hold the connection forever.
    @Test func aRequestThatTakesTooLongGets408() async throws {
        let server = try server(HTTPLimits(readTimeout: .milliseconds(300)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET / HTTP/1.1\r\nHost")
        #expect(await client.read().hasPrefix("HTTP/1.1 408 Request Timeout"))
        await server.stop()
    }

    @Test func connectionsBeyondTheLimitGet503() async throws {
        let server = try server(HTTPLimits(connections: 1))
        let first = try RawClient(port: server.port)
        defer { first.close() }
        first.send("GET /a HTTP/1.1\r\n\r\n")
        _ = await first.read(until: "GET /a")
        let second = try RawClient(port: server.port)
        defer { second.close() }
        #expect(await second.read().hasPrefix("HTTP/1.1 503 Service Unavailable"))
        await server.stop()
    }

    @Test func streamsChunkedBodies() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /stream HTTP/1.1\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("Transfer-Encoding: chunked\r\n"))
        #expect(text.hasSuffix("b\r\ndata: one\n\n\r\nb\r\ndata: two\n\n\r\n0\r\n\r\n"))
        await server.stop()
    }

    @Test func curlTalksToIt() async throws {
        let server = try server()
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "--max-time", "10", "-d", "xyz", "http://127.0.0.1:\(server.port)/hello"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: out.fileHandleForReading.readDataToEndOfFile()) }
        }
        curl.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == "POST /hello 3\n")
        await server.stop()
    }

    @Test func stopLetsARequestInProgressFinish() async throws {
        let started = Started()
        let server = try server(started: started)
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /slow HTTP/1.1\r\n\r\n")
        // Stop only once the request is in progress on the server.
        while !started.flag.withLock({ $0 }) { await Task.yield() }
        async let response = client.read()
        await server.stop(grace: .seconds(5))
        #expect(await response.contains("slow"))
    }

    @Test func refusesANonIPListenAddress() {
        #expect(throws: HTTPServerError(description: "listen address example.com is not an IP address")) {
            try HTTPServer(host: "example.com", port: 0) { _ in .text(200, "") }
        }
    }
}
