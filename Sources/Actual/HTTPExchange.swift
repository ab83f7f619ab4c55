import Desired
import Foundation
import HTTP
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
        var events: SSEParser?
    }

    /// The request's id; nil for a notification (answered by `202 Accepted`).
    let expected: RPCID?
    let reply = OneShot<Outcome>()
    let progress = Mutex(Progress())
    /// Body bytes handed to the parsing queue and not parsed yet.
    let queued = Mutex(0)
    private let cancelTransferAction = Mutex<(@Sendable () -> Void)?>(nil)
    private let transferCancelled = Mutex(false)

    init(expecting expected: RPCID?) {
        self.expected = expected
    }

    /// How to stop the transfer once the reply is in (set once the request is sent).
    func onCancelTransfer(_ action: @escaping @Sendable () -> Void) {
        cancelTransferAction.withLock { $0 = action }
        if transferCancelled.withLock({ $0 }) { action() }
    }

    func cancelTransfer() {
        transferCancelled.withLock { $0 = true }
        cancelTransferAction.withLock { $0 }?()
    }
}

/// Reads every exchange of one channel, bounding what it buffers: the same logic whichever
/// transport carries the bytes (the event loop's `HTTPClient` for `http://`, URLSession, which
/// has TLS, for `https://`).
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

    // MARK: Transport-neutral steps

    /// The response head arrived.
    func began(_ exchange: HTTPExchange, status: Int, contentType: String?, sessionID: String?) {
        let type = (contentType ?? "").lowercased()
        exchange.progress.withLock { progress in
            progress.status = status
            progress.sessionID = sessionID
            progress.isStream = type.hasPrefix("text/event-stream")
            if progress.isStream { progress.events = SSEParser(maxLineBytes: maxMessageBytes, maxDataBytes: maxMessageBytes) }
        }
    }

    /// Body bytes arrived; true when the exchange is complete (the transfer can stop).
    func received(_ exchange: HTTPExchange, _ data: some Collection<UInt8>) -> Bool {
        var messages: [[UInt8]] = []
        var overflow = false
        exchange.progress.withLock { progress in
            if progress.isStream {
                // Fed in place: a copy of the parser would copy its partial event on every chunk.
                do {
                    for event in try progress.events?.feed(data) ?? [] where !event.data.isEmpty { messages.append(event.data) }
                } catch {
                    overflow = true
                }
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
            return true
        }
        for message in messages where deliver(message, to: exchange) { return true }
        return false
    }

    /// The transfer ended (`error`: why it failed, nil when the response ended normally).
    func completed(_ exchange: HTTPExchange, error: String?) {
        guard exchange.reply.value == nil else { return }
        if let error {
            finish(exchange, .failure(.transport("\(RPCError.requestFailed): \(error)")))
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

    // MARK: URLSession

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
            began(
                exchange, status: http.statusCode, contentType: http.value(forHTTPHeaderField: "Content-Type"),
                sessionID: http.value(forHTTPHeaderField: "Mcp-Session-Id"))
        }
        completionHandler(.allow)
    }

    func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive data: Data) {
        guard let exchange = exchange(dataTask) else { return }
        if received(exchange, data) { dataTask.cancel() }
    }

    func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: (any Error)?) {
        guard let exchange = exchanges.withLock({ $0.removeValue(forKey: task.taskIdentifier) }) else { return }
        completed(exchange, error: error?.localizedDescription)
    }

    // MARK: Messages

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
