import JSON
import Synchronization
import Testing

@testable import Actual

/// Requests a session sends for the controller's clients (the gateway): each gets the session's
/// own id and progress token, and the server's progress reaches the request that asked, with the
/// client's token back.
@Suite(.timeLimit(.minutes(1))) struct ForwardedRequestTests {
    final class Heard: Sendable {
        let progress = Mutex<[String: [JSONValue]]>([:])
        let replies = Mutex<[Int: Result<JSONValue, RPCError>]>([:])
    }

    private func params(token: JSONValue) -> JSONValue {
        .object([("name", "sleep"), ("_meta", .object([("progressToken", token), ("traceparent", "00-abc")]))])
    }

    /// Two clients chose the same progress token; the server sees two distinct ones, and each
    /// client hears only its own progress, under the token it chose.
    @Test func progressReachesTheRequestThatAskedUnderItsOwnToken() async throws {
        let pipe = PipedSession()
        let heard = Heard()
        for client in ["a", "b"] {
            let sent = pipe.session.forward(
                "tools/call", params: params(token: "p"),
                onProgress: { params in heard.progress.withLock { $0[client, default: []].append(params) } },
                onReply: { id, outcome in heard.replies.withLock { $0[id] = outcome } })
            #expect((try? sent.get()) != nil)
        }
        let first = try #require(await pipe.sentLine())
        let second = try #require(await pipe.sentLine())
        let tokenA = try #require(first["params"]?["_meta"]?["progressToken"]?.stringValue)
        let tokenB = try #require(second["params"]?["_meta"]?["progressToken"]?.stringValue)
        #expect(tokenA != tokenB && tokenA != "p")
        // Everything else in `_meta` and `params` is passed on untouched.
        #expect(first["params"]?["_meta"]?["traceparent"] == "00-abc")
        #expect(first["params"]?["name"] == "sleep")

        pipe.reply(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(tokenB)","progress":1}}"#)
        pipe.reply(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(tokenA)","progress":2}}"#)
        let idA = try #require(first["id"]?.intValue)
        pipe.reply(#"{"jsonrpc":"2.0","id":\#(idA),"result":{"content":[]}}"#)
        // After its answer, a request's token is no longer routed: a late one is an event.
        pipe.reply(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(tokenA)","progress":3}}"#)

        let progress = heard.progress.withLock { $0 }
        #expect(progress["a"] == [.object([("progressToken", "p"), ("progress", 2)])])
        #expect(progress["b"] == [.object([("progressToken", "p"), ("progress", 1)])])
        #expect(heard.replies.withLock { $0[idA] } != nil)
        let events = pipe.log.events.withLock { $0 }
        #expect(events.count == 1)
        if case .notification(let method, let params)? = events.first {
            #expect(method == "notifications/progress" && params?["progress"] == 3)
        } else {
            Issue.record("expected the late progress as an event, got \(events)")
        }
    }

    @Test func withoutATokenOrAListenerTheParamsGoAsTheyAre() async throws {
        let pipe = PipedSession()
        _ = pipe.session.forward("tools/list", params: .object([("cursor", "x")]), onProgress: { _ in }, onReply: { _, _ in })
        #expect(await pipe.sentLine()?["params"] == .object([("cursor", "x")]))
        _ = pipe.session.forward("tools/call", params: params(token: 7), onProgress: nil, onReply: { _, _ in })
        #expect(await pipe.sentLine()?["params"]?["_meta"]?["progressToken"] == 7)
        _ = pipe.session.forward(
            "tools/call", params: params(token: .object([])), onProgress: { _ in }, onReply: { _, _ in })
        #expect(await pipe.sentLine()?["params"]?["_meta"]?["progressToken"] == .object([]))
    }

    /// An abandoned request (its client left) is cancelled at the server with the session's id,
    /// and its progress is no longer routed; a closed session routes nothing.
    @Test func abandoningOrClosingEndsTheRoute() async throws {
        let pipe = PipedSession()
        let heard = Heard()
        let id = try pipe.session.forward(
            "tools/call", params: params(token: 1),
            onProgress: { params in heard.progress.withLock { $0["x", default: []].append(params) } },
            onReply: { _, _ in }
        ).get()
        let token = try #require(await pipe.sentLine()?["params"]?["_meta"]?["progressToken"]?.stringValue)
        let waiting = pipe.session.abandon(id, notifying: "client went away")
        #expect(waiting)
        let cancel = await pipe.sentLine()
        #expect(cancel?["method"] == "notifications/cancelled")
        #expect(cancel?["params"]?["requestId"] == .int(id))
        pipe.reply(#"{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"\#(token)","progress":1}}"#)
        #expect(heard.progress.withLock { $0 }.isEmpty)

        let replies = Heard()
        let second = try pipe.session.forward(
            "tools/call", params: params(token: 2), onProgress: { _ in },
            onReply: { id, outcome in replies.replies.withLock { $0[id] = outcome } }
        ).get()
        _ = await pipe.sentLine()
        pipe.session.close("the server exited")
        #expect(replies.replies.withLock { $0[second] } == .failure(.closed("the server exited")))
        #expect(throws: RPCError.closed("the server exited")) {
            try pipe.session.forward("tools/call", params: nil, onProgress: nil, onReply: { _, _ in }).get()
        }
    }
}
