import Foundation
import Glibc
import Synchronization
import Testing

@testable import HTTP

/// Streams as a server's handler uses them: keep-alive comments, back-pressure by dropping, and
/// cancellation when the client goes away.
@Suite(.timeLimit(.minutes(1))) struct HTTPStreamTests {
    final class Seen: Sendable {
        let cancelled = Mutex(false)
        let closed = Mutex(false)
        let accepted = Mutex(0)
        let refusedWrite = Mutex(false)
    }

    private func server(_ limits: HTTPLimits = HTTPLimits(), seen: Seen) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0, limits: limits) { request, responder in
            switch request.path {
            case "/quiet":
                responder.respond(.eventStream(HTTPStream(keepAlive: .milliseconds(100))))
            case "/flood":
                let stream = HTTPStream()
                stream.onClose { seen.closed.withLock { $0 = true } }
                responder.respond(.eventStream(stream))
                Thread.detachNewThread {
                    let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 65536)
                    // Bounded: the server must refuse long before 1 GiB.
                    for _ in 0..<16384 {
                        guard stream.write(chunk) else {
                            seen.refusedWrite.withLock { $0 = true }
                            return
                        }
                        seen.accepted.withLock { $0 += chunk.count }
                    }
                }
            case "/hang":
                responder.onCancel { seen.cancelled.withLock { $0 = true } }
            default:
                responder.respond(.text(404, "no\n"))
            }
        }
        server.start()
        return server
    }

    /// A finished stream lets go of its close callbacks: a producer that captures itself in one
    /// is not kept alive by the stream it owns.
    @Test func finishingReleasesTheCloseCallbacks() {
        final class Producer: Sendable {}
        let stream = HTTPStream()
        weak var weakProducer: Producer?
        do {
            let producer = Producer()
            weakProducer = producer
            stream.onClose { _ = producer }
        }
        #expect(weakProducer != nil)
        stream.finish()
        #expect(weakProducer == nil)
        let ran = Mutex(false)
        stream.onClose { ran.withLock { $0 = true } }
        stream.close()
        #expect(!ran.withLock { $0 })
    }

    @Test func anIdleStreamGetsKeepAliveComments() async throws {
        let server = try server(seen: Seen())
        let client = try RawClient(port: server.port)
        defer { client.close() }
        client.send("GET /quiet HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let text = await client.read(until: ": keep-alive\n\n\r\n")
        #expect(text.contains("\r\ne\r\n: keep-alive\n\n\r\n"))
        await server.stop(grace: .milliseconds(100))
    }

    /// A client that never reads is dropped once its buffer is full; the producer learns it from
    /// `write` returning false and from `onClose`, and the bytes it got in are bounded.
    @Test func aClientThatDoesNotReadIsDropped() async throws {
        let seen = Seen()
        let server = try server(HTTPLimits(outputBuffer: 256 << 10), seen: seen)
        let client = try RawClient(port: server.port)
        defer { client.close() }
        var small: Int32 = 4096
        setsockopt(client.fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        client.send("GET /flood HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await waitUntil { seen.refusedWrite.withLock { $0 } }
        #expect(seen.closed.withLock { $0 })
        // The producer learns of the overflow at once; the connection counts it when the loop
        // next pulls from the stream, a moment later on a loaded machine.
        try await waitUntil { server.stats.slowReaders == 1 }
        // What the producer got in: the connection's buffer plus what the kernel's socket
        // buffers held, far below the gigabyte it tried.
        #expect(seen.accepted.withLock { $0 } < 64 << 20)
        await server.stop()
    }

    @Test func aClientThatLeavesCancelsItsRequest() async throws {
        let seen = Seen()
        let server = try server(seen: seen)
        let client = try RawClient(port: server.port)
        client.send("GET /hang HTTP/1.1\r\nHost: localhost\r\n\r\n")
        try await waitUntil { server.stats.accepted == 1 }
        client.close()
        try await waitUntil { seen.cancelled.withLock { $0 } }
        try await waitUntil { server.stats.open == 0 }
        await server.stop()
    }

    @Test func writesBeforeTheResponseIsSentAreKeptAndAfterCloseRefused() {
        let stream = HTTPStream()
        #expect(stream.write(Array("a".utf8)))
        let closed = Mutex(0)
        stream.onClose { closed.withLock { $0 += 1 } }
        stream.close()
        stream.close()
        #expect(closed.withLock { $0 } == 1)
        #expect(!stream.write(Array("b".utf8)))
        #expect(stream.isClosed)
        let late = Mutex(false)
        stream.onClose { late.withLock { $0 = true } }
        #expect(late.withLock { $0 })
    }

    @Test func aFinishedStreamDoesNotCallOnClose() {
        let stream = HTTPStream()
        let closed = Mutex(false)
        stream.onClose { closed.withLock { $0 = true } }
        stream.finish()
        stream.close()
        #expect(!closed.withLock { $0 })
        #expect(!stream.write([1]))
    }
}
