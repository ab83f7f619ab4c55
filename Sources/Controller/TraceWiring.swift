import Actual
import Desired
import Gateway
import Reconciler
import Synchronization
import Tracing

/// `otel.enabled`: the exporter and what feeds it (the gateway's records, the executor's
/// events). Built only when tracing is on; everything here is cheap and never blocks (a span is
/// built and queued; the exporter's thread does the rest).
final class TraceWiring: Sendable {
    let exporter: TraceExporter
    let endpoint: OTLPEndpoint
    private let reconcile = Mutex(ReconcileSpans())

    /// The wiring for `config`, or why it cannot be built (an endpoint the schema let through
    /// but the exporter cannot use).
    static func make(_ config: ControllerConfig, logger: Logger) -> Result<TraceWiring, OTLPEndpoint.Invalid> {
        let endpoint: OTLPEndpoint
        do {
            endpoint = try OTLPEndpoint(config.otelEndpoint)
        } catch {
            return .failure(error)
        }
        let encoder = OTLPJSON(serviceName: config.otelServiceName, serviceVersion: MCPVersion.clientVersion)
        let exporter = TraceExporter(
            encoder: encoder, transport: OTLPHTTPTransport(endpoint: endpoint),
            notify: { notice in
                switch notice {
                case .failing(let why):
                    logger.log(
                        .warning, "otel.export_failed",
                        "cannot export spans to \(endpoint): \(why); spans are dropped (counted in omni_otel_spans_dropped_total) until it answers"
                    )
                case .recovered(let batches, let spans):
                    logger.log(
                        .info, "otel.export_recovered",
                        "spans reach \(endpoint) again after \(batches) failed export(s), \(spans) span(s) dropped")
                }
            },
            // Spans leave the process: the same redactor as the log lines (secret values,
            // token shapes), applied on the exporter's thread, then the final length.
            redact: { GatewaySpan.clip(logger.redact($0)) })
        return .success(TraceWiring(exporter: exporter, endpoint: endpoint))
    }

    private init(exporter: TraceExporter, endpoint: OTLPEndpoint) {
        self.exporter = exporter
        self.endpoint = endpoint
    }

    func start() { exporter.start() }

    /// One gateway request's span (on the HTTP loop thread: a few strings and a queue append).
    func record(_ record: GatewayRecord) {
        if let span = GatewaySpan.make(record, end: TraceIDs.unixNanos()) { exporter.record(span) }
    }

    /// The reconcile spans an executor event ends.
    func observe(_ event: ReconcileEvent) {
        switch event {
        case .applying, .hold, .reconciled, .actual(.spawned), .actual(.ready), .actual(.spawnFailed), .actual(.startFailed),
            .actual(.draining), .actual(.exited), .actual(.stopped):
            let now = TraceIDs.unixNanos()
            for span in reconcile.withLock({ $0.observe(event, at: now) }) { exporter.record(span) }
        default:
            // Probes, stderr lines and session notices end no span: most of the traffic.
            break
        }
    }

    /// Ends the actions still waiting, sends what is queued within `within`, and stops the
    /// exporter; returns the spans left unsent.
    func shutdown(within: Duration) async -> Int {
        let now = TraceIDs.unixNanos()
        for span in reconcile.withLock({ $0.finishAll(at: now, outcome: "shutdown") }) { exporter.record(span) }
        return await exporter.shutdown(within: within)
    }

    /// The exporter's series for `/metrics`.
    func metricsText() -> String {
        let counters = exporter.counters
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        family("omni_otel_spans_exported_total", "counter", "Spans the OTLP collector accepted.")
        out += "omni_otel_spans_exported_total \(counters.exported)\n"
        family("omni_otel_spans_dropped_total", "counter", "Spans never exported: the queue was full, or their batch failed.")
        out += "omni_otel_spans_dropped_total{reason=\"queue_full\"} \(counters.droppedQueueFull)\n"
        out += "omni_otel_spans_dropped_total{reason=\"export_failed\"} \(counters.droppedExportFailed)\n"
        family("omni_otel_export_failures_total", "counter", "Export requests (batches) that failed.")
        out += "omni_otel_export_failures_total \(counters.exportFailures)\n"
        family("omni_otel_queue_spans", "gauge", "Spans waiting for export.")
        out += "omni_otel_queue_spans \(counters.queued)\n"
        return out
    }
}
