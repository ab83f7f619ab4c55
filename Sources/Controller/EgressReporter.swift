import Egress
import JSON

/// What the egress proxy reports becomes a log line; a denial also an audit record
/// (`egress_denied`: server, instance, host, port, reason). Counters are the proxy's own
/// (`EgressProxy.stats`), rendered at scrape time by `EgressMetrics`.
struct EgressReporter: Sendable {
    let logger: Logger
    let audit: AuditLog

    func report(_ event: EgressEvent) {
        switch event {
        case .denied(let server, let instance, let host, let port, let reason):
            logger.log(
                .warning, "egress_denied", "egress to \(host):\(port) refused: \(reason)", server: server,
                fields: [("instance", .string(instance)), ("host", .string(host)), ("port", .int(Int(port))), ("reason", .string(reason))])
            audit.record(
                "egress_denied",
                [
                    ("server", .string(server)), ("instance", .string(instance)), ("host", .string(host)), ("port", .int(Int(port))),
                    ("reason", .string(reason)),
                ])
        case .unauthenticated(let user, let reason):
            logger.log(
                .warning, "egress_unauthenticated", "proxy request refused (407): \(reason)", server: user,
                fields: [("reason", .string(reason))])
        case .busy(let server, let host, let port, let limit):
            logger.log(
                .warning, "egress_busy", "\(limit) tunnels open already; \(host):\(port) refused (429)", server: server,
                fields: [("host", .string(host)), ("port", .int(Int(port))), ("limit", .int(limit))])
        case .failed(let server, let host, let port, let reason):
            logger.log(
                .warning, "egress_failed", "egress to \(host):\(port) failed: \(reason)", server: server,
                fields: [("host", .string(host)), ("port", .int(Int(port))), ("reason", .string(reason))])
        case .closed(let server, let host, let port, let sent, let received, let seconds, let reason):
            logger.log(
                .debug, "egress_closed", "\(host):\(port) closed (\(reason))", server: server,
                latency: .milliseconds(Int64((seconds * 1000).rounded())),
                fields: [
                    ("host", .string(host)), ("port", .int(Int(port))), ("bytes_sent", .int(sent)), ("bytes_received", .int(received)),
                    ("reason", .string(reason)),
                ])
        }
    }
}

/// The proxy's Prometheus series, per server (`srv` label).
enum EgressMetrics {
    static func render(_ stats: [String: EgressStats]) -> String {
        var out = ""
        let servers = stats.keys.sorted()
        func family(_ name: String, _ type: String, _ help: String, _ value: (EgressStats) -> Int) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
            for server in servers {
                guard let entry = stats[server] else { continue }
                out += "\(name){srv=\"\(Metrics.escape(server))\"} \(value(entry))\n"
            }
        }
        family("omni_egress_allowed_total", "counter", "Egress connections the proxy allowed and made.") { $0.allowed }
        family("omni_egress_denied_total", "counter", "Egress connections refused by the egress list (403).") { $0.denied }
        family("omni_egress_busy_total", "counter", "Egress connections refused at the per-server tunnel bound (429).") { $0.busy }
        family("omni_egress_failed_total", "counter", "Allowed egress connections that could not be made.") { $0.failed }
        family("omni_egress_sent_bytes_total", "counter", "Bytes from servers to upstreams, counted when a tunnel closes.") {
            $0.bytesSent
        }
        family("omni_egress_received_bytes_total", "counter", "Bytes from upstreams to servers, counted when a tunnel closes.") {
            $0.bytesReceived
        }
        family("omni_egress_tunnels", "gauge", "Egress tunnels and forwarded requests open now.") { $0.active }
        return out
    }
}
