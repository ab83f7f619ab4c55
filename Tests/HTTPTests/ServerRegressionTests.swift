import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// Regressions found by an independent review of the event-loop server and client: each test
/// failed before its fix (pipelining that never resumed, streams outliving their connection, a
/// send on a closed descriptor, a half-sent request pooled, deadlines per read instead of per
/// request, keep-alive comments postponing the send deadline).
@Suite(.serialized, .timeLimit(.minutes(1))) struct ServerRegressionTests {
    final class Hits: Sendable {
        let paths = Mutex<[String: Int]>([:])
        let streams = Mutex<[HTTPStream]>([])
        func hit(_ path: String) { paths.withLock { $0[path, default: 0] += 1 } }
        func count(_ path: String) -> Int { paths.withLock { $0[path] ?? 0 } }
        var total: Int { paths.withLock { $0.values.reduce(0, +) } }
    }

    /// /later/*: answered 50 ms later from a task; /slow/*: 300 ms later; /events: a stream that
    /// never ends; /closed: a stream closed before it is handed over; /quiet: 8 MiB then quiet,
    /// keep-alive comments every 100 ms; anything else at once.
    private func server(_ limits: HTTPLimits, hits: Hits = Hits()) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request, responder in
            hits.hit(request.path)
            if request.path.hasPrefix("/later") || request.path.hasPrefix("/slow") {
                let delay = request.path.hasPrefix("/later") ? 50 : 300
                Task {
                    try? await Task.sleep(for: .milliseconds(delay))
                    responder.respond(.text(200, "\(request.path)\n"))
                }
                return
            }
            switch request.path {
            case "/events":
                let stream = HTTPStream()
                hits.streams.withLock { $0.append(stream) }
                responder.respond(.eventStream(stream))
            case "/closed":
                let stream = HTTPStream()
                stream.close()
                responder.respond(.eventStream(stream))
            case "/prebuffered":
                let stream = HTTPStream(bufferLimit: 64 << 20)
                stream.write([UInt8](repeating: 0x62, count: 32 << 20))
                responder.respond(.eventStream(stream))
            case "/quiet":
                let stream = HTTPStream(keepAlive: .milliseconds(100), bufferLimit: 16 << 20)
                stream.write([UInt8](repeating: 0x61, count: 8 << 20))
                responder.respond(.eventStream(stream))
            default:
                responder.respond(.text(200, "\(request.path)\n"))
            }
        }
        server.start()
        return server
    }

    /// Once `pipelineDepth` requests are pending, reading stops and never resumes after
    /// their answers went out: the next request is never read; the connection idles out.
    @Test func readingResumesAfterAPipelineDrains() async throws {
        let server = try server(HTTPLimits(idleTimeout: .seconds(30), pipelineDepth: 4))
        let client = try RawClient(port: server.port, receiveTimeout: 5)
        defer { client.close() }
        client.send((0..<6).map { "GET /later/\($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }.joined())
        let first = await client.read(until: "/later/5\n")
        #expect(first.contains("/later/5\n"))
        client.send("GET /after HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/after\n"), "the request after a full pipeline was never read")
        await server.stop()
    }

    /// `pipelineDepth` does not bound how many requests are dispatched: one read's worth
    /// (64 KiB) is handed to the handler at once.
    @Test func pipelineDepthBoundsRequestsInFlight() async throws {
        let hits = Hits()
        let server = try server(HTTPLimits(pipelineDepth: 4), hits: hits)
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send((0..<200).map { "GET /slow/\($0) HTTP/1.1\r\nHost: localhost\r\n\r\n" }.joined())
        try await Task.sleep(for: .milliseconds(150))
        let inFlight = hits.total
        #expect(inFlight <= 4, "\(inFlight) requests handed to the handler at once with pipelineDepth 4")
        await server.stop(grace: .milliseconds(100))
    }

    /// A streamed answer queued behind another stream is never closed when the connection
    /// closes, and it buffers without limit (its limit is only set at attach).
    @Test func aQueuedStreamIsClosedWithItsConnection() async throws {
        let hits = Hits()
        let server = try server(HTTPLimits(), hits: hits)
        let client = try RawClient(port: server.port)
        client.send("GET /events HTTP/1.1\r\nHost: localhost\r\n\r\nGET /events HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await waitUntil { hits.streams.withLock { $0.count } == 2 }
        client.close()
        let streams = hits.streams.withLock { $0 }
        try await waitUntil { streams[0].isClosed && server.stats.open == 0 }
        // Closing the connection closed both at once; nothing to wait for.
        #expect(streams[1].isClosed, "the queued stream outlives its connection")
        var accepted = 0
        for _ in 0..<16 where streams[1].write([UInt8](repeating: 0x61, count: 1 << 20)) { accepted += 1 }
        #expect(accepted <= 1, "\(accepted) MiB buffered for a client that is gone")
        await server.stop()
    }

    /// A stream closed before `respond` leaves the connection waiting forever (no deadline).
    @Test func aStreamClosedBeforeItIsSentClosesTheConnection() async throws {
        let server = try server(HTTPLimits())
        let client = try RawClient(port: server.port, receiveTimeout: 2)
        defer { client.close() }
        client.send("GET /closed HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await waitUntil { server.stats.accepted == 1 && server.stats.open == 0 }
        await server.stop(grace: .milliseconds(100))
    }

    /// Keep-alive comments reset `sendingSince`, so a client that never reads a quiet stream
    /// is never dropped by the send deadline.
    @Test func keepAliveCommentsDoNotExtendTheSendDeadline() async throws {
        let server = try server(HTTPLimits(sendTimeout: .milliseconds(500), outputBuffer: 64 << 20))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /quiet HTTP/1.1\r\nHost: localhost\r\n\r\n")
        // The client never reads: the send deadline drops it, keep-alive comments or not.
        try await waitUntil { server.stats.slowReaders == 1 && server.stats.open == 0 }
        await server.stop(grace: .milliseconds(100))
    }

    /// A request pipelined after `Connection: close` is still handed to the handler (RFC 9112
    /// §9.6: SHOULD NOT process further requests) — its side effects happen, its answer never goes out.
    @Test func nothingAfterConnectionCloseIsProcessed() async throws {
        let hits = Hits()
        let server = try server(HTTPLimits(), hits: hits)
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /later/a HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\nPOST /b HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/later/a"))
        #expect(hits.count("/b") == 0, "/b was processed after Connection: close")
        await server.stop()
    }

    /// The head deadline is sampled per read, not per request: back-to-back pipelined
    /// requests whose heads each take 300 ms (limit 500 ms) are cut off.
    @Test func eachPipelinedHeadHasItsOwnDeadlineAcrossReads() async throws {
        // Each head takes 1.2 s against a 2 s deadline; measured per read (from /2's first byte)
        // /3 would be cut off at 2 s. The margins allow a loaded machine's late wake-ups.
        let server = try server(HTTPLimits(headTimeout: .seconds(2)))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /2 HTTP/1.1\r\nHo")
        try await Task.sleep(for: .milliseconds(1200))
        client.send("st: localhost\r\n\r\nGET /3 HTTP/1.1\r\nHo")
        try await Task.sleep(for: .milliseconds(1200))
        client.send("st: localhost\r\nConnection: close\r\n\r\n")
        let text = await client.read()
        #expect(text.contains("/3\n"), "got: \(text.suffix(120).debugDescription)")
        await server.stop()
    }

    /// Client: a response that ends before the request was fully written returns the
    /// connection to the pool with the old body half-sent; the next request is written into
    /// the middle of the old body (the server's framing and the client's are now out of step).
    @Test func aConnectionWithAHalfSentRequestIsNotReused() async throws {
        let listener = try RawListener()
        let received = Mutex<[UInt8]>([])
        let done = Mutex(false)
        let bodySize = 32 << 20
        Thread.detachNewThread {
            let connection = accept(listener.fd, nil, nil)
            var chunk = [UInt8](repeating: 0, count: 4096)
            let first = chunk.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            received.withLock { $0 += chunk[0..<max(first, 0)] }
            let answer = Array("HTTP/1.1 413 Content Too Large\r\nContent-Length: 2\r\n\r\nno".utf8)
            _ = answer.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            usleep(500_000)
            var timeout = timeval(tv_sec: 1, tv_usec: 0)
            setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var big = [UInt8](repeating: 0, count: 1 << 16)
            while true {
                let count = big.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
                if count <= 0 { break }
                received.withLock { $0 += big[0..<count] }
            }
            close(connection)
            close(listener.fd)
            done.withLock { $0 = true }
        }
        let client = HTTPClient()
        let origin = HTTPOrigin(host: "127.0.0.1", port: listener.port)
        let first = HTTPClientRequest(method: "POST", target: "/first", body: [UInt8](repeating: 0x61, count: bodySize))
        let (head, _) = try await client.fetch(first, to: origin, timeout: .seconds(5))
        #expect(head.status == 413)
        let pooled = client.idleConnections
        _ = try? await client.fetch(
            HTTPClientRequest(method: "POST", target: "/second", body: [1]), to: origin, timeout: .milliseconds(800))
        try await waitUntil { done.withLock { $0 } }
        let bytes = received.withLock { $0 }
        let text = String(decoding: bytes, as: UTF8.self)
        let headLength = (text.range(of: "\r\n\r\n").map { text.utf8.distance(from: text.startIndex, to: $0.upperBound) }) ?? 0
        if let second = text.range(of: "POST /second") {
            let at = text.utf8.distance(from: text.startIndex, to: second.lowerBound)
            #expect(
                at >= headLength + bodySize,
                "pooled=\(pooled): /second written at byte \(at), inside the first body (which ends at \(headLength + bodySize))")
        }
    }

    /// pump() calls flush() after attach → drainStream → close() (a stream that already holds
    /// more than outputBuffer): send(2) on a descriptor that was just closed (run under strace:
    /// `sendto(N, ...) = -1 EBADF`), and the slow reader is counted twice.
    @Test func noSendAfterClose() async throws {
        let server = try server(HTTPLimits(outputBuffer: 1 << 20))
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /prebuffered HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await waitUntil { server.stats.accepted == 1 && server.stats.open == 0 }
        #expect(server.stats.slowReaders == 1, "slow readers counted: \(server.stats.slowReaders)")
        await server.stop()
    }

    /// A client that half-closes after its request (`printf … | nc -N`) still gets an answer
    /// the handler gives at once; one still in progress is cancelled, as Go's server and nginx
    /// do (a peer's end of input is taken as the client leaving).
    @Test func aHalfClosingClientGetsAnImmediateAnswerAndCancelsTheRest() async throws {
        let hits = Hits()
        let server = try server(HTTPLimits(), hits: hits)
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /now HTTP/1.1\r\nHost: localhost\r\n\r\nGET /later/probe HTTP/1.1\r\nHost: localhost\r\n\r\n")
        shutdown(client.fd, Int32(SHUT_WR))
        let text = await client.read()
        #expect(text.contains("/now\n"))
        #expect(!text.contains("/later/probe"))
        try await waitUntil { server.stats.open == 0 }
        await server.stop()
    }

    /// At the connection cap, an idle connection makes room for a new one instead of the new one
    /// being refused.
    @Test func anIdleConnectionIsEvictedAtTheCap() async throws {
        let server = try server(HTTPLimits(headTimeout: .seconds(30), connections: 2, reserve: 0))
        let idle = try (0..<2).map { _ in try RawClient(port: server.port) }
        defer { for client in idle { client.close() } }
        try await waitUntil { server.stats.open == 2 }
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /in HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        #expect(await client.read().hasSuffix("/in\n"))
        #expect(server.stats.evicted == 1)
        await server.stop()
    }

    /// A second `stop` returns too (it used to wait forever once the first had finished).
    @Test func stoppingTwiceReturns() async throws {
        let server = try server(HTTPLimits())
        await server.stop()
        await server.stop()
    }
}
