import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// What a connection does when it cannot read (pipeline full, after its last request, during a
/// stop) and when it must still answer: found by a second independent review of the server;
/// each test failed before its fix.
@Suite(.serialized, .timeLimit(.minutes(1))) struct ConnectionLifecycleTests {
    final class Blocking: Sendable {
        let entered = Mutex(false)
    }

    /// /delay/<ms>: answered <ms> later from a task; /block: the loop thread sleeps 2 s, then
    /// answers; anything else at once. Each server gets its own loop (/block must not stall others).
    private func server(_ limits: HTTPLimits, blocking: Blocking = Blocking()) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits, loop: EventLoop(name: "lifecycle-test")) {
            request, responder in
            if request.path.hasPrefix("/delay/"), let ms = Int(request.path.dropFirst(7)) {
                Task {
                    try? await Task.sleep(for: .milliseconds(ms))
                    responder.respond(.text(200, "\(request.path)\n"))
                }
                return
            }
            if request.path == "/block" {
                blocking.entered.withLock { $0 = true }
                // Long enough for the test to connect and send meanwhile, even on a loaded machine.
                usleep(2_000_000)
            }
            if request.path == "/closed" {
                let stream = HTTPStream()
                stream.close()
                return responder.respond(.eventStream(stream))
            }
            responder.respond(.text(200, "\(request.path)\n"))
        }
        server.start()
        return server
    }

    /// How many bytes the client can push in `seconds` (send timeout 200 ms, at most 256 MiB).
    private func flood(_ client: RawClient, seconds: Double) -> Int {
        var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(client.fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let junk = [UInt8](repeating: 0x41, count: 1 << 20)
        let start = Date()
        var sent = 0
        for _ in 0..<256 {
            let count = client.send(junk)
            if count <= 0 || Date().timeIntervalSince(start) > seconds { break }
            sent += count
        }
        return sent
    }

    /// Control: at pipelineDepth the server stops reading, so the client's sends block once the
    /// socket buffers are full.
    @Test func aPausedConnectionStopsReading() async throws {
        let server = try server(HTTPLimits(headTimeout: .seconds(30), pipelineDepth: 1))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /delay/3000 HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        let sent = flood(client, seconds: 2)
        #expect(sent < 32 << 20)
        await server.stop(grace: .milliseconds(100))
    }

    /// After a `Connection: close` request whose answer is pending, nothing more is read: what
    /// the client keeps sending waits in the socket buffers, not in ours.
    @Test func readingStopsAfterConnectionClose() async throws {
        let server = try server(HTTPLimits(headTimeout: .seconds(30)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /delay/3000 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        try await Task.sleep(for: .milliseconds(50))
        let sent = flood(client, seconds: 2)
        #expect(sent < 32 << 20, "the server buffered \(sent >> 20) MiB it will never parse")
        await server.stop(grace: .milliseconds(100))
    }

    /// Bytes after a `Connection: close` request start no head deadline (the server, not the
    /// client, is the one waiting): the pending answer still goes out.
    @Test func aSlowCloseAnswerSurvivesAPipelinedRequest() async throws {
        let server = try server(HTTPLimits(headTimeout: .milliseconds(300)))
        let client = try RawClient(port: server.port, receiveTimeout: 3)
        defer { client.close() }
        client.send(
            "GET /delay/1000 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\nGET /next HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/delay/1000\n"), "got \(text.debugDescription); stats \(server.stats)")
        await server.stop(grace: .milliseconds(100))
    }

    /// A head partly read before a pipeline pause gets its deadline from the resume, not from
    /// before the pause: it does not time out at once, and the pending answers go out.
    @Test func resumingAfterALongPauseDoesNotTimeOutTheNextHead() async throws {
        let server = try server(HTTPLimits(headTimeout: .milliseconds(500), pipelineDepth: 2))
        let client = try RawClient(port: server.port, receiveTimeout: 5)
        defer { client.close() }
        client.send(
            "GET /delay/1000 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /delay/1500 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /three HTTP/1.1\r\nHo"
        )
        try await Task.sleep(for: .milliseconds(50))
        client.send("st: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/delay/1000\n"))
        #expect(text.contains("/delay/1500\n"), "got \(text.debugDescription); stats \(server.stats)")
        #expect(text.contains("/three\n"))
        await server.stop(grace: .milliseconds(100))
    }

    /// `Expect: 100-continue` behind an unanswered request: the 100 goes out once the earlier
    /// answer did, and the body deadline does not run before it.
    @Test func continueIsSentOnceEarlierAnswersWentOut() async throws {
        let server = try server(HTTPLimits(bodyTimeout: .seconds(1)))
        let client = try RawClient(port: server.port, receiveTimeout: 3)
        defer { client.close() }
        client.send(
            "GET /delay/200 HTTP/1.1\r\nHost: localhost\r\n\r\n"
                + "POST /up HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        let text = await client.read(until: "100 Continue")
        #expect(text.contains("100 Continue"), "got \(text.debugDescription)")
        await server.stop(grace: .milliseconds(100))
    }

    /// Eviction at the cap spares a connection whose request is already in its socket buffer
    /// (not read yet because the loop was busy).
    @Test func evictionSparesAConnectionWithUnreadInput() async throws {
        let blocking = Blocking()
        let server = try server(HTTPLimits(headTimeout: .seconds(30), connections: 2, reserve: 0), blocking: blocking)
        let a = try RawClient(port: server.port, receiveTimeout: 3)
        defer { a.close() }
        let b = try RawClient(port: server.port, receiveTimeout: 3)
        defer { b.close() }
        try await waitUntil { server.stats.open == 2 }
        b.send("GET /block HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // While the loop is held in /block, a third client connects (the kernel completes it in
        // the backlog) and `a` sends a request the loop has not read yet.
        try await waitUntil { blocking.entered.withLock { $0 } }
        let c = try RawClient(port: server.port, receiveTimeout: 3)
        defer { c.close() }
        a.send("GET /a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let text = await a.read()
        #expect(text.contains("/a\n"), "a got \(text.debugDescription); stats \(server.stats)")
        await server.stop(grace: .milliseconds(100))
    }

    /// A stop does not wait out its grace for a connection that can no longer make progress (a
    /// request partly sent): with a grace longer than the suite's time limit, waiting fails.
    @Test func stopDoesNotWaitForAPartialRequest() async throws {
        let server = try server(HTTPLimits(headTimeout: .seconds(120)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /x HTTP/1.1\r\nHo")
        try await waitUntil { server.stats.accepted == 1 }
        await server.stop(grace: .seconds(120))
        #expect(server.stats.open == 0)
    }

    /// A stream closed before it was sent, queued behind an earlier answer: the earlier answer
    /// still goes out.
    @Test func aDeadStreamDoesNotDropTheAnswerBeforeIt() async throws {
        let server = try server(HTTPLimits())
        let client = try RawClient(port: server.port, receiveTimeout: 3)
        defer { client.close() }
        client.send("GET /delay/100 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /closed HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/delay/100\n"), "got \(text.debugDescription)")
        await server.stop(grace: .milliseconds(100))
    }
}
