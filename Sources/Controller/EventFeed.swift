import HTTP
import Synchronization

/// The controller's log lines as Server-Sent Events (`GET /events`): every line the logger
/// writes (already redacted) goes to every open stream as one `data:` event.
///
/// A subscriber that does not keep up is dropped by its connection (the HTTP layer bounds what
/// waits for each client), and drops out of the list at the next line.
final class EventFeed: Sendable {
    private let streams = Mutex<[HTTPStream]>([])
    let keepAlive: Duration

    init(keepAlive: Duration = .seconds(15)) {
        self.keepAlive = keepAlive
    }

    /// A new stream that receives every line from now on.
    func subscribe() -> HTTPStream {
        let stream = HTTPStream(keepAlive: keepAlive)
        // Ask the client to wait 2 s before reconnecting, as an SSE client otherwise may at once.
        stream.write(Array("retry: 2000\n\n".utf8))
        // Streams that closed since the last line leave now, not at the next line.
        streams.withLock { $0.removeAll { $0.isClosed } }
        streams.withLock { $0.append(stream) }
        return stream
    }

    var subscribers: Int { streams.withLock { $0.filter { !$0.isClosed }.count } }

    /// Sends one log line (a JSON object, newline-terminated) to every subscriber.
    func publish(_ line: String) {
        let current = streams.withLock { $0 }
        guard !current.isEmpty else { return }
        var trimmed = line
        while trimmed.last == "\n" { trimmed.removeLast() }
        // A log line is one JSON object with its newlines escaped, so it is always encodable.
        guard let event = try? SSEEncoder.encode(SSEEvent(data: trimmed)) else { return }
        var gone = false
        for stream in current where !stream.write(event) { gone = true }
        if gone { streams.withLock { $0.removeAll { $0.isClosed } } }
    }
}
