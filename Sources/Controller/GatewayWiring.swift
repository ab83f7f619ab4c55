import Actual
import Desired
import Gateway
import JSON
import Reconciler

/// The executor drives the gateway's routing; neither module knows the other.
extension Gateway: TrafficRouter {}

extension Gateway {
    /// Brings the gateway in step with a newly loaded desired state.
    func configure(from state: DesiredState) {
        var servers: [String: ServerSettings] = [:]
        for (name, spec) in state.servers {
            servers[name] = ServerSettings(limits: spec.policies.limits, backoff: spec.policies.restart.backoff)
        }
        var notRunnable: [String: String] = [:]
        for (name, reason) in state.skipped { notRunnable[name] = "not running: \(reason)" }
        configure(servers: servers, notRunnable: notRunnable)
    }
}

/// What the gateway reports becomes a log line per request and an audit record per
/// `tools/call` (never its arguments).
struct GatewayReporter: Sendable {
    let logger: Logger
    let audit: AuditLog
    /// The request's span too, when tracing is on.
    var traces: TraceWiring?

    func report(_ record: GatewayRecord) {
        traces?.record(record)
        var fields: [(String, JSONValue)] = [
            ("method", .string(record.method)), ("outcome", .string(record.outcome)), ("status", .int(record.status)),
            ("era", .string(record.era.rawValue)), ("trace_id", .string(record.traceID)),
        ]
        if let tool = record.tool { fields.append(("tool", .string(tool))) }
        if let session = record.session { fields.append(("session", .string(session))) }
        if let instance = record.instance { fields.append(("instance", .string(instance.description))) }
        if let error = record.error { fields.append(("error", .string(error))) }
        let level: Logger.Level = record.outcome == "ok" || record.outcome == "error" ? .info : .warning
        logger.log(
            level, "mcp.request", "\(record.method) \(record.outcome)", server: record.server, latency: record.latency, fields: fields)
        guard record.method == "tools/call" else { return }
        var audited: [(String, JSONValue)] = [
            ("server", .string(record.server)), ("tool", record.tool.map { .string($0) } ?? .null),
            ("session", record.session.map { .string($0) } ?? .null), ("era", .string(record.era.rawValue)),
            ("outcome", .string(record.outcome)), ("latency_ms", .double((record.latency.milliseconds * 10).rounded() / 10)),
            ("trace_id", .string(record.traceID)),
        ]
        if let error = record.error { audited.append(("error", .string(error))) }
        audit.record("tools_call", audited)
    }
}
