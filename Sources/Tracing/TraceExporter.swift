import CSystem
import Foundation
import HTTP
import Synchronization

/// Sends queued spans to the collector from a thread of its own, in batches: a batch goes when
/// `batchSize` spans wait or `interval` has passed since the last one, whichever comes first. A
/// batch that cannot be delivered (collector down, non-2xx, timeout; 429/502/503/504 are tried
/// once more after `retryBackoff`) is dropped and counted; nothing waits for the collector but
/// this thread. `shutdown(within:)` sends what is queued, bounded by its deadline.
///
/// The schedule is `step(at:)`, a pure function of the queue and the time it is given, so tests
/// drive it with a fake clock; the thread only calls it and sleeps for what it returns (or
/// until the queue fills a batch).
public final class TraceExporter: Sendable {
    public struct Settings: Sendable, Hashable {
        public var queueCapacity = 2048
        public var batchSize = 512
        public var interval = Duration.seconds(1)
        /// Per export request (connecting included).
        public var timeout = Duration.seconds(5)
        public var retryBackoff = Duration.milliseconds(500)

        public init() {}
    }

    /// What `/metrics` shows.
    public struct Counters: Sendable, Hashable {
        public var exported = 0
        public var droppedQueueFull = 0
        public var droppedExportFailed = 0
        public var exportFailures = 0
        public var queued = 0
    }

    private struct State {
        var lastFlush: UInt64
        var exported = 0
        var droppedExportFailed = 0
        var exportFailures = 0
        var health = ExportHealth()
        /// Set by `shutdown`: drain until then (monotonic nanoseconds), then end.
        var drainUntil: UInt64?
        var started = false
        var finished = false
        var onFinished: [@Sendable () -> Void] = []
    }

    public let queue: SpanQueue
    public let settings: Settings
    private let encoder: OTLPJSON
    private let transport: any SpanTransport
    private let clock: @Sendable () -> UInt64
    private let pause: @Sendable (Duration) -> Void
    private let notify: @Sendable (ExportNotice) -> Void
    private let redact: (@Sendable (String) -> String)?
    private let wake: DispatchSemaphore
    private let state: Mutex<State>

    /// - Parameters:
    ///   - clock: monotonic nanoseconds (the schedule's time).
    ///   - pause: waits out the retry backoff (on the exporter's thread).
    ///   - notify: told when exports start failing and when they work again (one line each).
    ///   - redact: applied to every span's strings before it leaves (on the exporter's thread,
    ///     not the request's).
    public init(
        encoder: OTLPJSON, transport: any SpanTransport, settings: Settings = Settings(),
        clock: @escaping @Sendable () -> UInt64 = TraceIDs.monotonicNanos,
        pause: @escaping @Sendable (Duration) -> Void = { Thread.sleep(forTimeInterval: Double($0.nanoseconds) / 1e9) },
        notify: @escaping @Sendable (ExportNotice) -> Void = { _ in }, redact: (@Sendable (String) -> String)? = nil
    ) {
        let wake = DispatchSemaphore(value: 0)
        self.wake = wake
        queue = SpanQueue(capacity: settings.queueCapacity, batchSize: settings.batchSize) { wake.signal() }
        self.settings = settings
        self.encoder = encoder
        self.transport = transport
        self.clock = clock
        self.pause = pause
        self.notify = notify
        self.redact = redact
        state = Mutex(State(lastFlush: clock()))
    }

    /// Queues a finished span; never blocks (a full queue drops it and counts the drop).
    public func record(_ span: Span) {
        queue.enqueue(span)
    }

    public var counters: Counters {
        let (exported, failed, failures) = state.withLock { ($0.exported, $0.droppedExportFailed, $0.exportFailures) }
        return Counters(
            exported: exported, droppedQueueFull: queue.droppedQueueFull, droppedExportFailed: failed, exportFailures: failures,
            queued: queue.count)
    }

    /// One turn of the schedule at `now`: exports one batch when it is due, and returns how long
    /// until the next one may be due (zero: at once, a full batch is waiting).
    @discardableResult
    public func step(at now: UInt64) -> Duration {
        let interval = settings.interval.nanoseconds
        let last = state.withLock { $0.lastFlush }
        let queued = queue.count
        let due = queued >= settings.batchSize || (queued > 0 && now &- last >= interval)
        guard due else {
            // Nothing due: the next interval boundary, or a whole interval from now when the
            // boundary passed with the queue empty (the queue's batch signal wakes us earlier).
            return .nanoseconds(Int64(clamping: last &+ interval > now ? last &+ interval &- now : interval))
        }
        exportBatch(at: now, timeout: settings.timeout)
        return queue.count >= settings.batchSize ? .zero : settings.interval
    }

    /// Takes one batch off the queue and sends it (once more after the backoff when the
    /// collector says to try later).
    private func exportBatch(at now: UInt64, timeout: Duration) {
        let batch = queue.take(settings.batchSize)
        state.withLock { $0.lastFlush = now }
        guard !batch.isEmpty else { return }
        let body = encoder.encode(redact.map { redact in batch.map { $0.redacted(redact) } } ?? batch)
        var result = transport.send(body, timeout: timeout)
        if result.isRetryable {
            pause(settings.retryBackoff)
            result = transport.send(body, timeout: timeout)
        }
        let notice = state.withLock { state -> ExportNotice? in
            if result == .accepted {
                state.exported += batch.count
            } else {
                state.droppedExportFailed += batch.count
                state.exportFailures += 1
            }
            return state.health.record(result, spans: batch.count, at: now)
        }
        if let notice { notify(notice) }
    }

    /// Starts the exporter's thread (`omni-otel`). Call once.
    public func start() {
        let first = state.withLock { state -> Bool in
            defer { state.started = true }
            return !state.started && !state.finished
        }
        guard first else { return }
        let thread = Thread { [self] in
            omni_name_thread("omni-otel")
            run()
        }
        thread.start()
    }

    private func run() {
        while true {
            if let until = state.withLock({ $0.drainUntil }) {
                drain(until: until)
                break
            }
            let wait = step(at: clock())
            if wait > .zero { _ = wake.wait(timeout: .now() + .nanoseconds(Int(clamping: wait.nanoseconds))) }
        }
        let waiting = state.withLock { state -> [@Sendable () -> Void] in
            state.finished = true
            defer { state.onFinished = [] }
            return state.onFinished
        }
        for resume in waiting { resume() }
    }

    /// Sends what is queued until the queue is empty or `until` passes; what is left is dropped.
    func drain(until: UInt64) {
        while queue.count > 0 {
            let now = clock()
            guard now < until else { break }
            exportBatch(at: now, timeout: min(settings.timeout, .nanoseconds(Int64(clamping: until - now))))
        }
    }

    /// Sends what is queued (bounded by `within`) and stops the thread; returns the spans left
    /// unsent. A span recorded after this is queued but never sent. Without `start()` nothing
    /// is sent.
    public func shutdown(within: Duration) async -> Int {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let finished = state.withLock { state -> Bool in
                if !state.started { state.finished = true }
                if state.finished { return true }
                if state.drainUntil == nil { state.drainUntil = clock() &+ within.nanoseconds }
                state.onFinished.append { continuation.resume() }
                return false
            }
            if finished { continuation.resume() } else { wake.signal() }
        }
        return queue.count
    }
}
