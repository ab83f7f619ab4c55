import Desired
import Foundation
import JSON
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// One POST in flight: what it waits for and what has arrived so far.
final class HTTPExchange: Sendable {
    struct Outcome: Sendable {
        var result: Result<JSONValue, RPCError>
        var sessionID: String?
    }

    struct Progress {
        var status = 0
        var isStream = false
        var sessionID: String?
        var body: [UInt8] = []
        var lines: LineSplitter?
        var events: SSEParser?
    }

    /// The request's id; nil for a notification (answered by `202 Accepted`).
    let expected: RPCID?
    let reply = OneShot<Outcome>()
    let progress = Mutex(Progress())

    init(expecting expected: RPCID?) {
        self.expected = expected
    }
}

/// The URLSession delegate that feeds every exchange of one channel, bounding what it buffers.
final class HTTPExchangeRouter: NSObject, URLSessionDataDelegate, Sendable {
    private let maxMessageBytes: Int
    private let onEvent: @Sendable (SessionEvent) -> Void
    private let exchanges = Mutex<[Int: HTTPExchange]>([:])
    private let errors = Mutex(0)

    init(maxMessageBytes: Int, onEvent: @escaping @Sendable (SessionEvent) -> Void) {
        self.maxMessageBytes = maxMessageBytes
        self.onEvent = onEvent
    }

    var protocolErrors: Int { errors.withLock { $0 } }

    func add(task: URLSessionTask, exchange: HTTPExchange) {
        exchanges.withLock { $0[task.taskIdentifier] = exchange }
    }

    private func exchange(_ task: URLSessionTask) -> HTTPExchange? {
        exchanges.withLock { $0[task.taskIdentifier] }
    }

    func urlSession(
        _ session: URLSession, dataTask: URLSessionDataTask, didReceive response: URLResponse,
        completionHandler: @escaping (URLSession.ResponseDisposition) -> Void
    ) {
        if let exchange = exchange(dataTask), let http = response as? HTTPURLResponse {
            let type = (http.value(forHTTPHeaderField: "Content-Type") ?? "").lowercased()
            exchange.progress.withLock { progress in
                progress.status = http.statusCode
                progress.sessionID = http.value(forHTTPHeaderField: "Mcp-Session-Id")
                progress.isStream = type.hasPrefix("text/event-stream")
                if progress.isStream {
                    progress.lines = LineSplitter(maxLength: maxMessageBytes)
                    progress.events = SSEParser(maxBytes: maxMessageBytes)
                }
            }
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(dataTask) else { return }
        var messages: [[UInt8]] = []
        var overflow = false
        exchange.progress.withLock { progress in
            if progress.isStream, var lines = progress.lines, var events = progress.events {
                for event in lines.feed(data) {
                    switch event {
                    case .line(let line):
                        do {
                            if let message = try events.feed(line: line) { messages.append(message) }
                        } catch {
                            overflow = true
                        }
                    case .oversized: overflow = true
                    }
                }
                progress.lines = lines
                progress.events = events
            } else if progress.body.count + data.count > maxMessageBytes {
                overflow = true
            } else {
                progress.body.append(contentsOf: data)
            }
        }
        if overflow {
            countError()
            onEvent(.oversizedMessage(bytes: data.count))
            finish(exchange, .failure(.protocolViolation("a response larger than \(maxMessageBytes) bytes")))
            dataTask.cancel()
            return
        }
        for message in messages where deliver(message, to: exchange) { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = exchanges.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        guard exchange.reply.value == nil else { return }
        if let error {
            finish(exchange, .failure(.transport("HTTP request failed: \(error.localizedDescription)")))
            return
        }
        let (status, isStream, body) = exchange.progress.withLock { ($0.status, $0.isStream, $0.body) }
        if exchange.expected == nil, (200..<300).contains(status) {
            finish(exchange, .success(.null))
            return
        }
        if !isStream, !body.isEmpty, deliver(body, to: exchange) { return }
        finish(
            exchange,
            .failure(.transport(isStream ? "the event stream ended without a response" : "HTTP \(status) without a JSON-RPC response")))
    }

    /// Handles one JSON-RPC message from a body or an event; true when it completed the exchange.
    private func deliver(_ bytes: [UInt8], to exchange: HTTPExchange) -> Bool {
        let message: RPCMessage
        do {
            message = try RPCMessage.parse(bytes)
        } catch {
            countError()
            onEvent(.invalidMessage(reason: error.description, excerpt: StdioSession.excerpt(bytes)))
            return false
        }
        switch message {
        case .result(let id, let result) where id == exchange.expected:
            finish(exchange, .success(result))
            return true
        case .error(let id, let error) where id == exchange.expected || id == nil:
            finish(exchange, .failure(.remote(error)))
            return true
        case .notification(let method, let params):
            onEvent(.notification(method: method, params: params))
        case .request(_, let method, _):
            onEvent(.serverRequest(method: method))
        case .result(let id, _):
            countError()
            onEvent(.unknownResponse(id))
        case .error(let id, let error):
            countError()
            if let id {
                onEvent(.unknownResponse(id))
            } else {
                onEvent(.invalidMessage(reason: "error response without an id: \(error)", excerpt: StdioSession.excerpt(bytes)))
            }
        }
        return false
    }

    private func finish(_ exchange: HTTPExchange, _ result: Result<JSONValue, RPCError>) {
        let sessionID = exchange.progress.withLock { $0.sessionID }
        exchange.reply.fulfil(HTTPExchange.Outcome(result: result, sessionID: sessionID))
    }

    private func countError() { errors.withLock { $0 += 1 } }
}
