import CSystem
import Desired
import Dispatch
import Foundation
import Glibc
import JSON
import Synchronization
import Testing

@testable import Actual

/// A session over a real pipe: what the session writes is read back from the other end, and
/// lines from "the server" are fed in as the I/O loop would.
final class PipedSession: Sendable {
    final class Log: Sendable {
        let events = Mutex<[SessionEvent]>([])
    }

    let session: StdioSession
    let log = Log()
    private let readEnd: Int32

    init() {
        var fds: [Int32] = [-1, -1]
        _ = omni_pipe_cloexec(&fds)
        readEnd = fds[0]
        let writer = PipeWriter(fd: fds[1], loop: .shared)
        let log = log
        session = StdioSession(writer: writer, clock: SystemClock()) { event in log.events.withLock { $0.append(event) } }
    }

    deinit { close(readEnd) }

    /// The next line the session wrote. The blocking read runs on a thread of its own: blocking one
    /// of the few cooperative-pool threads would starve the very calls that write the line.
    func sentLine() async -> JSONValue? {
        let fd = readEnd
        return await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                var line: [UInt8] = []
                var byte: UInt8 = 0
                while read(fd, &byte, 1) == 1 {
                    if byte == UInt8(ascii: "\n") { break }
                    line.append(byte)
                }
                continuation.resume(returning: try? JSONParser.parse(line))
            }
        }
    }

    func reply(_ text: String) { session.receive(.line(Array(text.utf8))) }
}

@Suite struct StdioSessionTests {
    @Test func matchesResponsesToCallersByTheSessionsOwnIds() async throws {
        let pipe = PipedSession()
        async let first = pipe.session.call("a", params: nil, timeout: .seconds(10), cancellable: true)
        let sentA = await pipe.sentLine()
        async let second = pipe.session.call("b", params: .object([("x", 1)]), timeout: .seconds(10), cancellable: true)
        let sentB = await pipe.sentLine()
        #expect(sentA?["method"] == "a")
        #expect(sentB?["params"]?["x"] == 1)
        let idA = try #require(sentA?["id"]?.intValue)
        let idB = try #require(sentB?["id"]?.intValue)
        #expect(idA != idB)
        pipe.reply(#"{"jsonrpc":"2.0","id":\#(idB),"result":"B"}"#)
        pipe.reply(#"{"jsonrpc":"2.0","id":\#(idA),"error":{"code":-32601,"message":"nope"}}"#)
        let secondResult = try await second
        #expect(secondResult == "B")
        do {
            _ = try await first
            Issue.record("expected an error response")
        } catch {
            #expect(error as? RPCError == .remote(RPCErrorObject(code: -32601, message: "nope", data: nil)))
        }
        #expect(pipe.session.protocolErrors == 0)
    }

    /// A request that times out is cancelled on the server (notifications/cancelled with its id)
    /// and its late answer is dropped without counting as a protocol error.
    @Test func aTimeoutSendsCancelledAndIgnoresTheLateAnswer() async throws {
        let pipe = PipedSession()
        await #expect(throws: RPCError.timedOut(method: "slow", after: .milliseconds(50))) {
            try await pipe.session.call("slow", params: nil, timeout: .milliseconds(50), cancellable: true)
        }
        let request = try #require(await pipe.sentLine())
        let cancel = try #require(await pipe.sentLine())
        #expect(cancel["method"] == "notifications/cancelled")
        #expect(cancel["params"]?["requestId"] == request["id"])
        pipe.reply(#"{"jsonrpc":"2.0","id":\#(request["id"]?.intValue ?? 0),"result":{}}"#)
        #expect(pipe.session.protocolErrors == 0)
    }

    @Test func aNonCancellableTimeoutSendsNothingMore() async throws {
        let pipe = PipedSession()
        await #expect(throws: RPCError.self) {
            try await pipe.session.call("initialize", params: nil, timeout: .milliseconds(20), cancellable: false)
        }
        _ = await pipe.sentLine()
        _ = await pipe.session.notify("marker", params: nil)
        #expect(await pipe.sentLine()?["method"] == "marker")
    }

    @Test func countsAndReportsEveryKindOfBadLine() async {
        let pipe = PipedSession()
        pipe.reply("this is not json")
        pipe.reply(#"{"hello":"world"}"#)
        pipe.reply(#"{"jsonrpc":"2.0","id":999,"result":{}}"#)
        pipe.reply(#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}"#)
        pipe.session.receive(.oversized(20_000_000))
        pipe.reply("   ")
        #expect(pipe.session.protocolErrors == 5)
        let events = pipe.log.events.withLock { $0 }
        #expect(events.count == 5)
        #expect(events[0] == .invalidMessage(reason: "invalid JSON at byte 1: expected true, got 'h'", excerpt: "this is not json"))
        #expect(events[2] == .unknownResponse(.int(999)))
        #expect(events[4] == .oversizedMessage(bytes: 20_000_000))
    }

    /// Legacy servers may ping their client; the session answers, and refuses other requests.
    @Test func answersServerRequests() async {
        let pipe = PipedSession()
        pipe.reply(#"{"jsonrpc":"2.0","id":"p1","method":"ping"}"#)
        #expect(await pipe.sentLine() == RPCMessage.encodeResponse(id: .string("p1"), result: .object([])))
        pipe.reply(#"{"jsonrpc":"2.0","id":4,"method":"sampling/createMessage","params":{}}"#)
        #expect(await pipe.sentLine()?["error"]?["code"] == -32601)
        pipe.reply(#"{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}"#)
        #expect(pipe.log.events.withLock { $0 }.last == .notification(method: "notifications/tools/list_changed", params: nil))
    }

    @Test func closingFailsEveryCallerAndLaterCalls() async {
        let pipe = PipedSession()
        async let pending = pipe.session.call("x", params: nil, timeout: .seconds(30), cancellable: true)
        _ = await pipe.sentLine()
        pipe.session.close("the process exited (exit 1)")
        do {
            _ = try await pending
            Issue.record("expected the close to fail the call")
        } catch {
            #expect(error as? RPCError == .closed("the process exited (exit 1)"))
        }
        await #expect(throws: RPCError.closed("the process exited (exit 1)")) {
            try await pipe.session.call("y", params: nil, timeout: .seconds(1), cancellable: true)
        }
    }
}

/// The loop-run health checks against a peer that never answers: each check times out, and
/// only a `ping` is cancelled (`server/discover` is answered at once or not at all, MCP.md).
@Suite(.timeLimit(.minutes(1))) struct StdioProberTests {
    func timedOutCheck(era: MCPEra, version: String) async -> (sent: [JSONValue], outcome: ProbeOutcome?) {
        let pipe = PipedSession()
        let identity = ServerIdentity(era: era, protocolVersion: version, name: nil, version: nil, capabilities: .object([]))
        let status = ProbeStatus(failureThreshold: 1)
        let target = StdioProber.Target(session: pipe.session, identity: identity, server: "silent", status: status, tally: ProbeTally())
        let health = HealthPolicy(interval: .milliseconds(10), timeout: .milliseconds(50), failureThreshold: 1, startupTimeout: .seconds(1))
        let (key, outcomes) = StdioProber.shared.watch(target, health: health)
        var iterator = outcomes.makeAsyncIterator()
        let outcome = await iterator.next()
        StdioProber.shared.unwatch(key)
        var sent: [JSONValue] = []
        if let request = await pipe.sentLine() { sent.append(request) }
        if era == .legacy, let cancel = await pipe.sentLine() { sent.append(cancel) }
        return (sent, outcome)
    }

    @Test func aLegacyPingThatTimesOutIsCancelled() async throws {
        let (sent, outcome) = await timedOutCheck(era: .legacy, version: MCPVersion.legacy[0])
        #expect(outcome?.transition == .becameUnhealthy)
        #expect(outcome?.record.succeeded == false)
        #expect(outcome?.record.error?.hasPrefix("ping: no response within") == true)
        #expect(sent.first?["method"] == "ping")
        #expect(sent.last?["method"] == "notifications/cancelled")
        #expect(sent.last?["params"]?["requestId"] == sent.first?["id"])
    }

    @Test func aModernDiscoverThatTimesOutIsNotCancelled() async throws {
        let (sent, outcome) = await timedOutCheck(era: .modern, version: MCPVersion.modern[0])
        #expect(outcome?.transition == .becameUnhealthy)
        #expect(sent.count == 1)
        #expect(sent.first?["method"] == "server/discover")
        #expect(sent.first?["params"]?["_meta"]?["io.modelcontextprotocol/protocolVersion"]?.stringValue == MCPVersion.modern[0])
    }
}
