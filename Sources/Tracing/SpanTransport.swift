import Dispatch
import HTTP
import Synchronization

/// How one export went.
public enum ExportResult: Sendable, Hashable {
    /// 2xx: the collector took the batch.
    case accepted
    /// Any other status. `retryable` for 429, 502, 503 and 504 (OTLP/HTTP's "try again later").
    case rejected(status: Int)
    /// No answer: refused, reset, timed out.
    case failed(String)

    public var isRetryable: Bool {
        if case .rejected(let status) = self { return [429, 502, 503, 504].contains(status) }
        return false
    }
}

/// Sends one encoded export. Called on the exporter's own thread only; may block it up to
/// `timeout` (never a request's thread).
public protocol SpanTransport: Sendable {
    func send(_ body: [UInt8], timeout: Duration) -> ExportResult
}

/// OTLP/HTTP: `POST <endpoint>/v1/traces` with `Content-Type: application/json`, on the
/// controller's HTTP client (the shared event loop; the exporter thread waits for the answer).
public struct OTLPHTTPTransport: SpanTransport {
    public let endpoint: OTLPEndpoint
    private let client: HTTPClient

    public init(endpoint: OTLPEndpoint, client: HTTPClient = HTTPClient(maxIdlePerOrigin: 1)) {
        self.endpoint = endpoint
        self.client = client
    }

    public func send(_ body: [UInt8], timeout: Duration) -> ExportResult {
        let request = HTTPClientRequest(
            method: "POST", target: endpoint.target, headers: [("Content-Type", "application/json")], body: body)
        let outcome = Mutex<(status: Int?, error: HTTPClientError?)>((nil, nil))
        let done = DispatchSemaphore(value: 0)
        // The response body is read and dropped, bounded: a collector's answer is small, and a
        // partial success is not acted on.
        let read = Mutex(0)
        let call = client.send(
            request, to: endpoint.origin, timeout: timeout,
            handlers: HTTPResponseHandlers(
                head: { head in outcome.withLock { $0.status = head.status } },
                body: { bytes in read.withLock { $0 += bytes.count } },
                end: { error in
                    outcome.withLock { $0.error = error }
                    done.signal()
                }))
        // The client's own deadline ends the exchange; the extra second only guards against a bug.
        if done.wait(timeout: .now() + .nanoseconds(Int(clamping: timeout.nanoseconds)) + .seconds(1)) == .timedOut {
            call.cancel()
            return .failed("no answer within \(timeout)")
        }
        let (status, error) = outcome.withLock { ($0.status, $0.error) }
        if let error { return .failed(error.description) }
        guard let status else { return .failed("no response") }
        return (200..<300).contains(status) ? .accepted : .rejected(status: status)
    }
}
