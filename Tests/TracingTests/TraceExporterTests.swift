import HTTP
import JSON
import Synchronization
import Testing

@testable import Tracing

/// A collector in memory: answers each export with the next scripted result (then `accepted`).
final class FakeTransport: SpanTransport {
    let state = Mutex<(script: [ExportResult], bodies: [[UInt8]], timeouts: [Duration])>(([], [], []))

    init(_ script: [ExportResult] = []) {
        state.withLock { $0.script = script }
    }

    func send(_ body: [UInt8], timeout: Duration) -> ExportResult {
        state.withLock { state in
            state.bodies.append(body)
            state.timeouts.append(timeout)
            return state.script.isEmpty ? .accepted : state.script.removeFirst()
        }
    }

    /// The span names of each export, in order.
    var batches: [[String]] {
        state.withLock { $0.bodies }.map { body in
            let spans =
                (try? JSONParser.parse(body))?["resourceSpans"]?.arrayValue?.first?["scopeSpans"]?.arrayValue?.first?["spans"]?.arrayValue
                ?? []
            return spans.compactMap { $0["name"]?.stringValue }
        }
    }
}

/// A monotonic clock the test moves.
final class FakeNanos: Sendable {
    let value = Mutex<UInt64>(1_000_000_000)
    func now() -> UInt64 { value.withLock { $0 } }
    func advance(_ duration: Duration) { value.withLock { $0 += duration.nanoseconds } }
}

/// What a callback was given, in order.
final class Recorded<Value: Sendable>: Sendable {
    let values = Mutex<[Value]>([])
    func append(_ value: Value) { values.withLock { $0.append(value) } }
    var all: [Value] { values.withLock { $0 } }
}

@Suite struct TraceExporterTests {
    static func exporter(
        _ transport: FakeTransport, clock: FakeNanos, batch: Int = 3, capacity: Int = 10,
        pauses: Recorded<Duration> = Recorded(), notices: Recorded<ExportNotice> = Recorded()
    ) -> TraceExporter {
        var settings = TraceExporter.Settings()
        settings.batchSize = batch
        settings.queueCapacity = capacity
        settings.interval = .seconds(1)
        return TraceExporter(
            encoder: OTLPJSON(serviceName: "t", serviceVersion: "1"), transport: transport, settings: settings,
            clock: { clock.now() }, pause: { pauses.append($0) }, notify: { notices.append($0) })
    }

    /// A full batch goes at once; a partial one waits for the interval, measured from the last
    /// export.
    @Test func batchesBySizeAndByInterval() {
        let transport = FakeTransport()
        let clock = FakeNanos()
        let exporter = TraceExporterTests.exporter(transport, clock: clock)
        for number in 0..<7 { exporter.record(span(number)) }
        #expect(exporter.step(at: clock.now()) == .zero)
        #expect(exporter.step(at: clock.now()) == .seconds(1))
        #expect(transport.batches == [["s0", "s1", "s2"], ["s3", "s4", "s5"]])
        // One span left: not due until a second after the last export.
        clock.advance(.milliseconds(400))
        #expect(exporter.step(at: clock.now()) == .milliseconds(600))
        #expect(transport.batches.count == 2)
        clock.advance(.milliseconds(600))
        exporter.step(at: clock.now())
        #expect(transport.batches.last == ["s6"])
        // Nothing queued: nothing sent, however long it waits.
        clock.advance(.seconds(5))
        #expect(exporter.step(at: clock.now()) == .seconds(1))
        #expect(transport.batches.count == 3)
        #expect(
            exporter.counters
                == TraceExporter.Counters(exported: 7, droppedQueueFull: 0, droppedExportFailed: 0, exportFailures: 0, queued: 0))
    }

    /// A collector that is down costs each batch, counted, and one warning; the next export that
    /// goes through says so once.
    @Test func failedExportsAreDroppedCountedAndWarnedOnce() {
        let transport = FakeTransport([.failed("cannot connect: refused"), .failed("cannot connect: refused"), .rejected(status: 400)])
        let clock = FakeNanos()
        let notices = Recorded<ExportNotice>()
        let exporter = TraceExporterTests.exporter(transport, clock: clock, notices: notices)
        for number in 0..<12 { exporter.record(span(number)) }
        for _ in 0..<4 { exporter.step(at: clock.now()) }
        let counters = exporter.counters
        #expect(counters.exported == 0)
        #expect(counters.droppedExportFailed == 9)
        #expect(counters.droppedQueueFull == 2)
        #expect(counters.exportFailures == 3)
        #expect(notices.all == [.failing("cannot connect: refused")])
        for number in 0..<3 { exporter.record(span(number)) }
        exporter.step(at: clock.now())
        #expect(exporter.counters.exported == 3)
        #expect(notices.all.last == .recovered(failedBatches: 3, droppedSpans: 9))
    }

    /// 429 and 5xx-try-later are sent once more after the backoff; anything else is not.
    @Test func retriesOnceWhenTheCollectorSaysLater() {
        let transport = FakeTransport([
            .rejected(status: 503), .accepted, .rejected(status: 429), .rejected(status: 429), .rejected(status: 500),
        ])
        let clock = FakeNanos()
        let pauses = Recorded<Duration>()
        let exporter = TraceExporterTests.exporter(transport, clock: clock, pauses: pauses)
        for round in 0..<3 {
            for number in 0..<3 { exporter.record(span(3 * round + number)) }
            exporter.step(at: clock.now())
        }
        #expect(transport.batches.count == 5)
        #expect(pauses.all == [.milliseconds(500), .milliseconds(500)])
        #expect(exporter.counters.exported == 3)
        #expect(exporter.counters.droppedExportFailed == 6)
        #expect(exporter.counters.exportFailures == 2)
    }

    /// At shutdown the queue is sent in batches until it is empty or the deadline passes, each
    /// request's timeout cut to what is left.
    @Test func drainIsBoundedByItsDeadline() async {
        let transport = FakeTransport()
        let clock = FakeNanos()
        let exporter = TraceExporterTests.exporter(transport, clock: clock)
        for number in 0..<7 { exporter.record(span(number)) }
        exporter.drain(until: clock.now() + 2_000_000_000)
        #expect(transport.batches == [["s0", "s1", "s2"], ["s3", "s4", "s5"], ["s6"]])
        #expect(transport.state.withLock { $0.timeouts }.allSatisfy { $0 == .seconds(2) })
        exporter.record(span(7))
        exporter.drain(until: clock.now())
        #expect(transport.batches.count == 3)
        // Never started: shutdown returns at once with what is left.
        let left = await exporter.shutdown(within: .seconds(1))
        #expect(left == 1)
    }

    /// The real thread: a batch's worth wakes it before the interval (which is long here).
    @Test func theThreadExportsAFullBatchAndFlushesAtShutdown() async {
        let transport = FakeTransport()
        var settings = TraceExporter.Settings()
        settings.batchSize = 2
        settings.interval = .seconds(3600)
        let exporter = TraceExporter(encoder: OTLPJSON(serviceName: "t", serviceVersion: "1"), transport: transport, settings: settings)
        exporter.start()
        for number in 0..<3 { exporter.record(span(number)) }
        let left = await exporter.shutdown(within: .seconds(5))
        #expect(left == 0)
        #expect(transport.batches.flatMap { $0 } == ["s0", "s1", "s2"])
        #expect(exporter.counters.exported == 3)
    }
}

@Suite struct ExportHealthTests {
    /// A flapping collector is warned about at most once a minute.
    @Test func warningsAreRateLimited() {
        var health = ExportHealth(quiet: 60)
        #expect(health.record(.failed("down"), spans: 1, at: 0) == .failing("down"))
        #expect(health.record(.failed("down"), spans: 1, at: 1) == nil)
        #expect(health.record(.accepted, spans: 1, at: 2) == .recovered(failedBatches: 2, droppedSpans: 2))
        #expect(health.record(.rejected(status: 500), spans: 4, at: 10) == nil)
        // Not warned, so no recovery line either.
        #expect(health.record(.accepted, spans: 1, at: 11) == nil)
        #expect(health.record(.rejected(status: 500), spans: 4, at: 61) == .failing("the collector answered 500"))
    }
}

@Suite struct OTLPEndpointTests {
    @Test func appendsTheTracesPath() throws {
        let plain = try OTLPEndpoint("http://127.0.0.1:4318")
        #expect(plain.origin == .init(host: "127.0.0.1", port: 4318))
        #expect(plain.target == "/v1/traces")
        #expect(try OTLPEndpoint("http://collector/otlp/").description == "http://collector:80/otlp/v1/traces")
        #expect(try OTLPEndpoint("http://[::1]:4318/v1/traces").target == "/v1/traces")
        #expect(try OTLPEndpoint("http://[::1]:4318").origin.host == "::1")
    }

    @Test func refusesWhatItCannotSendTo() {
        for bad in [
            "https://c:4318", "ftp://c", "http://", "http://c:0", "http://c:99999", "http://u:p@c:1", "http://c:1/?q", "http://[::1",
        ] {
            #expect(throws: OTLPEndpoint.Invalid.self, "\(bad)") { try OTLPEndpoint(bad) }
        }
    }
}
