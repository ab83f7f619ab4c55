import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// The event-loop client against the event-loop server (and a raw socket where the server must
/// misbehave): pooling, streaming, deadlines, cancellation and every way a response can fail.
@Suite(.timeLimit(.minutes(1))) struct HTTPClientTests {
    final class Seen: Sendable {
        let cancelled = Mutex(0)
    }

    private func server(_ limits: HTTPLimits = HTTPLimits(), seen: Seen = Seen()) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request, responder in
            switch request.path {
            case "/events":
                let stream = HTTPStream()
                responder.respond(.eventStream(stream))
                Task {
                    for index in 0..<3 {
                        stream.write(Array("data: \(index)\n\n".utf8))
                        try? await Task.sleep(for: .milliseconds(20))
                    }
                    stream.finish()
                }
            case "/hang":
                responder.onCancel { seen.cancelled.withLock { $0 += 1 } }
            case "/close":
                responder.respond(HTTPResponse(status: 200, headers: [("Connection", "close")], body: .bytes(Array("bye".utf8))))
            case "/big":
                responder.respond(.text(200, String(repeating: "x", count: 10000)))
            default:
                let body = "\(request.method) \(request.path) \(request.body.count) \(request.header("X-Test") ?? "-")"
                responder.respond(.text(200, body))
            }
        }
        server.start()
        return server
    }

    private func origin(_ server: HTTPServer) -> HTTPOrigin { HTTPOrigin(host: "127.0.0.1", port: server.port) }

    @Test func keepsTheConnectionAliveAcrossRequests() async throws {
        let server = try server()
        let client = HTTPClient()
        for index in 0..<3 {
            let request = HTTPClientRequest(method: "POST", target: "/echo", headers: [("X-Test", "\(index)")], body: [1, 2, 3])
            let (head, body) = try await client.fetch(request, to: origin(server), timeout: .seconds(5))
            #expect(head.status == 200)
            #expect(String(decoding: body, as: UTF8.self) == "POST /echo 3 \(index)")
        }
        #expect(server.stats.accepted == 1)
        #expect(client.idleConnections == 1)
        await server.stop()
    }

    @Test func aNameIsResolved() async throws {
        let server = try server()
        let (_, body) = try await HTTPClient().fetch(
            HTTPClientRequest(method: "GET", target: "/n"), to: HTTPOrigin(host: "localhost", port: server.port), timeout: .seconds(5))
        #expect(String(decoding: body, as: UTF8.self) == "GET /n 0 -")
        await server.stop()
    }

    @Test func streamsTheBodyAsItArrives() async throws {
        let server = try server()
        let pieces = Mutex<[String]>([])
        let ended: (stream: AsyncStream<HTTPClientError?>, continuation: AsyncStream<HTTPClientError?>.Continuation) =
            AsyncStream.makeStream()
        HTTPClient().send(
            HTTPClientRequest(method: "GET", target: "/events"), to: origin(server), timeout: .seconds(5),
            handlers: HTTPResponseHandlers(
                head: { head in pieces.withLock { $0.append("head \(head.status) \(head.header("Content-Type") ?? "")") } },
                body: { bytes in pieces.withLock { $0.append(String(decoding: bytes, as: UTF8.self)) } },
                end: { error in
                    ended.continuation.yield(error)
                    ended.continuation.finish()
                }))
        var iterator = ended.stream.makeAsyncIterator()
        let error = await iterator.next()
        #expect(error == .some(nil))
        let seen = pieces.withLock { $0 }
        #expect(seen.first == "head 200 text/event-stream")
        // Three events written 20 ms apart arrive as (at least) three pieces, in order.
        #expect(seen.count >= 4)
        #expect(seen.dropFirst().joined() == "data: 0\n\ndata: 1\n\ndata: 2\n\n")
        var parser = SSEParser()
        let events = try parser.feed(Array(seen.dropFirst().joined().utf8))
        #expect(events.map(\.text) == ["0", "1", "2"])
        await server.stop()
    }

    /// The deadline covers the whole exchange; the server hears the client leave.
    @Test func aResponseThatNeverComesTimesOut() async throws {
        let seen = Seen()
        let server = try server(seen: seen)
        await #expect(throws: HTTPClientError.timedOut) {
            try await HTTPClient().fetch(HTTPClientRequest(method: "GET", target: "/hang"), to: origin(server), timeout: .milliseconds(200))
        }
        try await waitUntil { seen.cancelled.withLock { $0 } == 1 }
        await server.stop()
    }

    @Test func cancellingClosesTheConnection() async throws {
        let seen = Seen()
        let server = try server(seen: seen)
        let result = Mutex<HTTPClientError??>(nil)
        let call = HTTPClient().send(
            HTTPClientRequest(method: "GET", target: "/hang"), to: origin(server), timeout: .seconds(30),
            handlers: HTTPResponseHandlers(head: { _ in }, body: { _ in }, end: { error in result.withLock { $0 = error } }))
        try await waitUntil { server.stats.accepted == 1 }
        call.cancel()
        try await waitUntil { result.withLock { $0 } != nil }
        #expect(result.withLock { $0 } == .some(.cancelled))
        try await waitUntil { seen.cancelled.withLock { $0 } == 1 }
        await server.stop()
    }

    @Test func aConnectionTheServerClosesIsNotReused() async throws {
        let server = try server()
        let client = HTTPClient()
        for _ in 0..<2 {
            let (_, body) = try await client.fetch(
                HTTPClientRequest(method: "GET", target: "/close"), to: origin(server), timeout: .seconds(5))
            #expect(body == Array("bye".utf8))
        }
        #expect(server.stats.accepted == 2)
        #expect(client.idleConnections == 0)
        await server.stop()
    }

    /// A pooled connection the server closed while idle leaves the pool; the next request opens
    /// a new one instead of failing on the dead socket.
    @Test func anIdleConnectionClosedByTheServerLeavesThePool() async throws {
        let server = try server(HTTPLimits(idleTimeout: .milliseconds(100)))
        let client = HTTPClient()
        _ = try await client.fetch(HTTPClientRequest(method: "GET", target: "/a"), to: origin(server), timeout: .seconds(5))
        try await waitUntil { client.idleConnections == 0 }
        let (_, body) = try await client.fetch(HTTPClientRequest(method: "GET", target: "/b"), to: origin(server), timeout: .seconds(5))
        #expect(String(decoding: body, as: UTF8.self) == "GET /b 0 -")
        #expect(server.stats.accepted == 2)
        await server.stop()
    }

    @Test func aBodyOverTheLimitIsRefused() async throws {
        let server = try server()
        await #expect(throws: HTTPClientError.bodyTooLarge(100)) {
            try await HTTPClient().fetch(
                HTTPClientRequest(method: "GET", target: "/big"), to: origin(server), timeout: .seconds(5), maxBody: 100)
        }
        await server.stop()
    }

    @Test func aRefusedConnectionIsAConnectError() async throws {
        // A port that was just free: bind, read the port, close.
        let probe = try HTTPServer(host: "127.0.0.1", port: 0) { (_: HTTPRequest) in .text(200, "") }
        let port = probe.port
        probe.start()
        await probe.stop()
        do {
            _ = try await HTTPClient().fetch(
                HTTPClientRequest(method: "GET", target: "/"), to: HTTPOrigin(host: "127.0.0.1", port: port), timeout: .seconds(5))
            Issue.record("connected to a closed port")
        } catch {
            if case .connect(let why) = error {
                #expect(why.contains("refused"))
            } else {
                Issue.record("\(error)")
            }
        }
        await #expect(throws: HTTPClientError.connect("cannot resolve no-such-host.invalid")) {
            try await HTTPClient().fetch(
                HTTPClientRequest(method: "GET", target: "/"), to: HTTPOrigin(host: "no-such-host.invalid", port: 80), timeout: .seconds(5))
        }
    }

    @Test func aHeaderThatWouldSplitTheRequestIsRefused() async {
        await #expect(throws: HTTPClientError.self) {
            try await HTTPClient().fetch(
                HTTPClientRequest(method: "GET", target: "/", headers: [("X-A", "b\r\nX-Injected: 1")]),
                to: HTTPOrigin(host: "127.0.0.1", port: 1), timeout: .seconds(5))
        }
    }

    /// A server that answers garbage, or hangs up halfway, is a clear error, never a hang.
    @Test(arguments: [
        ("NOT HTTP AT ALL\r\n\r\n", "protocol"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "closed"),
        ("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "protocol"),
        ("HTTP/1.1 200 OK\r\n\r\nuntil close", "ok"),
    ])
    func aMisbehavingServerIsAClearError(answer: String, expected: String) async throws {
        let listener = try RawListener()
        listener.answerOnce(answer)
        let result: Result<[UInt8], HTTPClientError>
        do {
            let (_, body) = try await HTTPClient().fetch(
                HTTPClientRequest(method: "GET", target: "/"), to: HTTPOrigin(host: "127.0.0.1", port: listener.port), timeout: .seconds(5))
            result = .success(body)
        } catch {
            result = .failure(error)
        }
        switch (result, expected) {
        case (.success(let body), "ok"): #expect(body == Array("until close".utf8))
        case (.failure(.protocolViolation), "protocol"), (.failure(.closed), "closed"): break
        default: Issue.record("\(answer): got \(result)")
        }
    }
}

/// A listening socket that answers one connection with fixed bytes and closes it.
final class RawListener: Sendable {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                Glibc.bind(fd, pointer, length) == 0 && listen(fd, 4) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRINUSE) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func answerOnce(_ text: String) {
        let fd = fd
        Thread.detachNewThread {
            let client = accept(fd, nil, nil)
            var request = [UInt8](repeating: 0, count: 4096)
            _ = request.withUnsafeMutableBytes { recv(client, $0.baseAddress, $0.count, 0) }
            _ = Array(text.utf8).withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            close(client)
            close(fd)
        }
    }
}
