import Metering

extension Gateway {
    /// The gateway's series in Prometheus text format (families with HELP and TYPE).
    public func metricsText() -> String {
        let counters = metrics.snapshot()
        let gauges = state.withLock { state in
            // One pass over the sessions and one over the listeners, not one per server.
            var sessions: [String: Int] = [:]
            for session in state.sessions.sessions.values { sessions[session.server, default: 0] += 1 }
            var listeners: [String: Int] = [:]
            for listener in state.listeners.values { listeners[listener.server, default: 0] += 1 }
            return state.entries.map { name, entry in
                (
                    name, entry.guards.inFlight, entry.guards.queued, entry.guards.breaker.gauge, sessions[name] ?? 0,
                    listeners[name] ?? 0
                )
            }.sorted { $0.0 < $1.0 }
        }
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        func sample(_ name: String, _ labels: [(String, String)], _ value: Double) {
            let text = labels.map { "\($0.0)=\"\(Gateway.escape($0.1))\"" }.joined(separator: ",")
            let number = value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
            out += "\(name){\(text)} \(number)\n"
        }
        family("omni_gateway_requests_total", "counter", "Requests to /mcp/<name> by server, method and outcome.")
        for (key, count) in counters.requests.sorted(by: {
            ($0.key.server, $0.key.method, $0.key.outcome) < ($1.key.server, $1.key.method, $1.key.outcome)
        }) {
            sample(
                "omni_gateway_requests_total", [("server", key.server), ("method", key.method), ("outcome", key.outcome)], Double(count))
        }
        family("omni_gateway_request_duration_seconds", "histogram", "Time from a request's arrival to its answer.")
        for (key, histogram) in counters.latency.sorted(by: { ($0.key.server, $0.key.method) < ($1.key.server, $1.key.method) }) {
            let labels = [("server", key.server), ("method", key.method)]
            for (index, bound) in LatencyHistogram.buckets.enumerated() {
                sample("omni_gateway_request_duration_seconds_bucket", labels + [("le", String(bound))], Double(histogram.counts[index]))
            }
            sample("omni_gateway_request_duration_seconds_bucket", labels + [("le", "+Inf")], Double(histogram.count))
            sample("omni_gateway_request_duration_seconds_sum", labels, histogram.sum)
            sample("omni_gateway_request_duration_seconds_count", labels, Double(histogram.count))
        }
        family(
            "omni_gateway_server_requests_total", "counter", "Requests from servers to clients (sampling, elicitation, roots) by outcome.")
        for (key, count) in counters.serverRequests.sorted(by: {
            ($0.key.server, $0.key.method, $0.key.outcome) < ($1.key.server, $1.key.method, $1.key.outcome)
        }) {
            sample(
                "omni_gateway_server_requests_total", [("server", key.server), ("method", key.method), ("outcome", key.outcome)],
                Double(count))
        }
        family("omni_gateway_in_flight", "gauge", "Requests sent to the server and not answered yet.")
        for gauge in gauges { sample("omni_gateway_in_flight", [("server", gauge.0)], Double(gauge.1)) }
        family("omni_gateway_queued", "gauge", "Requests waiting for a concurrency slot.")
        for gauge in gauges { sample("omni_gateway_queued", [("server", gauge.0)], Double(gauge.2)) }
        family("omni_gateway_breaker_state", "gauge", "Circuit breaker: 0 closed, 1 half-open, 2 open.")
        for gauge in gauges { sample("omni_gateway_breaker_state", [("server", gauge.0)], Double(gauge.3)) }
        family("omni_gateway_sessions", "gauge", "Legacy client sessions open.")
        for gauge in gauges { sample("omni_gateway_sessions", [("server", gauge.0)], Double(gauge.4)) }
        family("omni_gateway_listen_streams", "gauge", "Modern subscriptions/listen streams open.")
        for gauge in gauges { sample("omni_gateway_listen_streams", [("server", gauge.0)], Double(gauge.5)) }
        return out
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
