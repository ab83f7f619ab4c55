import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// A client that writes its request a few bytes at a time: the server keeps reading across the
/// writes and answers once the request is whole, but only within the head deadline, which runs
/// from the request's first byte (`HTTPLimits.headTimeout`), not from the latest write.
@Suite(.timeLimit(.minutes(1))) struct TricklingClientTests {
    /// What the handler was given: method, path, one header and the body.
    final class Handled: Sendable {
        let requests = Mutex<[String]>([])
        var all: [String] { requests.withLock { $0 } }
    }

    private func server(_ limits: HTTPLimits, handled: Handled) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request, responder in
            let summary =
                "\(request.method) \(request.path) \(request.header("X-Trickle") ?? "-") \(String(decoding: request.body, as: UTF8.self))"
            handled.requests.withLock { $0.append(summary) }
            responder.respond(.text(200, summary + "\n"))
        }
        server.start()
        return server
    }

    /// A connected client whose small writes go out at once (no Nagle coalescing).
    private func client(port: Int) throws -> RawClient {
        let client = try RawClient(port: port)
        var one: Int32 = 1
        setsockopt(client.fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        return client
    }

    /// Whether the server has sent anything yet (without waiting).
    private func answered(_ client: RawClient) -> Bool {
        var byte: UInt8 = 0
        return recv(client.fd, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT)) >= 0
    }

    @Test func aRequestTrickledInSmallWritesIsAnsweredOnceWhole() async throws {
        let handled = Handled()
        let server = try server(HTTPLimits(headTimeout: .seconds(30), bodyTimeout: .seconds(30)), handled: handled)
        let client = try client(port: server.port)
        defer { client.close() }
        let text =
            "POST /trickle HTTP/1.1\r\nHost: localhost\r\nX-Trickle: split across writes\r\nContent-Length: 11\r\n"
            + "Connection: close\r\n\r\nhello world"
        let request = Array(text.utf8)
        var writes = 0
        for start in stride(from: 0, to: request.count, by: 3) {
            let piece = Array(request[start..<min(start + 3, request.count)])
            #expect(client.send(piece) == piece.count)
            writes += 1
            guard start + 3 < request.count else { break }
            // Nothing is handled or answered while the request is incomplete.
            #expect(handled.all.isEmpty, "handled after \(start + 3) of \(request.count) bytes")
            #expect(!answered(client), "answered after \(start + 3) of \(request.count) bytes")
            // The trickle's pace (the client's behaviour under test, not a synchronisation).
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(writes == (request.count + 2) / 3)
        let answer = await client.read()
        #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n"), "got \(answer.debugDescription)")
        #expect(answer.hasSuffix("\r\n\r\nPOST /trickle split across writes hello world\n"))
        #expect(handled.all == ["POST /trickle split across writes hello world"])
        #expect(server.stats.timeouts == 0)
        await server.stop()
    }

    /// A whole request of 100 bytes trickled one byte per 20 ms takes at least 2 s against a
    /// 1 s head deadline. Each gap is far shorter than the deadline, so a deadline restarted by
    /// every read would let it through (and the handler would answer 200); measured from the
    /// first byte, it is cut off with 408 and the connection closed before the request is whole.
    @Test func aTrickleSlowerThanTheHeadDeadlineGets408AndIsClosed() async throws {
        let handled = Handled()
        let server = try server(HTTPLimits(headTimeout: .seconds(1)), handled: handled)
        let client = try client(port: server.port)
        defer { client.close() }
        let reply = Task { await client.read() }
        let request = Array(
            "GET /late HTTP/1.1\r\nHost: localhost\r\nX-Trickle: slow\r\nUser-Agent: trickling-client\r\nConnection: close\r\n\r\n".utf8)
        try #require(request.count >= 100)
        var sent = 0
        for byte in request {
            guard client.send([byte]) == 1 else { break }
            sent += 1
            if server.stats.timeouts > 0 { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let text = await reply.value
        #expect(text.hasPrefix("HTTP/1.1 408 Request Timeout\r\n"), "got \(text.debugDescription)")
        #expect(text.contains("Connection: close"))
        #expect(sent < request.count, "the whole request went out before the deadline")
        #expect(handled.all.isEmpty)
        #expect(server.stats.timeouts == 1)
        // Closed by the server: nothing more arrives, and the connection is gone from its count.
        #expect(await client.read() == "")
        try await waitUntil { server.stats.open == 0 }
        await server.stop()
    }
}
