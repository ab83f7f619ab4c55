import Synchronization

/// Turns a child's stderr lines into `stderr` events, rate-limited. Called on the I/O loop.
final class StderrSink: Sendable {
    private let id: InstanceID
    private let clock: any MonotonicClock
    private let limiter: Mutex<LogRateLimiter>
    private let emit: @Sendable (ActualEvent) -> Void

    init(id: InstanceID, clock: any MonotonicClock, limiter: LogRateLimiter, emit: @escaping @Sendable (ActualEvent) -> Void) {
        self.id = id
        self.clock = clock
        self.limiter = Mutex(limiter)
        self.emit = emit
    }

    func receive(_ event: LineEvent) {
        let (admitted, dropped) = limiter.withLock { $0.admit(at: clock.now) }
        guard admitted else { return }
        if dropped > 0 { emit(.stderrSuppressed(id, lines: dropped)) }
        switch event {
        case .line(let bytes):
            var text = String(decoding: bytes, as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            emit(.stderr(id, line: text))
        case .oversized(let count):
            emit(.stderr(id, line: "[a \(count)-byte line, longer than the log-line limit, was dropped]"))
        }
    }
}
