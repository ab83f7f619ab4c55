import Actual
import Desired
import Glibc
import JSON
import Reconciler

/// Turns the executor's events into log lines, audit records and metrics (core modules report;
/// only the controller logs).
struct EventReporter: Sendable {
    let logger: Logger
    let audit: AuditLog
    let metrics: Metrics

    func report(_ event: ReconcileEvent) {
        switch event {
        case .applying(let action):
            let kind = Self.kind(action)
            metrics.action(kind)
            logger.log(.info, "action." + kind, action.description, server: action.server)
            audit.record("action", [("action", .string(kind)), ("server", .string(action.server)), ("reason", .string(action.reason))])
        case .hold(let server, let hold):
            if let hold {
                logger.log(.warning, "hold", hold.description, server: server)
                audit.record("hold", [("server", .string(server)), ("hold", .string(hold.description))])
            } else {
                logger.log(.info, "hold.cleared", "no longer held", server: server)
            }
        case .reconciled(let duration, let actions, let generation):
            metrics.reconciled(duration)
            if actions > 0 {
                logger.log(
                    .debug, "reconciled", "\(actions) action(s) started", latency: duration, fields: [("generation", .int(generation))])
            }
        case .actual(let event):
            report(event)
        }
    }

    private func report(_ event: ActualEvent) {
        switch event {
        case .spawned(let id, let pid):
            logger.log(.info, "spawned", "\(id) started", server: id.name, fields: [("pid", .int(Int(pid)))])
        case .spawnFailed(let id, let error):
            logger.log(.error, "spawn_failed", error.message, server: id.name)
            audit.record("spawn_failed", [("server", .string(id.name)), ("error", .string(error.message))])
        case .ready(let id, let identity, let tools, let latency):
            logger.log(
                .info, "ready", "\(id) ready (\(identity.era.rawValue) \(identity.protocolVersion))", server: id.name, latency: latency,
                fields: [("tools", tools.map { .int($0) } ?? .null), ("server_info", .string(identity.name ?? ""))])
        case .startFailed(let id, let reason):
            logger.log(.error, "start_failed", reason, server: id.name)
        case .probeFailed(let id, let reason, let consecutive):
            logger.log(.warning, "probe_failed", reason, server: id.name, fields: [("consecutive", .int(consecutive))])
        case .unhealthy(let id, let reason):
            logger.log(.error, "unhealthy", reason, server: id.name)
            audit.record("unhealthy", [("server", .string(id.name)), ("instance", .string(id.description)), ("reason", .string(reason))])
        case .recovered(let id):
            logger.log(.info, "recovered", "\(id) healthy again", server: id.name)
        case .draining(let id, let reason):
            logger.log(.info, "draining", "\(id): \(reason)", server: id.name)
        case .exited(let record):
            logger.log(.error, "exited", "\(record.instance) \(record.reason)", server: record.instance.name, latency: record.uptime)
            audit.record(
                "exited",
                [
                    ("server", .string(record.instance.name)), ("instance", .string(record.instance.description)),
                    ("reason", .string(record.reason)),
                ])
        case .stopped(let record, let step):
            logger.log(
                .info, "stopped", "\(record.instance) \(record.reason)", server: record.instance.name,
                fields: [("step", .string(step.rawValue))])
            audit.record(
                "stopped",
                [
                    ("server", .string(record.instance.name)), ("instance", .string(record.instance.description)),
                    ("reason", .string(record.reason)),
                ])
        case .stderr(let id, let line):
            logger.log(.info, "stderr", line, server: id.name)
        case .stderrSuppressed(let id, let lines):
            logger.log(.warning, "stderr_suppressed", "\(lines) stderr line(s) dropped by the rate limit", server: id.name)
        case .session(let id, let event):
            switch event {
            case .invalidMessage(let reason, let excerpt):
                logger.log(.warning, "protocol_error", reason, server: id.name, fields: [("excerpt", .string(excerpt))])
            case .oversizedMessage(let bytes):
                logger.log(.warning, "protocol_error", "a \(bytes)-byte message exceeds the limit and was dropped", server: id.name)
            case .unknownResponse(let rpcID):
                logger.log(.warning, "protocol_error", "a response to no request in flight (id \(rpcID))", server: id.name)
            case .notification(let method, _):
                logger.log(.debug, "notification", method, server: id.name)
            case .serverRequest(let method):
                logger.log(.debug, "server_request", method, server: id.name)
            }
        case .orphanReaped(let pid, let status):
            logger.log(.debug, "orphan_reaped", "pid \(pid) \(status)")
        case .escapeeKilled(let id, let pid, let signal):
            let name = signal == SIGKILL ? "SIGKILL" : signal == SIGTERM ? "SIGTERM" : "signal \(signal)"
            logger.log(
                .warning, "escapee_killed", "pid \(pid) had left the process group of \(id); stopped with \(name)", server: id.name,
                fields: [("pid", .int(Int(pid))), ("signal", .int(Int(signal)))])
            audit.record(
                "escapee_killed",
                [
                    ("server", .string(id.name)), ("instance", .string(id.description)), ("pid", .int(Int(pid))),
                    ("signal", .int(Int(signal))),
                ])
        case .leftoverStopped(let name, let pids):
            logger.log(.warning, "leftover_stopped", "stopped \(pids.count) process(es) a previous run left", server: name)
            audit.record("leftover_stopped", [("server", .string(name)), ("pids", .array(pids.map { .int(Int($0)) }))])
        }
    }

    static func kind(_ action: Action) -> String {
        switch action.kind {
        case .spawn: "spawn"
        case .replace: "replace"
        case .update: "update"
        case .stop: "stop"
        }
    }
}
