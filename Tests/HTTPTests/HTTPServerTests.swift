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

    init(port: Int, receiveTimeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: receiveTimeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    func send(_ text: String) {
        send(Array(text.utf8))
    }

    @discardableResult
    func send(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
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
    /// A server whose handler answers at once on the loop thread, except `/slow` (later, from a
    /// task), `/hang` (never) and `/stream` (two events, then the end).
    private func server(_ limits: HTTPLimits = HTTPLimits(), started: Started = Started(), alwaysServe: Set<String> = [])
        throws -> HTTPServer
    {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits, alwaysServe: alwaysServe) { request, responder in
            switch request.path {
            case "/stream":
                let stream = HTTPStream()
                stream.write(Array("data: one\n\n".utf8))
                stream.write(Array("data: two\n\n".utf8))
                stream.finish()
                responder.respond(.eventStream(stream))
            case "/hang":
                started.flag.withLock { $0 = true }
            case "/slow":
                started.flag.withLock { $0 = true }
                Task {
                    try? await Task.sleep(for: .milliseconds(300))
                    responder.respond(.text(200, "slow\n"))
                }
            default:
                responder.respond(.text(200, "\(request.method) \(request.path) \(request.body.count)\n"))
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
            "GET /a HTTP/1.1\r\nHost: x.localhost\r\n\r\nPOST /b HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabc"
                + "GET /c HTTP/1.1\r\nHost: 127.0.0.1:80\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        let bodies = text.components(separatedBy: "\r\n\r\n").dropFirst().map { $0.prefix { $0 != "\n" } }
        #expect(bodies.map(String.init) == ["GET /a 0", "POST /b 3", "GET /c 0"])
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 9\r\nConnection: keep-alive"))
        #expect(text.contains("Connection: close"))
        await server.stop()
    }

    /// Answers go out in request order even when a later request is answered first.
    @Test func aSlowAnswerHoldsBackTheLaterOnes() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /slow HTTP/1.1\r\nHost: localhost\r\n\r\nGET /fast HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        let slow = try #require(text.range(of: "slow\n"))
        let fast = try #require(text.range(of: "GET /fast 0"))
        #expect(slow.lowerBound < fast.lowerBound)
        await server.stop()
    }

    /// A request pipelined after `Connection: close` is never handled: the close answer is the
    /// last one, even when it comes later than the handler of the next would.
    @Test func nothingAfterAClosingRequestIsHandled() async throws {
        let handled = Mutex<[String]>([])
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { request, responder in
            handled.withLock { $0.append(request.path) }
            Task {
                try? await Task.sleep(for: .milliseconds(50))
                responder.respond(.text(200, "\(request.path)\n"))
            }
        }
        server.start()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send(
            "GET /first HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\nGET /after HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read()
        #expect(text.hasSuffix("/first\n"))
        #expect(handled.withLock { $0 } == ["/first"])
        await server.stop()
    }

    /// HEAD gets the headers only; the next response on the connection must start clean.
    @Test func headHasNoBody() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("HEAD /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.components(separatedBy: "HTTP/1.1 200 OK").count == 3)
        #expect(text.hasSuffix("\r\n\r\nGET /b 0\n"))
        #expect(!text.contains("HEAD /a"))
        await server.stop()
    }

    @Test func http10ClosesUnlessAskedAndNeverWithTransferEncoding() async throws {
        let server = try server()
        let plain = try RawClient(port: server.port)
        defer { plain.close() }
        plain.send("GET /a HTTP/1.0\r\n\r\n")
        #expect(await plain.read().contains("Connection: close"))
        let chunked = try RawClient(port: server.port)
        defer { chunked.close() }
        chunked.send("POST /a HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n")
        let text = await chunked.read()
        #expect(text.contains("POST /a 1"))
        #expect(text.contains("Connection: close"))
        await server.stop()
    }

    @Test func answersMalformedInputWith4xxAndCloses() async throws {
        let server = try server(HTTPLimits(headerCount: 4, body: 10))
        for (request, status) in [
            ("GET / HTTP/1.1\nHost: x\n\n", "400 Bad Request"),
            ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99\r\n\r\n", "413 Content Too Large"),
            ("BREW / HTCPCP/1.0\r\n\r\n", "400 Bad Request"), ("GET / HTTP/3.0\r\n\r\n", "505 HTTP Version Not Supported"),
            ("GET / HTTP/1.1\r\n\r\n", "400 Bad Request"),
            ("GET / HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n", "400 Bad Request"),
            ("GET / HTTP/1.1\r\nHost: attacker.example\r\n\r\n", "421 Misdirected Request"),
            ("GET /" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\n\r\n", "414 URI Too Long"),
            ("GET / HTTP/1.1\r\nHost: localhost\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n", "431 Request Header Fields Too Large"),
            (
                "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
                "431 Request Header Fields Too Large"
            ),
            ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "400 Bad Request"),
            ("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "400 Bad Request"),
        ] {
            let client = try RawClient(port: server.port)
            client.send(request)
            let text = await client.read()
            #expect(text.hasPrefix("HTTP/1.1 \(status)\r\n"), "\(request.prefix(60))")
            #expect(text.contains("Connection: close"))
            client.close()
        }
        await server.stop()
    }

    /// 1 MiB of empty lines is refused once the empty lines pass the request-line limit, not
    /// parsed line by line to the end (the old parser did quadratic work on this).
    @Test func aFloodOfEmptyLinesIsRefusedAtTheLimit() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send([UInt8](repeating: 0, count: 0) + Array(String(repeating: "\r\n", count: 1 << 19).utf8))
        #expect(await client.read().hasPrefix("HTTP/1.1 400 Bad Request"))
        await server.stop()
    }

    /// A client that starts a request and trickles it must not hold the connection forever.
    @Test func aHeadThatTakesTooLongGets408() async throws {
        let server = try server(HTTPLimits(headTimeout: .milliseconds(300)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET / HTTP/1.1\r\nHost")
        #expect(await client.read().hasPrefix("HTTP/1.1 408 Request Timeout"))
        #expect(server.stats.timeouts == 1)
        await server.stop()
    }

    @Test func aBodyThatTakesTooLongGets408() async throws {
        let server = try server(HTTPLimits(bodyTimeout: .milliseconds(300)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
        #expect(await client.read().hasPrefix("HTTP/1.1 408 Request Timeout"))
        await server.stop()
    }

    /// A connection that never sends a byte is closed at the head deadline, silently (there is
    /// no request to answer); the idle deadline applies only after a first request.
    @Test func aSilentConnectionIsClosedAtTheHeadDeadline() async throws {
        let server = try server(HTTPLimits(headTimeout: .milliseconds(200), idleTimeout: .seconds(30)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        #expect(await client.read() == "")
        await server.stop()
    }

    @Test func anIdleKeepAliveConnectionIsClosedAtTheIdleDeadline() async throws {
        let server = try server(HTTPLimits(headTimeout: .seconds(30), idleTimeout: .milliseconds(200)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read()
        #expect(text.hasSuffix("GET /a 0\n"))
    }

    /// Each pipelined request has its own head deadline: the second one's clock starts when it
    /// starts, not with the first.
    @Test func aPipelinedRequestGetsItsOwnDeadline() async throws {
        // /b starts 2.3 s after /a was parsed: past the 2 s head deadline already if /b
        // inherited /a's clock. Its own clock needs only the 0.1 s pause, so a wake-up up to
        // 1.9 s late (a machine loaded by the rest of the suite) still passes.
        let server = try server(HTTPLimits(headTimeout: .seconds(2)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        _ = await client.read(until: "GET /a 0\n")
        try await Task.sleep(for: .milliseconds(2300))
        client.send("GET /b HTTP/1.1\r\nHost: local")
        // A thread sleep, not `Task.sleep`: the pause must stay short, and a task's wake-up
        // waits for a free thread of the cooperative pool, which the rest of the suite's
        // blocking reads can hold for seconds on a 2-core machine (seen failing at 2.3 s).
        usleep(100_000)
        client.send("host\r\nConnection: close\r\n\r\n")
        #expect(await client.read().hasSuffix("GET /b 0\n"))
        await server.stop()
    }

    @Test func connectionsBeyondTheCapsGet503ButProbesAreAnswered() async throws {
        let started = Started()
        let server = try server(HTTPLimits(connections: 1, reserve: 1), started: started, alwaysServe: ["/healthz"])
        let first = try RawClient(port: server.port)
        defer { first.close() }
        first.send("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // Busy (its request in progress), so not evicted to make room.
        try await waitUntil { started.flag.withLock { $0 } }
        // Over the cap, in the reserve: a probe is answered, anything else is 503.
        let probe = try RawClient(port: server.port)
        probe.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let probed = await probe.read()
        #expect(probed.hasPrefix("HTTP/1.1 200 OK") && probed.contains("Connection: close"))
        probe.close()
        let other = try RawClient(port: server.port)
        other.send("GET /a HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(await other.read().hasPrefix("HTTP/1.1 503 Service Unavailable"))
        other.close()
        // The reserve is full while `holder` sits in it: the next one is refused at once.
        try await waitUntil { server.stats.open == 1 }
        let holder = try RawClient(port: server.port)
        defer { holder.close() }
        try await waitUntil { server.stats.open == 2 }
        let refused = try RawClient(port: server.port)
        defer { refused.close() }
        #expect(await refused.read().hasPrefix("HTTP/1.1 503 Service Unavailable"))
        #expect(server.stats.refused >= 2)
        await server.stop(grace: .milliseconds(100))
    }

    @Test func thePerPeerCapCountsOnePeersConnections() async throws {
        let handled = Mutex(0)
        // Requests that are never answered keep their connections busy (not evictable).
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: HTTPLimits(connectionsPerPeer: 2, reserve: 0)) { _, _ in
            handled.withLock { $0 += 1 }
        }
        server.start()
        let clients = try (0..<2).map { _ in try RawClient(port: server.port) }
        defer { for client in clients { client.close() } }
        for client in clients { client.send("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n") }
        try await waitUntil { handled.withLock { $0 } == 2 }
        let third = try RawClient(port: server.port)
        defer { third.close() }
        #expect(await third.read().hasPrefix("HTTP/1.1 503"))
        await server.stop(grace: .milliseconds(100))
    }

    @Test func streamsChunkedBodies() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("Transfer-Encoding: chunked\r\n"))
        #expect(text.contains("Content-Type: text/event-stream\r\n"))
        // Written before the answer was sent: both events go out as one chunk.
        #expect(text.hasSuffix("16\r\ndata: one\n\ndata: two\n\n\r\n0\r\n\r\n"))
        await server.stop()
    }

    @Test func curlTalksToIt() async throws {
        let server = try server()
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = [
            "-sS", "--max-time", "10", "-d", "xyz", "http://127.0.0.1:\(server.port)/hello", "-H", "Transfer-Encoding: chunked",
            "http://localhost:\(server.port)/again",
        ]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let data = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: out.fileHandleForReading.readDataToEndOfFile()) }
        }
        curl.waitUntilExit()
        #expect(String(decoding: data, as: UTF8.self) == "POST /hello 3\nPOST /again 3\n")
        await server.stop()
    }

    /// Holds the requests its handler is given until the test answers them itself.
    final class Gate: Sendable {
        let held: AsyncStream<HTTPResponder>
        private let hold: AsyncStream<HTTPResponder>.Continuation

        init() { (held, hold) = AsyncStream.makeStream() }

        func enter(_ responder: HTTPResponder) { hold.yield(responder) }
    }

    /// A request held in the handler when the stop begins is answered (with `Connection:
    /// close`), and the stop waits for it. The answer is released only once the stop has
    /// closed the listener, so the request is provably in flight while the server drains.
    @Test func stopLetsARequestInProgressFinish() async throws {
        let gate = Gate()
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { _, responder in gate.enter(responder) }
        server.start()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /held HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let responder = try #require(await gate.held.first { _ in true })
        let stopped = Started()
        let stopping = Task {
            await server.stop(grace: .seconds(30))
            stopped.flag.withLock { $0 = true }
        }
        // The drain has begun once the listener is closed: a new connection is refused.
        try await waitUntil {
            guard let probe = try? RawClient(port: server.port) else { return true }
            probe.close()
            return false
        }
        #expect(!stopped.flag.withLock { $0 }, "the stop returned while a request was unanswered")
        #expect(!responder.isCancelled)
        responder.respond(.text(200, "held\n"))
        let text = await client.read()
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"), "got \(text.debugDescription)")
        #expect(text.hasSuffix("\r\n\r\nheld\n"))
        // Answered during the drain: the connection is closed after it.
        #expect(text.contains("Connection: close"))
        await stopping.value
        #expect(stopped.flag.withLock { $0 })
        #expect(server.stats.open == 0)
    }

    /// `Expect: 100-continue` gets its interim answer at once, then the final one after the body.
    @Test func aClientThatExpectsContinueGetsIt() async throws {
        let server = try server()
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("POST /up HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        #expect(await client.read(until: "\r\n\r\n") == "HTTP/1.1 100 Continue\r\n\r\n")
        client.send("abc")
        #expect(await client.read(until: "POST /up 3\n").hasSuffix("POST /up 3\n"))
        await server.stop()
    }

    @Test func refusesANonIPListenAddress() {
        #expect(throws: HTTPServerError(description: "listen address example.com is not an IP address")) {
            try HTTPServer(host: "example.com", port: 0) { (_: HTTPRequest) in .text(200, "") }
        }
    }
}

/// Polls `condition` every 10 ms for up to 10 s (state that only a loop thread changes, with no
/// event to wait on); fails the test if it never holds.
func waitUntil(_ condition: () -> Bool) async throws {
    for _ in 0..<1000 {
        if condition() { return }
        try await Task.sleep(for: .milliseconds(10))
    }
    Issue.record("condition never held")
    throw CancellationError()
}
