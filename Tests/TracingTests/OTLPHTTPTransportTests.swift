import Foundation
import HTTP
import Synchronization
import Testing

@testable import Tracing

/// The transport against the repository's own HTTP server on loopback: what it sends, and how
/// each kind of answer (and no answer) is reported.
@Suite(.timeLimit(.minutes(1))) struct OTLPHTTPTransportTests {
    final class Seen: Sendable {
        let requests = Mutex<[(path: String, type: String?, body: [UInt8])]>([])
    }

    /// `send` blocks its thread (the exporter's own, in the controller): here a thread of its
    /// own too, never one of the test pool's few cooperative threads.
    private func send(_ transport: OTLPHTTPTransport, _ body: [UInt8]) async -> ExportResult {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: transport.send(body, timeout: .seconds(5))) }.start()
        }
    }

    private func collector(status: Int, seen: Seen) throws -> HTTPServer {
        let server = try HTTPServer(host: "127.0.0.1", port: 0) { request, responder in
            seen.requests.withLock { $0.append((request.path, request.header("Content-Type"), request.body)) }
            responder.respond(.text(status, "{}", contentType: "application/json"))
        }
        server.start()
        return server
    }

    @Test func postsJSONToTheTracesPath() async throws {
        let seen = Seen()
        let server = try collector(status: 200, seen: seen)
        let transport = OTLPHTTPTransport(endpoint: try OTLPEndpoint("http://127.0.0.1:\(server.port)/otlp"))
        let body = OTLPJSON(serviceName: "t", serviceVersion: "1").encode([span(1)])
        #expect(await send(transport, body) == .accepted)
        let requests = seen.requests.withLock { $0 }
        #expect(requests.map(\.path) == ["/otlp/v1/traces"])
        #expect(requests.first?.type == "application/json")
        #expect(requests.first?.body == body)
        await server.stop(grace: .zero)
    }

    @Test func reportsRejectionsAndAbsence() async throws {
        let seen = Seen()
        let server = try collector(status: 503, seen: seen)
        let port = server.port
        let transport = OTLPHTTPTransport(endpoint: try OTLPEndpoint("http://127.0.0.1:\(port)"))
        let result = await send(transport, [0x7B, 0x7D])
        #expect(result == .rejected(status: 503))
        #expect(result.isRetryable)
        #expect(!ExportResult.rejected(status: 400).isRetryable)
        await server.stop(grace: .zero)
        // Nobody listens there any more: refused, at once.
        guard case .failed(let why) = await send(transport, [0x7B, 0x7D]) else {
            Issue.record("expected a failure")
            return
        }
        #expect(why.contains("connect") || why.contains("closed"))
    }
}
